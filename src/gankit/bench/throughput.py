"""Training throughput (images/s) of gankit's loop and of the naive reference, side by side.

Each workload is trained for a few steps by ``gankit.train.train`` (timed by a hook) and by
:mod:`gankit.bench.naive`'s tutorial-style reference for the recipe (DCGAN, StyleGAN2, pix2pix)
on identically built and initialised nets, in the same process, alternating, so machine noise
hits both. Reported: the median of several timed windows after
warm-up, and the ratio gankit / naive.

Against the hardware (:mod:`gankit.bench.peak`): each loop's FLOPs per step are counted from
one cycle of real steps (``FlopCounterMode``; a loop that runs G once less per step counts
fewer), its achieved GFLOP/s follow from its timed rate, and ``pct_of_peak`` divides them by
the machine's measured matmul/conv peak in the loop's own dtype (gankit's precision, fp32 for
the naive loop), measured in this process.
"""
from __future__ import annotations

import copy
import math
import statistics
import tempfile
from dataclasses import dataclass, field

import torch

from ..errors import UserError
from ..registry import RECIPES
from .naive import (
    CLOCKS,
    NaiveDCGAN,
    NaivePix2Pix,
    NaiveStyleGAN2,
    loader_batches,
    now,
    sync,
    timed_rates,
    use_clock,
)
from .peak import count_flops, efficiency, measured_peak


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
    stamps the time after step ``warmup`` and after every ``window`` steps from there, so
    set-up and the final checkpoint are not timed, and a GPU is synchronised only there)."""
    from ..train import train

    stamps: list[float] = []

    def stamp(st) -> None:
        if st.step >= warmup and (st.step - warmup) % window == 0:
            sync()
            stamps.append(now())

    with tempfile.TemporaryDirectory() as tmp:
        train(cfg, tmp, hooks=[stamp])
    bs = cfg.data.batch_size
    return [window * bs / (b - a) for a, b in zip(stamps, stamps[1:])]


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


def _flops_cycle(recipe_cls, rcfg, meta) -> int:
    """Steps after which every phase has run its share (the lcm of the phase intervals)."""
    return math.lcm(*(ph.interval for ph in recipe_cls(rcfg, meta).phases()))


def gankit_flops(cfg, data, n: int) -> int:
    """FLOPs per step of gankit's loop: steps 0..n-1 of a fresh run under the counter
    (uncompiled: the counter sees the same maths either way)."""
    from ..train import Trainer
    from ..train.resolve import resolve_loaded

    cfg = copy.deepcopy(cfg)
    cfg.loop.compile = False
    with tempfile.TemporaryDirectory() as tmp:
        tr = Trainer(resolve_loaded(cfg, data), tmp).setup()
        try:
            steps = iter(range(n))
            total = count_flops(lambda: tr.train_step(next(steps)), n)
        finally:
            tr.batches.close()
            tr.logger.close()
    return total // n


def naive_flops(step, batches, n: int) -> int:
    """FLOPs per step of a naive reference's ``step`` over ``n`` batches."""
    return count_flops(lambda: step(*next(batches)), n) // n


_PEAKS: dict[tuple[str, str], dict] = {}


def peak_for(precision: str, device: torch.device) -> dict:
    """:func:`~gankit.bench.peak.measured_peak`, once per (dtype, device) per process."""
    key = (precision, str(device))
    if key not in _PEAKS:
        _PEAKS[key] = measured_peak(precision, device)
    return _PEAKS[key]


def bench_workload(w: Workload, steps: int = 60, warmup: int = 10, window: int = 10, rounds: int = 2,
                   precision: str = "auto", overrides: list[str] = ()) -> dict:
    """One workload: ``rounds`` alternating (gankit, naive) runs of ``steps`` steps each; the
    medians of their timed windows and the ratio. ``overrides`` (``key=value``) change the
    workload's config for both loops (the naive one is built from the same resolved config)."""
    from ..data import load_data
    from ..presets import build_config
    from ..train.precision import resolve_precision
    from ..train.setup import data_meta, pick_device

    if w.recipe not in RECIPES:
        return {"workload": w.name, "skipped": f"recipe {w.recipe!r} is not available yet"}
    cfg = build_config(recipe=w.recipe, data=w.data, steps=steps,
                       overrides=w.overrides + QUIET + [f"loop.precision={precision}", *overrides])
    device = pick_device(cfg.loop.device)
    data = load_data(cfg.data)
    meta = data_meta(data)
    recipe_cls = RECIPES.get(cfg.recipe)
    rcfg = recipe_cls.resolve(copy.deepcopy(cfg), meta)

    def naive_ref():
        torch.manual_seed(cfg.loop.seed)  # the same initial weights as gankit's run
        nets = {k: v.to(device) for k, v in recipe_cls(rcfg, meta).build_nets().items()}
        return make_naive(rcfg, nets, data)

    if naive_ref() is None:
        return {"workload": w.name, "skipped": "no naive reference for this recipe yet"}
    ours, naive = [], []
    for _ in range(rounds):  # alternate so both loops see the same machine conditions
        ours += _gankit_rates(cfg, steps, warmup, window)
        naive += timed_rates(*naive_ref(), cfg.data.batch_size, steps, warmup, window)
    g, n = statistics.median(ours), statistics.median(naive)
    cycle = _flops_cycle(recipe_cls, rcfg, meta)
    ours_prec = resolve_precision(cfg.loop.precision, device)
    bs = cfg.data.batch_size
    loops = {}
    for name, rate, prec, flops in (("gankit", g, ours_prec, gankit_flops(cfg, data, cycle)),
                                    ("naive", n, "fp32", naive_flops(*naive_ref(), cycle))):
        peak = peak_for(prec, device)["peak_gflops"]
        loops[name] = {"img_per_s": round(rate, 2), "precision": prec, "peak_gflops": peak,
                       **efficiency(flops, rate, bs, peak)}
    return {"workload": w.name, "description": w.description, "batch_size": bs, "device": str(device),
            "precision": ours_prec, "gankit_img_per_s": round(g, 2), "naive_img_per_s": round(n, 2),
            "ratio": round(g / n, 2), **loops, "windows": len(ours), "naive_windows": len(naive),
            "threads": torch.get_num_threads()}


def run_bench(names: list[str] | None = None, steps: int = 60, rounds: int = 2, precision: str = "auto",
              warmup: int = 10, window: int = 10, overrides: list[str] = (), clock: str = "wall") -> dict:
    """``gankit bench``: ``{"workloads": [one dict per workload], "peaks": [...]}`` (see
    :func:`bench_workload`). ``clock="cpu"`` times everything (steps and the peak) in process
    CPU seconds instead of wall seconds."""
    if clock not in CLOCKS:
        raise UserError(f"--clock must be one of {', '.join(CLOCKS)}, got {clock!r}")
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
    _PEAKS.clear()
    with use_clock(clock):
        rows = [bench_workload(WORKLOADS[n], steps=steps, warmup=warmup, window=window, rounds=rounds,
                               precision=precision, overrides=list(overrides)) for n in names]
    return {"workloads": rows, "clock": clock, "peaks": [{"device": dev, **p} for (_, dev), p in _PEAKS.items()],
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}
