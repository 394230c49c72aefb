"""The in-memory dataset the loop trains on, and the dataset registry entries.

Every dataset, built-in or user, becomes a :class:`Data`: examples held in memory
(images as uint8 NCHW, points as float32 [N, D]; beyond images: character ids, encoded table
rows, multivariate sequences, video clips, see :data:`PAYLOADS`) with optional integer labels.
Batches are a pure function of ``(index, seed, rank, world)``: no iterator state, so resume and
DDP sharding are exact by construction. That includes the one per-batch transform, the random
horizontal flip (``Data.flip``), whose coin tosses are seeded by ``(seed, index, rank)``.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..modality import modality
from ..registry import DATASETS

# The kinds (gankit.modality) keep their payload in ``x`` (``Modality.payload``: dtype, number of
# dims) and what it means in ``info`` (vocabulary, column specs, feature scaling, ...), so
# ``data.json`` describes it.

A_SEED = 7919  # unpaired data: the A domain's stream is seeded apart from B's


@dataclass
class Data:
    """Examples in memory, with labels when the data has classes.

    Attributes:
        name: dataset name (built-in name or the user's path).
        kind: ``"points"`` (x is float32 [N, D]), ``"images"`` (x is uint8 [N, C, H, W]),
            ``"paired"`` (image-to-image: input ``a[i]`` goes with target ``x[i]``),
            ``"unpaired"`` (two domains: ``a`` is domain A, ``x`` domain B, no correspondence),
            or a kind of :data:`PAYLOADS` (``"text"``, ``"tabular"``, ``"sequence"``, ``"video"``).
        x: the examples (for paired/unpaired: the target / B domain images).
        a: input / A-domain images, uint8 [M, C', H, W] (paired: M == N), else None.
        y: int64 labels [N], or None.
        class_names: a name per class (``len == num_classes``); empty when unlabelled.
        info: anything a metric may need (e.g. the mixture means of a 2D dataset).
        seg: optional per-pixel semantic label maps, uint8 [N, 1, H, W] aligned with ``x``
            (class ids index ``info["seg_classes"]``); e.g. the ``scenes`` datasets.
        captions: optional one caption per example (``len == N``), e.g. ``scenes``.
        flip: randomly mirror images left-right in :meth:`batch` (a data augmentation;
            paired inputs, targets and label maps flip together; every frame of a video clip
            flips together; ignored for text, tables and sequences).
        store: for a prepared dataset (:mod:`gankit.data.prepare`), the folder of the
            memory-mapped arrays ``x`` and ``a`` are views of; the trainer then reads batches
            from it with a ``DataLoader`` (:mod:`gankit.data.loader`) instead of from memory.
    """

    name: str
    kind: str
    x: torch.Tensor
    y: torch.Tensor | None = None
    class_names: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    a: torch.Tensor | None = None
    seg: torch.Tensor | None = None
    captions: list[str] | None = None
    flip: bool = False
    store: str | None = None

    def __post_init__(self):
        m = modality(self.kind)
        dtype, dims = m.payload
        assert self.x.dtype == getattr(torch, dtype) and self.x.dim() == dims, (self.kind, self.x.dtype, self.x.shape)
        if m.translation:
            assert self.a is not None and self.a.dtype == torch.uint8 and self.a.dim() == 4
        if m.paired:
            assert len(self.a) == len(self.x)
        if self.y is not None:
            assert len(self.y) == len(self.x)
        if self.seg is not None:
            assert self.seg.dtype == torch.uint8 and self.seg.dim() == 4 and len(self.seg) == len(self.x)
            assert self.seg.shape[-2:] == self.x.shape[-2:], (self.seg.shape, self.x.shape)
        if self.captions is not None:
            assert len(self.captions) == len(self.x)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one example: (C, H, W), (D,), or the payload's ((L,), (T, F), (T, C, H, W))."""
        return tuple(self.x.shape[1:])

    def to_float(self, x: torch.Tensor) -> torch.Tensor:
        """Examples as the nets see them: images (and video frames) in [-1, 1] float32, points,
        table rows and sequences as float32, text as its int64 character ids (nets embed them)."""
        if modality(self).token_ids:
            return x
        if x.dtype == torch.uint8:  # pixels 0..255, or piano-roll cells 0/1 (binary kinds)
            return x.float().div_(0.5 if modality(self).binary else 127.5).sub_(1.0)
        return x.float()

    def subset(self, idx: torch.Tensor) -> Data:
        """The examples at ``idx`` (for paired data the inputs too; unpaired A is kept whole).

        Label maps and captions follow their examples; ``flip`` is kept.
        """
        idx = torch.as_tensor(idx, dtype=torch.long)
        a = self.a[idx] if modality(self).paired else self.a
        seg = None if self.seg is None else self.seg[idx]
        captions = None if self.captions is None else [self.captions[i] for i in idx.tolist()]
        return Data(self.name, self.kind, self.x[idx], None if self.y is None else self.y[idx],
                    list(self.class_names), dict(self.info), a, seg, captions, self.flip)

    # ------------------------------------------------------------- batching
    def indices(self, index: int, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        """Example indices of batch ``index`` for ``rank`` (:func:`stream_indices` over this data)."""
        return stream_indices(len(self), index, batch_size, seed, rank, world)

    def batch(self, index: int, batch_size: int, seed: int, rank: int = 0, world: int = 1,
              convert: bool = True) -> dict:
        """Batch ``index`` as the recipes see it.

        ``{"real": float [-1, 1], "y": labels?}``; paired and unpaired data add
        ``"A"`` (inputs / domain A) and ``"B"`` (targets / domain B, the same as ``real``).
        Unpaired A examples come from their own seeded stream, independent of B's.
        Data with label maps adds ``"seg"`` (int64 [N, H, W] class ids); data with captions
        adds ``"caption"`` (int64 [N]: the examples' indices into ``Data.captions``; tensors
        only, because the loop moves every batch value to the device).
        With ``flip`` each example is mirrored with probability 1/2, decided by a generator
        seeded from ``(seed, index, rank)``, so a resumed run sees the same flips.
        With ``convert=False`` the examples keep their stored dtype (uint8 images: 4x fewer
        bytes to copy to a GPU) and the caller applies :meth:`to_float` on the device.
        """
        idx = self.indices(index, batch_size, seed, rank, world)
        raw = {"x": self.x[idx], "idx": idx}
        if self.y is not None:
            raw["y"] = self.y[idx]
        if self.seg is not None:
            raw["seg"] = self.seg[idx]
        if self.a is not None:
            unpaired = not modality(self).paired  # A is its own seeded stream, independent of B's
            raw["a"] = self.a[stream_indices(len(self.a), index, batch_size, seed + A_SEED, rank, world)
                              if unpaired else idx]
        return self.finish(raw, index, seed, rank, convert)

    def finish(self, raw: dict, index: int, seed: int, rank: int, convert: bool = True) -> dict:
        """The batch dict of batch ``index`` from its uint8 examples.

        ``raw`` holds ``x`` (and, as the data has them, ``y``, ``seg``, ``a`` and the example
        indices ``idx``) as gathered from memory (:meth:`batch`) or read from disk by a
        ``DataLoader`` (:class:`gankit.data.loader.PreparedDataset`); the flips, the scaling to
        [-1, 1] and the keys are the same either way, so both sources give identical batches.
        """
        to_float = self.to_float if convert else _same
        m = modality(self)
        x = raw["x"]
        flips = self._flips(len(x), index, seed, rank, 0) if self.flip and m.flippable else None
        out = {"real": to_float(_flip(x, flips))}
        if raw.get("y") is not None:
            out["y"] = raw["y"]
        if raw.get("seg") is not None:
            out["seg"] = _flip(raw["seg"], flips)[:, 0].long()
        if self.captions is not None:
            out["caption"] = raw["idx"].clone()
        if raw.get("a") is not None:
            # paired inputs flip with their targets; unpaired domains toss their own coins
            a_flips = flips if m.paired else (self._flips(len(raw["a"]), index, seed, rank, 1) if self.flip else None)
            out["A"], out["B"] = to_float(_flip(raw["a"], a_flips)), out["real"]
        return out

    @staticmethod
    def _flips(n: int, index: int, seed: int, rank: int, stream: int) -> torch.Tensor:
        """n coin tosses (bool [n]) that depend only on (seed, batch index, rank, stream)."""
        key = ((seed * 1_000_003 + index) * 8191 + rank * 131 + stream + 0x5EED) % (2**63)
        return torch.rand(n, generator=torch.Generator().manual_seed(key)) < 0.5

    def meta(self) -> dict:
        """What sampling and evaluation need to know about the data (a run's ``data.json``)."""
        return {**self.describe(), "num_classes": self.num_classes, "class_names": self.class_names,
                "info": {k: v for k, v in self.info.items() if k != "skipped"}}

    def describe(self) -> dict:
        """Name, kind, size, example shape, number of classes (+ input shape for paired/unpaired)."""
        d = {
            "name": self.name,
            "kind": self.kind,
            "size": len(self),
            "shape": list(self.shape),
            "classes": self.num_classes,
        }
        if self.a is not None:
            d["a_shape"] = list(self.a.shape[1:])
            d["a_size"] = len(self.a)
        return d


def _same(x: torch.Tensor) -> torch.Tensor:
    return x


def stream_indices(n: int, index: int, batch_size: int, seed: int, rank: int = 0, world: int = 1) -> torch.Tensor:
    """Example indices (int64 [batch_size]) of batch ``index`` for ``rank`` out of ``n`` examples.

    The stream is an endless concatenation of seeded permutations (one per epoch), cut into
    global batches of ``batch_size * world``; rank r takes the r-th slice, so within an epoch
    the ranks' examples are disjoint (``DistributedSampler``-style sharding). A pure function
    of its arguments: an exact resume only needs the batch number. Works for any ``n``,
    including one smaller than a batch.
    """
    start = (index * world + rank) * batch_size
    out, pos, got = [], start, 0
    while got < batch_size:
        epoch, off = divmod(pos, n)
        take = epoch_permutation(n, epoch, seed)[off : off + batch_size - got]
        out.append(take)
        pos += len(take)
        got += len(take)
    return torch.cat(out)


@functools.lru_cache(maxsize=6)
def epoch_permutation(n: int, epoch: int, seed: int) -> torch.Tensor:
    """The seeded order of ``n`` examples in ``epoch`` (cached: consecutive batches share it)."""
    g = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % (2**63))
    return torch.randperm(n, generator=g)


def _flip(x: torch.Tensor, flips: torch.Tensor | None) -> torch.Tensor:
    """Mirror the images [N, C, H, W] (or clips [N, T, C, H, W]) whose ``flips`` entry is True
    (left-right)."""
    if flips is None or not bool(flips.any()):
        return x
    return torch.where(flips.view(-1, *[1] * (x.dim() - 1)), x.flip(-1), x)


@dataclass
class DatasetSpec:
    """A registered dataset: a builder plus what ``gankit data list`` shows.

    ``builder(resolution=..., split=..., **kwargs) -> Data``; ``recipe`` is the recipe the
    one-flag run ``gankit train --data NAME`` uses (with the preset ``<recipe>-<name>`` if any).
    """

    name: str
    builder: Callable[..., Data]
    description: str
    recipe: str = "dcgan"

    def __call__(self, **kwargs) -> Data:
        return self.builder(**kwargs)


def register_dataset(name: str, description: str, recipe: str = "dcgan"):
    """Decorator: register ``builder(resolution, split, **kw) -> Data`` as a dataset."""

    def deco(fn):
        DATASETS.register(name, DatasetSpec(name, fn, description, recipe))
        return fn

    return deco


def resize_images(x: torch.Tensor, resolution: int) -> torch.Tensor:
    """Resize float images [N, C, H, W] to a square ``resolution`` (antialiased when shrinking)."""
    if x.shape[-1] == resolution and x.shape[-2] == resolution:
        return x
    shrink = resolution < max(x.shape[-2:])
    return torch.nn.functional.interpolate(
        x, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=shrink
    )


def to_uint8(x: torch.Tensor, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    """Map floats in [lo, hi] to uint8 [0, 255] (rounded, clamped)."""
    return ((x - lo) / (hi - lo) * 255.0).round_().clamp_(0, 255).to(torch.uint8)


def convert_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 images [N, C, H, W] to 1 or 3 channels (gray <-> RGB); 0 keeps them as they are."""
    c = x.shape[1]
    if channels in (0, c):
        return x
    if channels == 3 and c == 1:
        return x.expand(-1, 3, -1, -1).contiguous()
    if channels == 1 and c == 3:
        w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (x.float() * w).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)
    raise ValueError(f"cannot convert {c} channels to {channels}")
