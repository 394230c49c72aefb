"""Where the trainer's batches come from.

A batch source hands out batch number ``counter``, ``counter + 1``, ... as dicts of device
tensors. Batches are a pure function of their number (and seed, rank, world size), so a
resume or a rollback only needs :meth:`MemoryBatches.seek` to the saved counter.

On a GPU a batch travels as stored (uint8 images: a quarter of float32's bytes) from pinned
host memory with a ``non_blocking`` copy, and becomes float in [-1, 1] on the device, so the
copy overlaps the previous step's kernels and the CPU does no per-pixel work.

:class:`MemoryBatches` gathers them from data in memory; :class:`LoaderBatches` reads them
from a prepared dataset on disk through a ``DataLoader`` with worker processes. Both give
the same batches (:meth:`~gankit.data.Data.finish` assembles them), and
:func:`make_batches` picks the one the data needs.
"""
from __future__ import annotations

import time

import torch

from ..data import Data
from ..modality import modality


class MemoryBatches:
    """Batches drawn from a :class:`~gankit.data.Data` held in memory (``Data.batch``)."""

    def __init__(self, data: Data, batch_size: int, seed: int, rank: int, world: int,
                 device: torch.device, memory_format=torch.contiguous_format):
        self.data, self.batch_size, self.seed, self.rank, self.world = data, batch_size, seed, rank, world
        self.device, self.memory_format = device, memory_format
        self.counter = 0  # the number of the next batch (saved in checkpoints as "batches")

    def seek(self, counter: int) -> None:
        self.counter = int(counter)

    def next(self) -> dict[str, torch.Tensor]:
        gpu = self.device.type == "cuda"
        b = self.data.batch(self.counter, self.batch_size, self.seed, self.rank, self.world, convert=not gpu)
        self.counter += 1
        return move_batch(b, self.data, self.device, self.memory_format)

    def close(self) -> None:
        pass


FLOAT_KEYS = ("real", "A", "B")  # the examples (Data.batch's convert=False leaves them as stored)


def move_batch(b: dict, data: Data, device: torch.device, memory_format) -> dict[str, torch.Tensor]:
    """A batch on ``device``. On a GPU the examples arrive as stored (uint8), travel from pinned
    memory with a non-blocking copy and become floats in [-1, 1] there."""
    if device.type != "cuda":
        return {k: to_device(v, device, memory_format) for k, v in b.items()}
    out, moved = {}, {}  # "B" is "real" for paired data: copy and convert it once
    for k, v in b.items():
        if id(v) not in moved:
            t = to_device(v if v.is_pinned() else v.pin_memory(), device, memory_format)
            moved[id(v)] = data.to_float(t) if k in FLOAT_KEYS else t
        out[k] = moved[id(v)]
    return out


class LoaderBatches:
    """Batches of a prepared, memory-mapped dataset (``data.store``) read by a ``DataLoader``.

    Workers read the uint8 rows of each batch by index (:mod:`gankit.data.loader`); the
    training process flips, scales and moves them (:meth:`Data.finish`), exactly as
    :class:`MemoryBatches` would. :meth:`seek` restarts the loader at a batch number, so a
    resume continues from the same data position. ``wait_s`` adds up the time ``next`` spent
    waiting for the loader (what a too-slow loader costs the training step).
    """

    def __init__(self, data: Data, batch_size: int, seed: int, rank: int, world: int, device: torch.device,
                 memory_format=torch.contiguous_format, num_workers: int = 0, pin_memory: bool = False):
        from ..data.loader import PreparedDataset

        self.data, self.batch_size, self.seed, self.rank, self.world = data, batch_size, seed, rank, world
        self.device, self.memory_format = device, memory_format
        self.num_workers, self.pin_memory = num_workers, pin_memory and device.type == "cuda"
        self.dataset = PreparedDataset(data.store)
        self.unpaired = data.a is not None and not modality(data).paired
        self.counter, self.wait_s = 0, 0.0
        self._it = None

    def seek(self, counter: int) -> None:
        self.close()
        self.counter = int(counter)

    def next(self) -> dict[str, torch.Tensor]:
        if self._it is None:
            from ..data.loader import ShardedBatchSampler, make_loader

            sampler = ShardedBatchSampler(len(self.dataset), self.batch_size, self.seed, self.rank, self.world,
                                          start=self.counter, a_n=len(self.data.a) if self.unpaired else None)
            self._it = iter(make_loader(self.dataset, sampler, self.num_workers, self.pin_memory))
        t = time.perf_counter()
        raw = next(self._it)
        self.wait_s += time.perf_counter() - t
        b = self.data.finish(raw, self.counter, self.seed, self.rank, convert=self.device.type != "cuda")
        self.counter += 1
        return move_batch(b, self.data, self.device, self.memory_format)

    def close(self) -> None:
        it, self._it = self._it, None
        if it is not None and hasattr(it, "_shutdown_workers"):
            it._shutdown_workers()  # now, not at garbage collection


def make_batches(data: Data, cfg, rank: int, world: int, device: torch.device, memory_format):
    """The batch source for ``data``: from disk (a prepared dataset) or from memory."""
    if data.store is not None:
        return LoaderBatches(data, cfg.data.batch_size, cfg.loop.seed, rank, world, device, memory_format,
                             cfg.data.num_workers, cfg.data.pin_memory)
    return MemoryBatches(data, cfg.data.batch_size, cfg.loop.seed, rank, world, device, memory_format)


def to_device(v: torch.Tensor, device: torch.device, memory_format) -> torch.Tensor:
    v = v.to(device, non_blocking=True)
    return v.contiguous(memory_format=memory_format) if v.dim() == 4 else v


def split_batch(batch: dict, parts: int) -> list[dict]:
    """Cut a batch into ``parts`` micro-batches (gradient accumulation)."""
    if parts == 1:
        return [batch]
    chunks = {k: torch.tensor_split(v, parts) for k, v in batch.items()}
    return [{k: c[i] for k, c in chunks.items()} for i in range(parts)]
