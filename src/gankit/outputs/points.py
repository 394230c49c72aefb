"""2D point outputs: ``samples.npy`` [N, 2] and a scatter plot over the true mode centres."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .. import viz


def write(x: torch.Tensor, out: Path, model, provenance: dict) -> dict[str, Path]:
    arr = x.numpy().reshape(len(x), -1)
    np.save(out / "samples.npy", arr)
    means = model.meta.get("info", {}).get("means")
    viz.save_scatter(arr, out / "scatter.png", title=f"{len(x)} samples, {model.config.recipe} step {model.step}",
                     means=None if means is None else np.asarray(means))
    return {"samples": out / "samples.npy", "plot": out / "scatter.png"}


def preview(x, path, meta, real=None, title=""):
    means = meta.get("info", {}).get("means")
    viz.save_scatter(x.float().cpu().numpy(), path, None if real is None else real.float().cpu().numpy(),
                     title=title, means=None if means is None else np.asarray(means))
