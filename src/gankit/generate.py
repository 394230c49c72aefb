"""Sampling from a trained model into files: PNGs + grid for images, .npy + scatter for 2D.

Each data kind has a writer in ``WRITERS`` (``writer(x, out_dir, model, provenance) -> {name:
path}``); a new modality registers its own (text file, CSV, GIF, ...).
"""
from __future__ import annotations

import functools
import hashlib
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


@functools.lru_cache(maxsize=16)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def checkpoint_hash(model: Model) -> str:
    """sha256 of the sampling network's weights file (``G_ema`` when present, else G), hashed
    once per file version: which exact generator made an image."""
    name = "G_ema" if "G_ema" in model.nets else model.recipe.sample_net
    f = Path(model.path) / name / "model.safetensors"
    if not f.is_file():
        return "unknown"
    st = f.stat()
    return _file_sha256(str(f), st.st_mtime_ns, st.st_size)


def provenance(model: Model, seed: int) -> dict:
    """The PNG text chunks every generated image carries: generator, checkpoint hash, seed, and
    an explicit ``gankit:synthetic = true`` (read them back with ``PIL.Image.open(f).text``)."""
    return {"gankit:synthetic": "true", "gankit:recipe": model.config.recipe,
            "gankit:checkpoint": str(model.path), "gankit:checkpoint_sha256": checkpoint_hash(model),
            "gankit:step": model.step, "gankit:seed": seed, "Software": "gankit (generated image)"}


def write_samples(model: Model, n: int, out: str | Path, seed: int = 0, class_: int | None = None,
                  truncation: float | None = None, watermark: int | None = None,
                  watermark_message: int | None = None) -> dict[str, Path]:
    """Write ``n`` samples to ``out``; returns the main files written.

    ``watermark``: an integer key; images then also carry an invisible keyed watermark whose
    32-bit message defaults to the first 8 hex digits of the checkpoint hash (see
    ``gankit.detect.watermark``; read with ``gankit detect --watermark KEY``).
    """
    out = Path(out)
    kind = model.meta["kind"]
    if watermark is not None and kind not in ("images", "paired", "unpaired"):
        raise UserError(f"--watermark: only images can carry a watermark; this model makes {kind}")
    out.mkdir(parents=True, exist_ok=True)
    x = sample(model, n, seed, class_, truncation)
    provenance_ = provenance(model, seed)
    if watermark is not None:
        from .detect.watermark import watermark_batch

        x, provenance_["gankit:watermark"] = watermark_batch(x, watermark, watermark_message, model)
    writer = WRITERS.get(kind) if kind in WRITERS else WRITERS.get("images")
    written = writer(x, out, model, provenance_)
    for f in written.values():  # pictures of other kinds (plots, strips) carry provenance too
        if Path(f).suffix.lower() == ".png" and Path(f).is_file():
            viz.stamp_png(f, provenance_)
    return written


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
