"""Sampling from a trained model into files: PNGs + grid for images, .npy + scatter for 2D.

Each data kind has a writer in ``WRITERS`` (``writer(x, out_dir, model, provenance) -> {name:
path}``); a new modality registers its own (text file, CSV, GIF, ...).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import viz
from .checkpoint import Model
from .errors import UserError
from .registry import Registry

CHUNK = 500
WRITERS = Registry("sample writer")


@torch.no_grad()
def sample(model: Model, n: int, seed: int = 0, class_: int | None = None,
           truncation: float | None = None) -> torch.Tensor:
    """``n`` outputs of the model's generator (G_ema when present), in chunks, seeded."""
    if n < 1:
        raise UserError(f"--n must be >= 1, got {n}")
    ncls = int(model.meta.get("num_classes", 0)) if getattr(model.generator, "num_classes", 0) else 0
    if class_ is not None:
        if not ncls:
            raise UserError("--class: this model is not class-conditional")
        if not 0 <= class_ < ncls:
            raise UserError(f"--class must be in 0..{ncls - 1}, got {class_}")
    if truncation is not None and not 0 < truncation <= 10:
        raise UserError(f"--truncation must be in (0, 10], got {truncation}")
    outs = []
    for i, start in enumerate(range(0, n, CHUNK)):
        m = min(CHUNK, n - start)
        y = None
        if ncls:
            y = torch.full((m,), class_) if class_ is not None else (torch.arange(start, start + m) % ncls)
        outs.append(model.sample(m, seed=seed * 100_003 + i, y=y, truncation=truncation).float().cpu())
    return torch.cat(outs)


def write_samples(model: Model, n: int, out: str | Path, seed: int = 0, class_: int | None = None,
                  truncation: float | None = None) -> dict[str, Path]:
    """Write ``n`` samples to ``out``; returns the main files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    x = sample(model, n, seed, class_, truncation)
    provenance = {"gankit:checkpoint": str(model.path), "gankit:step": model.step, "gankit:seed": seed,
                  "gankit:recipe": model.config.recipe, "Software": "gankit (generated image)"}
    kind = model.meta["kind"]
    writer = WRITERS.get(kind) if kind in WRITERS else WRITERS.get("images")
    return writer(x, out, model, provenance)


def _write_points(x: torch.Tensor, out: Path, model: Model, provenance: dict) -> dict[str, Path]:
    arr = x.numpy().reshape(len(x), -1)
    np.save(out / "samples.npy", arr)
    means = model.meta.get("info", {}).get("means")
    viz.save_scatter(arr, out / "scatter.png", title=f"{len(x)} samples, {model.config.recipe} step {model.step}",
                     means=None if means is None else np.asarray(means))
    return {"samples": out / "samples.npy", "plot": out / "scatter.png"}


def _write_images(x: torch.Tensor, out: Path, model: Model, provenance: dict) -> dict[str, Path]:
    imgs = viz.to_uint8_images(x)
    for i, im in enumerate(imgs):
        viz.save_image(im, out / f"{i:06d}.png", pnginfo={**provenance, "gankit:index": i})
    viz.save_grid(x[:256], out / "grid.png", pnginfo=provenance)
    return {"images": out, "grid": out / "grid.png"}


WRITERS.register("points", _write_points)
WRITERS.register("images", _write_images)
