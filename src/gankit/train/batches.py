"""Where the trainer's batches come from.

A batch source hands out batch number ``counter``, ``counter + 1``, ... as dicts of device
tensors. Batches are a pure function of their number (and seed, rank, world size), so a
resume or a rollback only needs :meth:`MemoryBatches.seek` to the saved counter.

On a GPU a batch travels as stored (uint8 images: a quarter of float32's bytes) from pinned
host memory with a ``non_blocking`` copy, and becomes float in [-1, 1] on the device, so the
copy overlaps the previous step's kernels and the CPU does no per-pixel work.
"""
from __future__ import annotations

import torch

from ..data import Data


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
        if not gpu:
            return {k: to_device(v, self.device, self.memory_format) for k, v in b.items()}
        out, moved = {}, {}  # "B" is "real" for paired data: copy and convert it once
        for k, v in b.items():
            if id(v) not in moved:
                t = to_device(v.pin_memory(), self.device, self.memory_format)
                moved[id(v)] = self.data.to_float(t) if k in FLOAT_KEYS else t
            out[k] = moved[id(v)]
        return out

    def close(self) -> None:
        pass


FLOAT_KEYS = ("real", "A", "B")  # the examples (Data.batch's convert=False leaves them as stored)


def to_device(v: torch.Tensor, device: torch.device, memory_format) -> torch.Tensor:
    v = v.to(device, non_blocking=True)
    return v.contiguous(memory_format=memory_format) if v.dim() == 4 else v


def split_batch(batch: dict, parts: int) -> list[dict]:
    """Cut a batch into ``parts`` micro-batches (gradient accumulation)."""
    if parts == 1:
        return [batch]
    chunks = {k: torch.tensor_split(v, parts) for k, v in batch.items()}
    return [{k: c[i] for k, c in chunks.items()} for i in range(parts)]
