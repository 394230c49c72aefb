"""``gankit eval --report DIR``: an HTML page with the sample grid, each sample's closest real
training images (a memorisation check), the metric table, and loss/metric curves from the
run's ``metrics.jsonl``. Pictures are PNGs beside ``index.html``; no external assets.
"""
from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import torch

from .. import viz
from ..modality import modality
from .prdc import nearest_neighbours
from .reference import FeatureSet, reference_features


def closest_real_images(fake_x: torch.Tensor, fake_f, real_x: torch.Tensor, real_f, path: str | Path,
                        k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Write a PNG whose row i is generated image i followed by its ``k`` nearest real images
    in feature space; returns (indices [Q, k], distances [Q, k]). Near-zero distances, or
    neighbours that look identical to the samples, mean the generator memorised its data.

    ``fake_x`` [Q, C, H, W] in [-1, 1]; ``real_x`` uint8 or [-1, 1] [N, C, H, W]; features
    [Q, F] and [N, F] from the same extractor.
    """
    idx, dist = nearest_neighbours(fake_f, real_f, k)
    real = real_x.float() / 127.5 - 1.0 if real_x.dtype == torch.uint8 else real_x.float()
    rows = [torch.cat([fake_x[i:i + 1].float(), real[torch.from_numpy(idx[i])]]) for i in range(len(fake_x))]
    viz.save_grid(torch.cat(rows), path, nrow=idx.shape[1] + 1)
    return idx, dist


def run_dir_of(checkpoint: Path) -> Path | None:
    """The run directory of ``RUN/checkpoints/step_X`` (None for a lone checkpoint)."""
    checkpoint = Path(checkpoint)
    return checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else None


def plot_curves(rows: list[dict], prefix: str, path: Path, title: str) -> bool:
    """One subplot per key starting with ``prefix`` (value vs step); False if there is none."""
    keys = sorted({k for r in rows for k in r if k.startswith(prefix)})
    if not keys:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(keys))
    nrows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4 * cols, 2.8 * nrows), dpi=90, squeeze=False)
    for ax, key in zip(axes.flat, keys):
        pts = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float))]
        if pts:
            ax.plot(*zip(*pts), marker="." if len(pts) < 30 else None)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def write_report(out: str | Path, model, results: dict, ext, fake: FeatureSet, kept: torch.Tensor | None,
                 seed: int = 0) -> Path:
    """Write ``out/index.html`` (+ PNGs) for an evaluated model; returns the HTML path."""
    from ..data import load_data
    from ..train.log import read_metrics

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures: list[tuple[str, str]] = []
    train = load_data(model.config.data, split="train")  # what the model was trained on
    if modality(model.meta).points:
        viz.save_scatter(fake.features[:2500], out / "samples.png", train.x[:2500].numpy(),
                         title=f"{min(len(fake), 2500)} samples (blue) over training data (grey)")
        figures.append(("samples.png", "Samples"))
    elif kept is not None and len(kept):
        viz.save_grid(kept, out / "samples.png")
        figures.append(("samples.png", f"{len(kept)} samples (seed {seed})"))
        q = min(16, len(kept))
        train_f = reference_features(train, ext, "train")
        _, dist = closest_real_images(kept[:q], fake.features[:q], train.x, train_f.features,
                                      out / "closest_real.png")
        caption = (f"Memorisation check: each row is a sample, then its 5 closest training images in "
                   f"{ext.name} feature space (distances to the closest: "
                   f"median {np.median(dist[:, 0]):.3g}, min {dist[:, 0].min():.3g})")
        figures.append(("closest_real.png", caption))
    run = run_dir_of(model.path)
    rows = read_metrics(run) if run else []
    if plot_curves(rows, "loss/", out / "losses.png", "losses"):
        figures.append(("losses.png", "Loss curves (metrics.jsonl)"))
    if plot_curves(rows, "metrics/", out / "metric_curves.png", "in-training metrics"):
        figures.append(("metric_curves.png", "Metrics during training (loop.eval_every)"))
    table = "\n".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_fmt(v))}</td></tr>"
                      for k, v in results.items())
    imgs = "\n".join(f'<figure><img src="{f}" alt="{html.escape(c)}"><figcaption>{html.escape(c)}'
                     f"</figcaption></figure>" for f, c in figures)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>gankit eval: {html.escape(str(model.path))}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}td{{padding:2px 12px}}
tr:nth-child(odd){{background:#f3f3f3}}img{{max-width:100%;image-rendering:pixelated}}figure{{margin:1.5em 0}}</style>
</head><body>
<h1>gankit eval</h1>
<p>Checkpoint <code>{html.escape(str(model.path))}</code>, recipe <b>{html.escape(model.config.recipe)}</b>,
step {model.step}. Metrics use the <b>{html.escape(ext.name)}</b> feature extractor against the
<b>{html.escape(str(results.get("split")))}</b> split of <b>{html.escape(str(results.get("dataset")))}</b>.</p>
<table>{table}</table>
{imgs}
</body></html>
"""
    (out / "index.html").write_text(page)
    return out / "index.html"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else "n/a"
    return str(v)
