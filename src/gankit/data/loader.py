"""Reading a prepared dataset by index, with a ``torch.utils.data.DataLoader``.

:class:`PreparedDataset` is a map-style ``Dataset`` over the memory-mapped arrays of a
prepared split (:mod:`gankit.data.prepare`): each worker opens the files itself and reads
only the rows a batch asks for (``pread``, not a memory map), so memory stays small whatever
the size of the data and the length of the run.
:class:`ShardedBatchSampler` yields, for batch numbers ``start, start + 1, ...``, exactly the
indices :func:`gankit.data.base.stream_indices` gives (what ``Data.batch`` uses in memory): a
seeded permutation per epoch, cut into global batches, rank r taking the r-th slice, so the
ranks of a ``torchrun`` job read disjoint examples in each epoch, and a resumed run continues
from its batch number with the very same examples.
"""
from __future__ import annotations

import os
from itertools import count
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .base import A_SEED, stream_indices


class RowFile:
    """Rows of an ``.npy`` file read with ``pread``: nothing is memory-mapped, so a reader's
    resident memory does not grow with the rows it has read (the page cache holds them, and
    the kernel may drop it), however long the run and however large the file."""

    def __init__(self, path: Path):
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
            self.offset = f.tell()
        assert not fortran, path
        self.path, self.shape, self.dtype = path, shape, dtype
        self.row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        self.fd = None

    def __getstate__(self):  # each worker opens the file itself
        return {**self.__dict__, "fd": None}

    def rows(self, idx) -> np.ndarray:
        if self.fd is None:
            self.fd = open(self.path, "rb", buffering=0)  # noqa: SIM115 - kept open for the reader's life
        out = np.empty((len(idx), *self.shape[1:]), self.dtype)
        flat = out.reshape(len(idx), -1).view(np.uint8)
        for k, i in enumerate(idx):
            at = self.offset + int(i) * self.row_bytes
            if hasattr(os, "preadv"):  # one system call, straight into the batch
                got = os.preadv(self.fd.fileno(), [flat[k]], at)
            else:  # Windows
                self.fd.seek(at)
                got = self.fd.readinto(flat[k])
            if got != self.row_bytes:
                raise OSError(f"{self.path}: short read at row {i} (the file is truncated)")
        return out


class PreparedDataset(Dataset):
    """The examples of a prepared split (folder ``store``): ``x``, and ``y`` / ``a`` when present.

    ``dataset[i]`` is one example; ``__getitems__`` (what the DataLoader calls with a batch
    sampler) returns a whole batch ``{"x", "y"?, "a"?, "idx"}`` of uint8 / int64 tensors, the
    images read row by row from the files (:class:`RowFile`). For unpaired data a request is a
    pair ``(x indices, a indices)``: the two domains have their own streams.
    """

    def __init__(self, store: str | Path):
        self.store = Path(store)
        self.files = {k: RowFile(self.store / f"{k}.npy") for k in ("x", "a") if (self.store / f"{k}.npy").is_file()}
        y = self.store / "y.npy"
        self.y = np.load(y, allow_pickle=False) if y.is_file() else None  # 8 bytes an example: in memory
        self.n = self.files["x"].shape[0]

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return {k: v[0] for k, v in self.__getitems__([int(i)]).items()}

    def __getitems__(self, request) -> dict[str, torch.Tensor]:
        idx, a_idx = request if isinstance(request, tuple) else (request, None)
        rows = np.asarray(idx, dtype=np.int64)
        out = {"x": torch.from_numpy(self.files["x"].rows(rows)), "idx": torch.from_numpy(rows)}
        if self.y is not None:
            out["y"] = torch.from_numpy(self.y[rows])
        if "a" in self.files:
            out["a"] = torch.from_numpy(self.files["a"].rows(rows if a_idx is None else a_idx))
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
