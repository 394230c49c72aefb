"""Synthetic training data from a class-conditional generator: a labelled image folder.

``gankit synth --checkpoint C --per-class N --out DIR`` writes ``N`` images of every class::

    DIR/synth.json          what was written: checkpoint, its sha256, recipe, seed, classes
    DIR/<class>/000000.png  one subfolder per class (the layout ``gankit train --data DIR`` and
    DIR/<class>/000001.png  any ImageFolder-style loader read, labels from the folder names)

Folder names are the dataset's class names when they sort in class order (digits: ``0`` ..
``9``), else ``<index>-<name>`` zero-padded so that a sorted listing (how folder loaders assign
label ids) gives the class indices back. Every PNG carries the provenance text chunks of
``gankit.generate.provenance`` plus its class, and optionally a keyed watermark.

The images are exactly those of ``gankit sample --n K*N --seed S`` (the same seeded stream with
classes cycling 0..K-1), regrouped by class.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch

from . import viz
from .checkpoint import Model
from .errors import UserError
from .modality import modality

MANIFEST = "synth.json"
CONDITIONAL_RECIPES_HINT = "cgan, acgan, projection, biggan"


def num_classes(model: Model) -> int:
    """Classes a model's generator is conditioned on (0: unconditional)."""
    if not getattr(model.generator, "num_classes", 0):
        return 0
    return int(model.meta.get("num_classes") or 0)


def require_conditional(model: Model, what: str = "gankit synth") -> int:
    """The number of classes, or a UserError naming the checkpoint when there are none."""
    k = num_classes(model)
    if not modality(model.meta).from_noise_images:
        raise UserError(f"{model.path}: {what} needs an image generator; this model makes "
                        f"{modality(model.meta)}")
    if k < 2:
        raise UserError(f"{model.path}: recipe {model.config.recipe!r} is not class-conditional; {what} needs "
                        f"a conditional model ({CONDITIONAL_RECIPES_HINT})")
    return k


def class_folders(class_names: list[str]) -> list[str]:
    """A folder name per class whose sorted order is the class order."""
    safe = [re.sub(r"[^A-Za-z0-9._-]+", "_", str(n)).strip("._") or "class" for n in class_names]
    if safe == sorted(safe) and len(set(safe)) == len(safe):
        return safe
    width = len(str(len(class_names) - 1))
    return [f"{i:0{width}d}-{name}" for i, name in enumerate(safe)]


@torch.no_grad()
def synthetic_images(model: Model, per_class: int, seed: int = 0,
                     truncation: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` generated images of every class, in memory: (uint8 [K*N, C, H, W], labels [K*N]).

    Image ``i`` of the stream has class ``i % K`` (the order ``gankit sample`` uses).
    """
    from .generate import sample

    k = require_conditional(model)
    if per_class < 1:
        raise UserError(f"--per-class must be >= 1, got {per_class}")
    x = sample(model, per_class * k, seed=seed, truncation=truncation)
    u8 = torch.from_numpy(viz.to_uint8_images(x)).permute(0, 3, 1, 2).contiguous()
    return u8, torch.arange(len(u8)) % k


def write_synthetic(model: Model, per_class: int, out: str | Path, seed: int = 0,
                    truncation: float | None = None, watermark: int | None = None,
                    watermark_message: int | None = None) -> dict:
    """Write the labelled folder (see the module docstring); returns the manifest written."""
    from .generate import checkpoint_hash, provenance, sample

    k = require_conditional(model)
    if per_class < 1:
        raise UserError(f"--per-class must be >= 1, got {per_class}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise UserError(f"--out {out}: folder is not empty (and not an earlier gankit synth output); "
                        f"choose a new folder")
    names = list(model.meta.get("class_names") or [str(i) for i in range(k)])[:k]
    folders = class_folders(names)
    x = sample(model, per_class * k, seed=seed, truncation=truncation)
    info = provenance(model, seed)
    if watermark is not None:
        from .detect.watermark import watermark_batch

        x, info["gankit:watermark"] = watermark_batch(x, watermark, watermark_message, model)
    imgs = viz.to_uint8_images(x)  # [K*N, H, W, C]
    for c, folder in enumerate(folders):
        (out / folder).mkdir(parents=True, exist_ok=True)
    for i, im in enumerate(imgs):
        c, j = i % k, i // k
        viz.save_image(im, out / folders[c] / f"{j:06d}.png",
                       pnginfo={**info, "gankit:class": c, "gankit:class_name": names[c], "gankit:index": i})
    manifest = {"checkpoint": str(model.path), "checkpoint_sha256": checkpoint_hash(model),
                "recipe": model.config.recipe, "step": model.step, "seed": seed, "truncation": truncation,
                "per_class": per_class, "count": len(imgs), "classes": names, "folders": folders,
                "shape": list(np.asarray(imgs.shape)[[3, 1, 2]].tolist()), "synthetic": True,
                "watermark": info.get("gankit:watermark")}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return {**manifest, "out": str(out)}
