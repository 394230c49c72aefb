"""Which generator made a file: the checkpoint hash and the text chunks every generated PNG (and
MIDI text event) carries. Below :mod:`gankit.generate`, :mod:`gankit.latent`,
:mod:`gankit.translate` and :mod:`gankit.detect.watermark`, which all stamp their outputs, so
none of them imports another for it."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from .checkpoint import Model


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
