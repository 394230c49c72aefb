"""Training throughput (images/s) of gankit's loop and of the naive reference, side by side.

Each workload is trained for a few steps by ``gankit.train.train`` (timed by a hook) and by
:mod:`gankit.bench.naive`'s tutorial-style reference for the recipe (DCGAN, StyleGAN2, pix2pix)
on identically built and initialised nets, in the same process, alternating, so machine noise
hits both. Reported: the median of several timed windows after
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
from .naive import NaiveDCGAN, NaivePix2Pix, NaiveStyleGAN2, loader_batches, timed_rates


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
         "loop.checkpoint_every=1000000", "loop.log_every=1000000", "loop.keep_checkpoints=1", "loop.n_samples=8"]


def _gankit_rates(cfg, steps: int, warmup: int, window: int) -> list[float]:
    """Images/s of gankit's loop over ``window``-step windows after ``warmup`` steps (a hook
    stamps the time after each step, so set-up and the final checkpoint are not timed)."""
    from ..train import train

    stamps: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        train(cfg, tmp, hooks=[lambda st: stamps.append(time.perf_counter())])
    bs = cfg.data.batch_size
    return [window * bs / (stamps[i + window] - stamps[i]) for i in range(warmup - 1, len(stamps) - window, window)]


def make_naive(cfg, nets: dict, data):
    """The tutorial-style reference for a resolved config: ``(step, batches)`` for
    :func:`gankit.bench.naive.timed_rates`, or None when there is none for the recipe."""
    from ..recipes.adversarial import AdversarialRecipe
    from ..recipes.pix2pix import Pix2Pix
    from ..recipes.stylegan2 import StyleGAN2

    recipe_cls = RECIPES.get(cfg.recipe)
    bs = cfg.data.batch_size
    G, D = nets["G"], nets["D"]
    if issubclass(recipe_cls, StyleGAN2):
        opts = recipe_cls.read_options(cfg)
        r1 = (cfg.loss.kwargs or {}).get("r1") or {}
        trainer = NaiveStyleGAN2(
            G, D, cfg.optim_g.lr, cfg.optim_g.betas, cfg.optim_d.lr, cfg.optim_d.betas,
            r1_gamma=float(r1.get("weight", 0.0)), r1_interval=int(r1.get("interval", 16)),
            pl_weight=opts["pl_weight"], pl_interval=opts["pl_interval"], pl_decay=opts["pl_decay"],
            pl_batch_shrink=opts["pl_batch_shrink"], mixing_prob=opts["mixing_prob"], ema=cfg.loop.ema or 0.998)
        return trainer.step, loader_batches((data.x,), bs)
    if issubclass(recipe_cls, Pix2Pix):
        opts = recipe_cls.read_options(cfg)
        trainer = NaivePix2Pix(G, D, cfg.optim_g.lr, tuple(cfg.optim_g.betas), opts["l1_weight"], cfg.data.flip)
        return trainer.step, loader_batches((data.a, data.x), bs)
    if issubclass(recipe_cls, AdversarialRecipe) and not recipe_cls.conditional and cfg.recipe in ("dcgan", "gan"):
        trainer = NaiveDCGAN(G, D, cfg.G.kwargs["z_dim"], cfg.optim_g.lr, tuple(cfg.optim_g.betas))
        return trainer.step, loader_batches((data.x,), bs)
    return None


def bench_workload(w: Workload, steps: int = 60, warmup: int = 10, window: int = 10, rounds: int = 2,
                   precision: str = "auto", overrides: list[str] = ()) -> dict:
    """One workload: ``rounds`` alternating (gankit, naive) runs of ``steps`` steps each; the
    medians of their timed windows and the ratio. ``overrides`` (``key=value``) change the
    workload's config for both loops (the naive one is built from the same resolved config)."""
    from ..data import load_data
    from ..presets import build_config
    from ..train.precision import resolve_precision
    from ..train.setup import data_meta

    if w.recipe not in RECIPES:
        return {"workload": w.name, "skipped": f"recipe {w.recipe!r} is not available yet"}
    cfg = build_config(recipe=w.recipe, data=w.data, steps=steps,
                       overrides=w.overrides + QUIET + [f"loop.precision={precision}", *overrides])
    data = load_data(cfg.data)
    recipe_cls = RECIPES.get(cfg.recipe)
    rcfg = recipe_cls.resolve(copy.deepcopy(cfg), data_meta(data))
    ours, naive = [], []
    for _ in range(rounds):  # alternate so both loops see the same machine conditions
        ours += _gankit_rates(cfg, steps, warmup, window)
        torch.manual_seed(cfg.loop.seed)  # the same initial weights as gankit's run
        nets = recipe_cls(rcfg, data_meta(data)).build_nets()
        ref = make_naive(rcfg, nets, data)
        if ref is None:
            return {"workload": w.name, "skipped": "no naive reference for this recipe yet"}
        naive += timed_rates(*ref, cfg.data.batch_size, steps, warmup, window)
    g, n = statistics.median(ours), statistics.median(naive)
    return {"workload": w.name, "description": w.description, "batch_size": cfg.data.batch_size,
            "precision": resolve_precision(cfg.loop.precision, torch.device("cpu")),
            "gankit_img_per_s": round(g, 2), "naive_img_per_s": round(n, 2), "ratio": round(g / n, 2),
            "windows": len(ours), "naive_windows": len(naive), "threads": torch.get_num_threads()}


def run_bench(names: list[str] | None = None, steps: int = 60, rounds: int = 2, precision: str = "auto",
              warmup: int = 10, window: int = 10, overrides: list[str] = ()) -> dict:
    """``gankit bench``: ``{"workloads": [one dict per workload]}`` (see :func:`bench_workload`)."""
    names = names or list(WORKLOADS)
    for n in names:
        if n not in WORKLOADS:
            raise UserError(f"--workloads: unknown workload {n!r}; choices: {', '.join(WORKLOADS)}")
    if warmup < 1 or window < 1:
        raise UserError(f"--warmup and --window must be >= 1, got {warmup} and {window}")
    if rounds < 1:
        raise UserError(f"--rounds must be >= 1, got {rounds}")
    if steps < warmup + window:
        raise UserError(f"--steps must be >= --warmup + --window = {warmup + window} "
                        f"(warm-up + one timed window), got {steps}")
    return {"workloads": [bench_workload(WORKLOADS[n], steps=steps, warmup=warmup, window=window, rounds=rounds,
                                         precision=precision, overrides=list(overrides)) for n in names]}
