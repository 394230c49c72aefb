"""Reading a prepared dataset by index, with a ``torch.utils.data.DataLoader``.

:class:`PreparedDataset` is a map-style ``Dataset`` over the memory-mapped arrays of a
prepared split (:mod:`gankit.data.prepare`): each worker opens the files itself and copies
out only the rows a batch asks for, so memory stays small whatever the size of the data.
:class:`ShardedBatchSampler` yields, for batch numbers ``start, start + 1, ...``, exactly the
indices :func:`gankit.data.base.stream_indices` gives (what ``Data.batch`` uses in memory): a
seeded permutation per epoch, cut into global batches, rank r taking the r-th slice, so the
ranks of a ``torchrun`` job read disjoint examples in each epoch, and a resumed run continues
from its batch number with the very same examples.
"""
from __future__ import annotations

from itertools import count
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .base import stream_indices

A_SEED = 7919  # the A domain of unpaired data draws its own stream (as Data.batch does)


class PreparedDataset(Dataset):
    """The examples of a prepared split (folder ``store``): ``x``, and ``y`` / ``a`` when present.

    ``dataset[i]`` is one example; ``__getitems__`` (what the DataLoader calls with a batch
    sampler) returns a whole batch ``{"x", "y"?, "a"?, "idx"}`` of uint8 / int64 tensors. For
    unpaired data a request is a pair ``(x indices, a indices)``: the two domains have their
    own streams.
    """

    def __init__(self, store: str | Path):
        self.store = Path(store)
        self._arrays: dict[str, np.ndarray] | None = None
        self.n = int(np.load(self.store / "x.npy", mmap_mode="r").shape[0])

    def _open(self) -> dict[str, np.ndarray]:
        if self._arrays is None:  # lazily, in the process that reads (each worker its own maps)
            self._arrays = {f.stem: np.load(f, mmap_mode="r") for f in sorted(self.store.glob("*.npy"))}
        return self._arrays

    def __getstate__(self):  # workers get the folder, not open maps
        return {**self.__dict__, "_arrays": None}

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return {k: v[0] for k, v in self.__getitems__([int(i)]).items()}

    def __getitems__(self, request) -> dict[str, torch.Tensor]:
        arrays = self._open()
        idx, a_idx = request if isinstance(request, tuple) else (request, None)
        rows = np.asarray(idx, dtype=np.int64)
        out = {"x": torch.from_numpy(arrays["x"][rows]), "idx": torch.from_numpy(rows)}
        if "y" in arrays:
            out["y"] = torch.from_numpy(arrays["y"][rows])
        if "a" in arrays:
            out["a"] = torch.from_numpy(arrays["a"][rows if a_idx is None else np.asarray(a_idx, dtype=np.int64)])
        return out


class ShardedBatchSampler(Sampler):
    """Index lists of batches ``start, start + 1, ...`` (endless, or up to ``stop``) for one rank.

    ``n`` examples, ``batch_size`` per rank, ``world`` ranks: batch b of rank r is
    ``stream_indices(n, b, batch_size, seed, r, world)``. With ``a_n`` (unpaired data) each
    item is a pair: the B indices and the A domain's own indices (seed + 7919).
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1, start: int = 0,
                 stop: int | None = None, a_n: int | None = None):
        self.n, self.batch_size, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.start, self.stop, self.a_n = start, stop, a_n

    def batch(self, index: int):
        idx = stream_indices(self.n, index, self.batch_size, self.seed, self.rank, self.world).tolist()
        if self.a_n is None:
            return idx
        a = stream_indices(self.a_n, index, self.batch_size, self.seed + A_SEED, self.rank, self.world)
        return idx, a.tolist()

    def __iter__(self):
        for index in (count(self.start) if self.stop is None else range(self.start, self.stop)):
            yield self.batch(index)

    def __len__(self) -> int:
        if self.stop is None:
            raise TypeError("an endless sampler has no length")
        return self.stop - self.start


def _as_is(batch):
    return batch  # __getitems__ already returns the batch


def make_loader(dataset: PreparedDataset, sampler: ShardedBatchSampler, num_workers: int = 0,
                pin_memory: bool = False) -> DataLoader:
    """A DataLoader yielding one uint8 batch dict per item of ``sampler``, in order."""
    return DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers, pin_memory=pin_memory,
                      collate_fn=_as_is, prefetch_factor=4 if num_workers else None)
