"""Training throughput (images/s, seconds per step) of gankit's loop, and of the naive reference
side by side where there is one.

Each workload is trained for a few steps by gankit's :class:`~gankit.train.Trainer` (timed by a
hook) and, for the workloads with a reference (``Workload.naive``: dcgan32, stylegan2,
pix2pix), by :mod:`gankit.bench.naive`'s tutorial-style reference for the recipe on
identically built and initialised nets, in the same process, alternating, so machine noise
hits both. Reported: the median of several timed windows after warm-up (as images/s and as
seconds per training step in the chosen clock), and the ratio gankit / naive.

The per-family workloads (group ``families``: ``dcgan-digits``, ``sngan-digits``,
``resnet-digits``, ``biggan-digits``, ``progan-digits``, ``stylegan2-digits``, ``r3gan-digits``)
have no naive reference: each is its family's ``gankit train --recipe R --data digits`` config
unchanged (``build_config(recipe=R, data="digits")``, the preset's nets, resolution and batch
size; ``resnet-digits`` and ``r3gan-digits`` swap in the ResNet / R3GAN nets that the sngan and
r3gan digits presets no longer train), and
one step is one full ``Trainer.train_step`` (all its D steps and the G step; lazy regularizers
at their intervals) plus the per-step hooks (EMA). ProGAN is timed in its last growth phase
(fully grown, no fade-in): the trainer's step counter starts at that phase's first step.

Against the hardware (:mod:`gankit.bench.peak`): each loop's FLOPs per step are counted from
one cycle of real steps (``FlopCounterMode``; a loop that runs G once less per step counts
fewer), its achieved GFLOP/s follow from its timed rate, and ``pct_of_peak`` divides them by
the machine's measured matmul/conv peak in the loop's own dtype (gankit's precision, fp32 for
the naive loop), measured in this process.
"""
from __future__ import annotations

import copy
import itertools
import math
import statistics
import tempfile
from collections.abc import Callable
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
    naive: bool = True  # also time the tutorial-style reference (gankit.bench.naive) and report the ratio
    # the trainer's step at which the timed run starts, from the resolved config (default 0): a
    # recipe whose step cost depends on the step (ProGAN's growth) is timed in the phase named here
    start_step: Callable | None = None


def progan_grown_step(rcfg) -> int:
    """ProGAN's first fully grown step (its last phase, no fade-in) for a resolved config."""
    from ..nets.progan import _levels
    from ..recipes.progan import grown_step

    opts = RECIPES.get(rcfg.recipe).read_options(rcfg)
    return grown_step(opts["steps_per_phase"], _levels(int(rcfg.G.kwargs["resolution"])))


