"""Run by tests/test_ddp.py under torchrun: train a few steps, then compare ranks.

``ddp_worker.py OUT RESULT [PREPARED]``: with a prepared dataset folder, train from it (read by
a DataLoader with a worker) and record each batch's number and indices from the sampler.
"""
import json
import sys

import torch
import torch.distributed as dist

from gankit.data.base import Data
from gankit.presets import build_config
from gankit.train import train

out, result = sys.argv[1], sys.argv[2]
prepared = sys.argv[3] if len(sys.argv) > 3 else None
seen: list[int] = []
batches: dict[int, list[int]] = {}  # batch number -> indices (prepared data)
orig = Data.indices


def recording(self, index, batch_size, seed, rank=0, world=1):
    idx = orig(self, index, batch_size, seed, rank, world)
    seen.extend(idx.tolist())
    return idx


Data.indices = recording
if prepared:
    from gankit.data.loader import ShardedBatchSampler

    orig_batch = ShardedBatchSampler.batch

    def recording_batch(self, index):
        idx = orig_batch(self, index)
        batches[index] = list(idx)
        seen.extend(idx)
        return idx

    ShardedBatchSampler.batch = recording_batch
cfg = build_config(recipe="dcgan", data=prepared or "digits", steps=5, overrides=[
    "loop.progress=false", "loop.tensorboard=false", "G.kwargs.ngf=8", "D.kwargs.ndf=8",
    "data.batch_size=8", "data.resolution=16", "loop.ema=0.9", "loop.d_steps=2", "loop.precision=fp32",
    "data.num_workers=1"])
live = {}
train(cfg, out, hooks=[lambda st: live.update(st.nets)])
from gankit.checkpoint import find_checkpoint

# the live weights each rank ended with, gathered to rank 0
params = torch.cat([p.detach().flatten() for name in ("G", "D", "G_ema") for p in live[name].parameters()])
gathered = [None] * dist.get_world_size()
dist.all_gather_object(gathered, {"params": params.tolist(), "seen": seen, "batches": batches})
if dist.get_rank() == 0:
    p0 = gathered[0]["params"]
    report = {
        "world": dist.get_world_size(),
        "identical": all(g["params"] == p0 for g in gathered),
        "overlap": len(set(gathered[0]["seen"]) & set(gathered[1]["seen"])),
        "seen": [len(g["seen"]) for g in gathered],
        "checkpoint": str(find_checkpoint(out)),
        "batches": [g["batches"] for g in gathered],
    }
    with open(result, "w") as fh:
        json.dump(report, fh)
dist.destroy_process_group()
