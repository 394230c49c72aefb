"""Tabular outputs: ``samples.csv`` (decoded rows) and per-column histograms."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import torch

from .. import viz
from ..data.tabular import decode


def raw_to_strings(raw: np.ndarray, spec: list[dict]) -> list[list[str]]:
    """Decoded rows -> CSV cells: category names, integers, floats to 6 significant digits."""
    out = []
    for row in raw:
        cells = []
        for v, s in zip(row, spec):
            if s["type"] == "discrete":
                cells.append(str(s["categories"][int(v)]))
            elif s.get("integer"):
                cells.append(str(int(v)))
            else:
                cells.append(f"{v:.6g}")
        out.append(cells)
    return out


def write(x: torch.Tensor, out: Path, model, provenance: dict) -> dict[str, Path]:
    """``gankit sample`` for tables: ``samples.csv`` (a header, one generated row per line)."""
    spec = model.meta["info"]["transform"]
    f = out / "samples.csv"
    with open(f, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([s["name"] for s in spec])
        w.writerows(raw_to_strings(decode(x, spec), spec))
    preview(x, out / "histograms.png", model.meta, title=f"{len(x)} rows, {model.config.recipe} "
                                                                   f"step {model.step}")
    return {"samples": f, "plot": out / "histograms.png"}


def preview(x: torch.Tensor, path, meta: dict, real=None, title: str = "") -> None:
    """A histogram per column (up to 16): generated (blue) over the training data (grey)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = meta["info"]["transform"][:16]
    raw = decode(torch.as_tensor(x), meta["info"]["transform"])
    cols = min(4, len(spec))
    rows = math.ceil(len(spec) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.2 * rows), dpi=80, squeeze=False)
    for ax, (c, s) in zip(axes.flat, enumerate(spec)):
        if s["type"] == "discrete":
            k = len(s["categories"])
            gen = np.bincount(raw[:, c].astype(np.int64), minlength=k) / max(1, len(raw))
            ax.bar(np.arange(k) - 0.2, s["freq"], 0.4, color="0.6", label="real")
            ax.bar(np.arange(k) + 0.2, gen, 0.4, color="tab:blue", label="generated")
            ax.set_xticks(range(k), [str(t)[:8] for t in s["categories"]], fontsize=6)
        else:
            edges, dens = np.asarray(s["hist"]["edges"]), np.asarray(s["hist"]["density"])
            ax.stairs(dens, edges, fill=True, color="0.75", label="real")
            ax.hist(raw[:, c], bins=edges, density=True, histtype="step", color="tab:blue", lw=1.5,
                    label="generated")
        ax.set_title(s["name"][:28], fontsize=8)
        ax.tick_params(labelsize=6)
    viz.finish_figure(fig, axes, len(spec), path, title)
