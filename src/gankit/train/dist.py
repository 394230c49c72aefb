"""Data-parallel training with torch.distributed, launched by ``torchrun``.

``torchrun --nproc_per_node=N -m gankit train ...`` starts N processes with RANK, WORLD_SIZE
and LOCAL_RANK set; :func:`setup` joins them into one process group (NCCL on GPUs, gloo on
CPUs). Every rank builds the same nets from the same seed (then rank 0's weights are
broadcast anyway), draws its own slice of each global batch, and after each phase's backward
the gradients of the nets that phase trains are averaged across ranks in one flat
all-reduce, so every rank takes the identical optimizer step. This is the scheme of
StyleGAN2-ADA's training loop; torch's DistributedDataParallel wrapper is not used because a
GAN phase runs D several times per backward (real, fake, and frozen inside the G phase),
which DDP's one-forward-one-backward reducer does not allow. Only rank 0 writes files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def setup(device: torch.device) -> tuple[DistInfo, torch.device]:
    """Join the torchrun process group if there is one; pick this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), device
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank, world, local), device


def broadcast_nets(nets: dict, info: DistInfo) -> None:
    """Make every rank start from rank 0's weights and buffers."""
    if not info.enabled:
        return
    for net in nets.values():
        for t in list(net.parameters()) + list(net.buffers()):
            dist.broadcast(t.data, src=0)


def average_grads(params: list[torch.nn.Parameter], info: DistInfo) -> None:
    """Average gradients across ranks with one flat all-reduce (missing grads count as 0)."""
    if not info.enabled or not params:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world
    offset = 0
    for p, g in zip(params, grads):
        n = g.numel()
        p.grad = flat[offset: offset + n].view_as(p).clone() if p.grad is None else p.grad.copy_(
            flat[offset: offset + n].view_as(g))
        offset += n


def group_device() -> torch.device:
    """Where the process group's collectives take tensors: the rank's GPU under NCCL (which
    rejects CPU tensors), the CPU under gloo."""
    if dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def average_logs(row: dict, info: DistInfo) -> dict:
    """Mean of each logged value across ranks (same keys on every rank), as Python floats:
    one all-reduce of a float64 tensor on :func:`group_device`."""
    if not info.enabled or not row:
        return row
    keys = sorted(row)
    t = torch.tensor([float(row[k]) for k in keys], dtype=torch.float64, device=group_device())
    dist.all_reduce(t)
    return {k: v / info.world for k, v in zip(keys, t.tolist())}


def sum_across(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """``t`` summed over ranks (in place, on the group's device; ``t`` itself when alone)."""
    if not info.enabled:
        return t
    dev = group_device()
    u = t.to(dev)
    dist.all_reduce(u)
    return u


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def teardown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
