"""The in-memory dataset the loop trains on, and the dataset registry entries.

Every dataset, built-in or user, becomes a :class:`Data`: examples held in memory
(images as uint8 NCHW, points as float32 [N, D]; beyond images: character ids, encoded table
rows, multivariate sequences, video clips, see :data:`PAYLOADS`) with optional integer labels.
Batches are a pure function of ``(index, seed, rank, world)``: no iterator state, so resume and
DDP sharding are exact by construction. That includes the one per-batch transform, the random
horizontal flip (``Data.flip``), whose coin tosses are seeded by ``(seed, index, rank)``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..registry import DATASETS
from ..modality import modality

# The kinds (gankit.modality) keep their payload in ``x`` (``Modality.payload``: dtype, number of
# dims) and what it means in ``info`` (vocabulary, column specs, feature scaling, ...), so
# ``data.json`` describes it.


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
        if x.dtype == torch.uint8:
            return x.float().div_(127.5).sub_(1.0)
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
        """Example indices of batch ``index`` for ``rank``.

        The stream is an endless concatenation of seeded permutations (one per epoch), cut
        into global batches of ``batch_size * world``; rank r takes the r-th slice. Works for
        any dataset size, including one smaller than a batch.
        """
        n = len(self)
        start = (index * world + rank) * batch_size
        out, pos = [], start
        while len(out) < batch_size:
            epoch, off = divmod(pos, n)
            perm = self._perm(epoch, seed)
            take = perm[off : off + batch_size - len(out)]
            out.append(take)
            pos += len(take)
            if sum(len(t) for t in out) >= batch_size:
                break
        return torch.cat(out)[:batch_size]

    def _perm(self, epoch: int, seed: int, n: int | None = None) -> torch.Tensor:
        n = len(self) if n is None else n
        cache = self.__dict__.setdefault("_perm_cache", {})
        key = (epoch, seed, n)
        if key not in cache:
            if len(cache) > 4:
                cache.clear()
            g = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % (2**63))
            cache[key] = torch.randperm(n, generator=g)
        return cache[key]

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
        to_float = self.to_float if convert else _same
        idx = self.indices(index, batch_size, seed, rank, world)
        x = self.x[idx]
        flips = self._flips(len(idx), index, seed, rank, 0) if self.flip and modality(self).flippable else None
        out = {"real": to_float(_flip(x, flips))}
        if self.y is not None:
            out["y"] = self.y[idx]
        if self.seg is not None:
            out["seg"] = _flip(self.seg[idx], flips)[:, 0].long()
        if self.captions is not None:
            out["caption"] = idx.clone()
        m = modality(self)
        if m.paired:
            out["A"], out["B"] = to_float(_flip(self.a[idx], flips)), out["real"]
        elif m.translation:  # unpaired
            a_view = Data(self.name, "images", self.a)
            a = self.a[a_view.indices(index, batch_size, seed + 7919, rank, world)]
            a_flips = self._flips(len(a), index, seed, rank, 1) if self.flip else None
            out["A"] = to_float(_flip(a, a_flips))  # independent coins: the domains are unpaired
            out["B"] = out["real"]
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
