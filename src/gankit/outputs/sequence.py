"""Time-series outputs: ``samples.csv`` in long form (data units) and line-plot previews."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import torch

from .. import viz


def to_units(x: torch.Tensor, info: dict) -> np.ndarray:
    """Standardised windows [N, T, F] -> the data's units."""
    x = torch.as_tensor(x).float().cpu().numpy()
    return x * np.asarray(info["std"]) + np.asarray(info["mean"])


def write(x: torch.Tensor, out: Path, model, provenance: dict) -> dict[str, Path]:
    """``gankit sample`` for sequences: ``samples.csv`` in long form (``sample, t, <features>``,
    in the data's units) and ``plot.png`` (the first samples as line plots)."""
    info = model.meta["info"]
    arr = to_units(x, info)
    f = out / "samples.csv"
    with open(f, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["sample", "t", *info["features"]])
        for i, seq in enumerate(arr):
            for t, row in enumerate(seq):
                w.writerow([i, t, *(f"{v:.6g}" for v in row)])
    preview(x, out / "plot.png", model.meta, title=f"{model.config.recipe} step {model.step}")
    return {"samples": f, "plot": out / "plot.png"}


def preview(x: torch.Tensor, path, meta: dict, real=None, title: str = "") -> None:
    """Line plots of up to 12 sequences (one panel each, one line per feature, data units)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    info = meta["info"]
    arr = to_units(x[:12], info)
    cols = min(4, len(arr))
    rows = math.ceil(len(arr) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2 * rows), dpi=80, squeeze=False, sharex=True)
    for ax, seq in zip(axes.flat, arr):
        for j, name in enumerate(info["features"][:6]):
            ax.plot(seq[:, j], lw=1, label=name)
        ax.tick_params(labelsize=6)
    viz.finish_figure(fig, axes, len(arr), path, title)
