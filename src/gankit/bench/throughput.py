"""Training throughput (images/s) of gankit's loop and of the naive reference, side by side.

Each workload is trained for a few steps by ``gankit.train.train`` (timed by a hook) and by
:func:`gankit.bench.naive.naive_throughput` on identically built nets, in the same process,
alternating, so machine noise hits both. Reported: the median of several timed windows after
warm-up, and the ratio gankit / naive.
"""
from __future__ import annotations

import copy
import statistics
import tempfile
import time
from dataclasses import dataclass, field

import torch

from ..errors import UserError
from ..registry import RECIPES
from .naive import naive_throughput


@dataclass
class Workload:
    name: str
    recipe: str
    data: str
    overrides: list[str] = field(default_factory=list)
    description: str = ""


WORKLOADS = {
    "dcgan32": Workload("dcgan32", "dcgan", "digits", [
        "data.resolution=32", "data.channels=3", "data.batch_size=64", "G.kwargs.z_dim=100",
        "G.kwargs.ngf=64", "D.kwargs.ndf=64", "optim_g.lr=2e-4", "optim_d.lr=2e-4", "loop.ema=0"],
        "pytorch/examples DCGAN at 32x32: nz=100, ngf=ndf=64, batch 64, Adam 2e-4 (0.5, 0.999), 3 channels"),
    "stylegan2": Workload("stylegan2", "stylegan2", "digits", ["data.resolution=32", "data.channels=3"],
                          "stylegan2 at 32 px, the project's default small config"),
    "pix2pix": Workload("pix2pix", "pix2pix", "edges2photo", ["data.resolution=64"],
                        "pix2pix at 64 px, the project's default small config"),
}
QUIET = ["loop.progress=false", "loop.tensorboard=false", "loop.sample_every=1000000",
         "loop.checkpoint_every=1000000", "loop.log_every=1000000", "loop.keep_checkpoints=1"]


def _gankit_rates(cfg, steps: int, warmup: int, window: int) -> list[float]:
    from ..train import train

    stamps: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        train(cfg, tmp, hooks=[lambda st: stamps.append(time.perf_counter())])
    bs = cfg.data.batch_size
    return [window * bs / (stamps[i + window] - stamps[i]) for i in range(warmup - 1, len(stamps) - window, window)]


def bench_workload(w: Workload, steps: int = 40, warmup: int = 10, window: int = 10, rounds: int = 2,
                   precision: str = "auto") -> dict:
    from ..data import load_data
    from ..presets import build_config

    if w.recipe not in RECIPES:
        return {"workload": w.name, "skipped": f"recipe {w.recipe!r} is not available yet"}
    cfg = build_config(recipe=w.recipe, data=w.data, steps=steps,
                       overrides=w.overrides + QUIET + [f"loop.precision={precision}"])
    if w.recipe not in ("dcgan", "gan", "cgan"):
        return {"workload": w.name, "skipped": "no naive reference for this recipe yet"}
    data = load_data(cfg.data)
    recipe_cls = RECIPES.get(cfg.recipe)
    from ..train.loop import data_meta

    rcfg = recipe_cls.resolve(copy.deepcopy(cfg), data_meta(data))
    ours, naive = [], []
    for _ in range(rounds):  # alternate so both loops see the same machine conditions
        ours += _gankit_rates(cfg, steps, warmup, window)
        torch.manual_seed(0)
        r = recipe_cls(rcfg, data_meta(data))
        nets = r.build_nets()
        naive += naive_throughput(nets["G"], nets["D"], data.x, rcfg.G.kwargs["z_dim"], cfg.data.batch_size,
                                  steps, warmup, window, lr=cfg.optim_g.lr, betas=tuple(cfg.optim_g.betas))
    g, n = statistics.median(ours), statistics.median(naive)
    return {"workload": w.name, "description": w.description, "gankit_img_per_s": round(g, 1),
            "naive_img_per_s": round(n, 1), "ratio": round(g / n, 2), "windows": len(ours),
            "threads": torch.get_num_threads()}


def run_bench(names: list[str] | None = None, steps: int = 40, rounds: int = 2, precision: str = "auto") -> dict:
    names = names or list(WORKLOADS)
    for n in names:
        if n not in WORKLOADS:
            raise UserError(f"--workloads: unknown workload {n!r}; choices: {', '.join(WORKLOADS)}")
    if steps < 25:
        raise UserError(f"--steps must be >= 25 (warm-up + timed windows), got {steps}")
    return {"workloads": [bench_workload(WORKLOADS[n], steps=steps, rounds=rounds, precision=precision)
                          for n in names]}
