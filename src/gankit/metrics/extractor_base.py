"""What every feature extractor is (:class:`Extractor`) and where metric caches live
(:func:`cache_dir`): below the extractor registry (:mod:`gankit.metrics.extractors`), the
Inception network (:mod:`gankit.metrics.inception`) and the reference-statistics cache
(:mod:`gankit.metrics.reference`), so the registry can build Inception without Inception
importing the registry back.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from ..errors import UserError
from ..modality import modality


def cache_dir() -> Path:
    """``$GANKIT_CACHE`` or ``~/.cache/gankit``."""
    return Path(os.environ.get("GANKIT_CACHE") or Path.home() / ".cache" / "gankit").expanduser()


class Extractor:
    """Base class. ``extract(x)`` maps one batch [B, C, H, W] in [-1, 1] (or points [B, D])
    to ``(features [B, F], probs [B, C', K] or None)``."""

    name = ""
    points = False  # reads 2D point coordinates (True) or images (False)
    num_classes = 0  # > 0 when extract() also returns class probabilities
    batch_size = 250

    def fingerprint(self) -> str:
        """A content hash of the weights and preprocessing (part of the reference-cache key)."""
        raise NotImplementedError

    def extract(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def check(self, meta: dict, flag: str = "--extractor") -> None:
        """UserError when this extractor cannot read the data ``meta`` describes."""
        m = modality(meta)
        if (m.points, m.images) != (self.points, not self.points):
            reads = "points" if self.points else "images"
            raise UserError(f"{flag} {self.name}: reads {reads}, but this data is {m}")