WORKLOADS = {
    "dcgan32": Workload("dcgan32", "dcgan", "digits", [
        "data.resolution=32", "data.channels=3", "data.batch_size=64", "G.kwargs.z_dim=100",
        "G.kwargs.ngf=64", "D.kwargs.ndf=64", "optim_g.lr=2e-4", "optim_d.lr=2e-4", "loop.ema=0"],
        "pytorch/examples DCGAN at 32x32: nz=100, ngf=ndf=64, batch 64, Adam 2e-4 (0.5, 0.999), 3 channels"),
    "stylegan2": Workload("stylegan2", "stylegan2", "digits", ["data.resolution=32", "data.channels=3"],
                          "stylegan2 at 32 px, the project's default small config"),
    "pix2pix": Workload("pix2pix", "pix2pix", "edges2photo", ["data.resolution=64"],
                        "pix2pix at 64 px, the project's default small config"),
    # one per architecture family: `gankit train --recipe R --data digits` as it trains, no naive reference
    "dcgan-digits": Workload(
        "dcgan-digits", "dcgan", "digits", [],
        "dcgan on digits (dcgan + dcgan-digits presets): DCGAN nets ngf = ndf = 32, z 100, 32 px, batch 64, "
        "non-saturating loss, 1 D step, G_ema 0.999", naive=False),
    "sngan-digits": Workload(
        "sngan-digits", "sngan", "digits", [],
        "sngan on digits (sngan + sngan-digits presets): SNGAN's standard CNN, DCGAN-style G ngf 32 with a 3x3 "
        "output conv, spectral-norm D (3x3 + 4x4/2 convs per scale) ndf 16, z 128, 32 px, batch 64, hinge loss, "
        "1 D step, G on fresh z, G_ema", naive=False),
    "resnet-digits": Workload(
        "resnet-digits", "sngan", "digits", ["G.name=resnet_g", "D.name=resnet_d", "G.kwargs={z_dim: 128, ngf: 32}",
                                            "D.kwargs={ndf: 32, sn: true}", "loop.d_steps=5"],
        "sngan on digits with its CIFAR ResNets (the sngan-digits preset trains the standard CNN; wgan-gp's and "
        "projection's presets are ResNets): ResNet G and spectral-norm ResNet D, width 32, z 128, 32 px, "
        "batch 64, hinge loss, 5 D steps (5 batches) per G step, G on fresh z", naive=False),
    "biggan-digits": Workload(
        "biggan-digits", "biggan", "digits", [],
        "biggan on digits (biggan + biggan-digits presets): class-conditional BigGAN nets ch 16, shared embedding 128, z 128, "
        "self-attention at 16 px, SN in G and D, projection D, hinge + ortho 1e-4, 32 px, batch 32, "
        "1 D step per G step, ADA, G on fresh z, G_ema", naive=False),
    "progan-digits": Workload(
        "progan-digits", "progan", "digits", [],
        "progan on digits (progan + progan-digits presets): ProGAN nets channel_base 512 / max 128, z 128, 32 px, batch 32, "
        "WGAN-GP (10) + drift, 1 D step; timed in the last growth phase, fully grown to data.resolution with no "
        "fade-in (from step 2 x levels x steps_per_phase: 1800 at 32 px; the row's start_step)",
        naive=False, start_step=progan_grown_step),
    "stylegan2-digits": Workload(
        "stylegan2-digits", "stylegan2", "digits", [],
        "stylegan2 on digits (stylegan2 + stylegan2-digits presets): channel_base 512 / max 128, z = w = 128, "
        "32 px, 1 channel, batch 32, lazy R1 every 16 steps, path length every 4, style mixing 0.9, G_ema "
        "(FLOPs averaged over the 16-step cycle)", naive=False),
    "r3gan-digits": Workload(
        "r3gan-digits", "r3gan", "digits", ["G.name=r3gan_g", "D.name=r3gan_d", "G.kwargs={width: 32}",
                                           "D.kwargs={width: 32}", "options.reg_interval=1"],
        "r3gan on digits with its own nets (the r3gan-digits preset trains DCGAN nets): R3GAN nets (width 32, "
        "1 block per stage, cardinality 8), z 64, 32 px, batch 64, RpGAN + R1 + R2 (gamma 0.05) every step, "
        "1 D step, G_ema", naive=False),
}
# named sets for --workloads; the default is "naive" (the gankit-vs-tutorial comparison)
GROUPS = {
    "naive": [n for n, w in WORKLOADS.items() if w.naive],
    "families": [n for n, w in WORKLOADS.items() if not w.naive],
    "all": list(WORKLOADS),
}
DEFAULT_GROUP = "naive"
QUIET = ["loop.progress=false", "loop.tensorboard=false", "loop.sample_every=1000000",
         "loop.checkpoint_every=1000000", "loop.log_every=1000000", "loop.keep_checkpoints=1", "loop.n_samples=8"]


def _gankit_rates(cfg, steps: int, warmup: int, window: int, start: int = 0) -> list[float]:
    """Images/s of gankit's loop over ``window``-step windows after ``warmup`` steps (a hook
    stamps the time after step ``warmup`` and after every ``window`` steps from there, so
    set-up and the final checkpoint are not timed, and a GPU is synchronised only there).

    ``start``: the trainer's step counter begins there (freshly initialised nets, the batches
    from the first), so a recipe whose work depends on the step (ProGAN's growth) runs the
    steps ``start ..`` of a real run; ``cfg.loop.steps`` must be ``start + steps``."""
    from ..train import Trainer

    stamps: list[float] = []

    def stamp(st) -> None:
        done = st.step - start
        if done >= warmup and (done - warmup) % window == 0:
            sync()
            stamps.append(now())

    with tempfile.TemporaryDirectory() as tmp:
        tr = Trainer(cfg, tmp, hooks=[stamp]).setup()
        tr.step = start
        tr.run()
    bs = cfg.data.batch_size
    return [window * bs / (b - a) for a, b in itertools.pairwise(stamps)]


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


