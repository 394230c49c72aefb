"""Image outputs: one PNG per sample (with provenance chunks) and a grid."""
from __future__ import annotations

from pathlib import Path

import torch

from .. import viz


def write(x: torch.Tensor, out: Path, model, provenance: dict) -> dict[str, Path]:
    imgs = viz.to_uint8_images(x)
    for i, im in enumerate(imgs):
        viz.save_image(im, out / f"{i:06d}.png", pnginfo={**provenance, "gankit:index": i})
    viz.save_grid(x[:256], out / "grid.png", pnginfo=provenance)
    return {"images": out, "grid": out / "grid.png"}


def preview(x, path, meta, real=None, title=""):
    viz.save_grid(x, path)