def gankit_flops(cfg, data, n: int, start: int = 0) -> int:
    """FLOPs per step of gankit's loop: steps ``start .. start + n - 1`` of a fresh run under
    the counter (uncompiled: the counter sees the same maths either way)."""
    from ..train import Trainer
    from ..train.resolve import resolve_loaded

    cfg = copy.deepcopy(cfg)
    cfg.loop.compile = False
    with tempfile.TemporaryDirectory() as tmp:
        tr = Trainer(resolve_loaded(cfg, data), tmp).setup()
        try:
            steps = iter(range(start, start + n))
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


def workload_config(w: Workload, steps: int = 60, precision: str = "auto", overrides: list[str] = ()):
    """The config a workload trains: ``build_config(recipe, data)`` with the workload's
    overrides, the bench's quiet loop settings, ``loop.precision`` and ``overrides``."""
    from ..presets import build_config

    return build_config(recipe=w.recipe, data=w.data, steps=steps,
                        overrides=w.overrides + QUIET + [f"loop.precision={precision}", *overrides])


def _sig(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")


def bench_workload(w: Workload, steps: int = 60, warmup: int = 10, window: int = 10, rounds: int = 2,
                   precision: str = "auto", overrides: list[str] = ()) -> dict:
    """One workload: ``rounds`` runs of ``steps`` timed steps each (alternating gankit and the
    naive reference when ``w.naive``); the medians of their timed windows and the ratio.
    ``overrides`` (``key=value``) change the workload's config for both loops (the naive one
    is built from the same resolved config).

    Per loop (``"gankit"``, and ``"naive"`` only for workloads with a reference): ``img_per_s``,
    ``s_per_step`` (seconds per training step in the bench's clock: ``batch_size / img_per_s``),
    ``precision``, ``flops_per_step``, ``gflops``, ``peak_gflops``, ``pct_of_peak``. Without a
    reference the row has no ``naive``, ``naive_img_per_s``, ``ratio`` or ``naive_windows``."""
    from ..data import load_data
    from ..train.precision import resolve_precision
    from ..train.setup import data_meta, pick_device

    if w.recipe not in RECIPES:
        return {"workload": w.name, "skipped": f"recipe {w.recipe!r} is not available yet"}
    cfg = workload_config(w, steps, precision, overrides)
    device = pick_device(cfg.loop.device)
    data = load_data(cfg.data)
    meta = data_meta(data)
    recipe_cls = RECIPES.get(cfg.recipe)
    rcfg = recipe_cls.resolve(copy.deepcopy(cfg), meta)
    start = int(w.start_step(rcfg)) if w.start_step is not None else 0
    cfg.loop.steps = rcfg.loop.steps = start + steps  # the timed run covers steps start .. start + steps - 1

    def naive_ref():
        torch.manual_seed(cfg.loop.seed)  # the same initial weights as gankit's run
        nets = {k: v.to(device) for k, v in recipe_cls(rcfg, meta).build_nets().items()}
        return make_naive(rcfg, nets, data)

    if w.naive and naive_ref() is None:
        return {"workload": w.name, "skipped": "no naive reference for this recipe yet"}
    ours, naive = [], []
    for _ in range(rounds):  # alternate so both loops see the same machine conditions
        ours += _gankit_rates(cfg, steps, warmup, window, start)
        if w.naive:
            naive += timed_rates(*naive_ref(), cfg.data.batch_size, steps, warmup, window)
    g = statistics.median(ours)
    cycle = _flops_cycle(recipe_cls, rcfg, meta)
    ours_prec = resolve_precision(cfg.loop.precision, device)
    bs = cfg.data.batch_size
    measured = [("gankit", g, ours_prec, gankit_flops(cfg, data, cycle, start))]
    if w.naive:
        n = statistics.median(naive)
        measured.append(("naive", n, "fp32", naive_flops(*naive_ref(), cycle)))
    loops = {}
    for name, rate, prec, flops in measured:
        peak = peak_for(prec, device)["peak_gflops"]
        loops[name] = {"img_per_s": round(rate, 2), "s_per_step": _sig(bs / rate), "precision": prec,
                       "peak_gflops": peak, **efficiency(flops, rate, bs, peak)}
    row = {"workload": w.name, "description": w.description, "recipe": cfg.recipe,
           "nets": {"G": cfg.G.name, "D": cfg.D.name}, "resolution": cfg.data.resolution, "batch_size": bs,
           "start_step": start, "device": str(device), "precision": ours_prec, "gankit_img_per_s": round(g, 2)}
    if w.naive:
        row.update(naive_img_per_s=round(n, 2), ratio=round(g / n, 2))
    row.update(loops)
    row["windows"] = len(ours)
    if w.naive:
        row["naive_windows"] = len(naive)
    row["threads"] = torch.get_num_threads()
    return row


def resolve_names(names: list[str] | None) -> list[str]:
    """Workload names from ``--workloads`` entries (workload or group names; default: the
    ``naive`` group), in order, without repeats; an unknown name is a one-line UserError."""
    out: list[str] = []
    for n in names or [DEFAULT_GROUP]:
        if n in GROUPS:
            out += GROUPS[n]
        elif n in WORKLOADS:
            out.append(n)
        else:
            raise UserError(f"--workloads: unknown workload {n!r}; choices: {', '.join(WORKLOADS)}, "
                            f"or a group: {', '.join(GROUPS)}")
    return list(dict.fromkeys(out))


def run_bench(names: list[str] | None = None, steps: int = 60, rounds: int = 2, precision: str = "auto",
              warmup: int = 10, window: int = 10, overrides: list[str] = (), clock: str = "wall") -> dict:
    """``gankit bench``: ``{"workloads": [one dict per workload], "peaks": [...]}`` (see
    :func:`bench_workload`). ``names``: workloads or groups (:data:`GROUPS`; default
    ``naive``). ``clock="cpu"`` times everything (steps and the peak) in process CPU seconds
    instead of wall seconds."""
    if clock not in CLOCKS:
        raise UserError(f"--clock must be one of {', '.join(CLOCKS)}, got {clock!r}")
    names = resolve_names(names)
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


def format_table(result: dict) -> str:
    """``gankit bench``'s text output: one row per workload, "-" where a workload has no naive
    reference, then each workload's description."""
    clock = result.get("clock", "wall")
    head = ("workload", "vs naive", "% of peak", "img/s", f"s/step ({clock})", "GFLOP/step", "GFLOP/s",
            "precision (peak GFLOP/s)", "naive img/s", "naive s/step", "naive % of fp32 peak")
    rows, notes = [], []
    for w in result["workloads"]:
        if "skipped" in w:
            notes.append(f"{w['workload']}: skipped: {w['skipped']}")
            continue
        g, n = w["gankit"], w.get("naive")
        rows.append((w["workload"], f"{w['ratio']:.2f}x" if n else "-", f"{g['pct_of_peak']:.3g}",
                     f"{g['img_per_s']:.1f}", f"{g['s_per_step']:.4g}", f"{g['flops_per_step'] / 1e9:.2f}",
                     f"{g['gflops']:.1f}", f"{g['precision']} ({g['peak_gflops']:.0f})",
                     f"{n['img_per_s']:.1f}" if n else "-", f"{n['s_per_step']:.4g}" if n else "-",
                     f"{n['pct_of_peak']:.3g}" if n else "-"))
        start = f" [timed from step {w['start_step']}]" if w.get("start_step") else ""
        notes.append(f"{w['workload']}: {w['description']}{start}")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)).rstrip()
             for r in [head, *rows]] if rows else []
    return "\n".join(lines + ([""] if lines and notes else []) + notes)
