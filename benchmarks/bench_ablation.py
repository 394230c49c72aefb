"""Where gankit's speed-up over the naive loop comes from: an ablation on one workload.

Runs, alternating round by round so machine load hits every variant alike:

* ``naive``: the tutorial-style reference (:mod:`gankit.bench.naive`);
* ``plain``: gankit's loop with every speed feature off (fp32, NCHW, for-loop Adam, a fresh
  G forward for the G phase), so ``plain / naive`` is the loop itself (its bookkeeping,
  in-memory batching, set_to_none, the finiteness check, ...);
* ``+bf16``, ``+channels_last``, ``+fused_adam``, ``+shared_fake``: ``plain`` with one
  feature on;
* ``full``: gankit's defaults (what ``gankit bench`` measures), and ``full-check_finite``:
  the defaults without the per-phase finiteness check of losses and gradients.

Prints one JSON object: per variant the median images/s of its timed windows and the ratio to
``naive``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_ablation.py --workload dcgan32 --json

The ``fp32...`` variants are for fp32 machines; reproduce an AVX2-only CPU on an AVX-512 one with
``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2``.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import statistics

import torch

from gankit.bench.naive import timed_rates, use_clock
from gankit.bench.throughput import GROUPS, QUIET, WORKLOADS, _gankit_rates, make_naive
from gankit.data import load_data
from gankit.presets import build_config
from gankit.registry import RECIPES
from gankit.train.setup import data_meta

PLAIN = ["loop.precision=fp32", "loop.channels_last=false", "optim_g.fused=false", "optim_d.fused=false"]
VARIANTS = {  # name -> (overrides on top of the workload, share_fake)
    "plain": (PLAIN, False),
    "+bf16": ([*PLAIN, "loop.precision=bf16"], False),
    "+channels_last": ([*PLAIN, "loop.channels_last=true"], False),
    "+fused_adam": ([*PLAIN, "optim_g.fused=true", "optim_d.fused=true"], False),
    "+shared_fake": (PLAIN, True),
    "full": (["loop.precision=auto"], True),
    "full-check_finite": (["loop.precision=auto", "loop.check_finite=false"], True),
    # fp32 machines (AVX2-only CPUs, or ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2)
    "fp32": (["loop.precision=fp32"], True),
    "fp32-channels_last": (["loop.precision=fp32", "loop.channels_last=false"], True),
    "fp32-check_finite": (["loop.precision=fp32", "loop.check_finite=false"], True),
    "fp32+compile": (["loop.precision=fp32", "loop.compile=true"], True),
}


@contextlib.contextmanager
def share_fake(recipe_cls, on: bool):
    old = recipe_cls.__dict__.get("share_fake")
    recipe_cls.share_fake = on
    try:
        yield
    finally:
        if old is None:
            del recipe_cls.share_fake
        else:
            recipe_cls.share_fake = old


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", default="dcgan32", choices=GROUPS["naive"])  # the ones with a naive loop
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset")
    ap.add_argument("--clock", default="wall", choices=["wall", "cpu"], help="wall or process CPU seconds")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with use_clock(args.clock):
        return run(args)


def run(args) -> dict:
    w = WORKLOADS[args.workload]
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    recipe_cls = RECIPES.get(w.recipe)
    rates: dict[str, list[float]] = {"naive": [], **{n: [] for n in names}}
    for _ in range(args.rounds):
        base = build_config(recipe=w.recipe, data=w.data, steps=args.steps, overrides=w.overrides + QUIET)
        data = load_data(base.data)
        rcfg = recipe_cls.resolve(copy.deepcopy(base), data_meta(data))
        torch.manual_seed(base.loop.seed)
        ref = make_naive(rcfg, recipe_cls(rcfg, data_meta(data)).build_nets(), data)
        rates["naive"] += timed_rates(*ref, base.data.batch_size, args.steps, args.warmup, args.window)
        for name in names:
            overrides, shared = VARIANTS[name]
            cfg = build_config(recipe=w.recipe, data=w.data, steps=args.steps,
                               overrides=w.overrides + QUIET + overrides)
            with share_fake(recipe_cls, shared):
                rates[name] += _gankit_rates(cfg, args.steps, args.warmup, args.window)
    naive = statistics.median(rates["naive"])
    out = {"workload": w.name, "threads": torch.get_num_threads(), "clock": args.clock,
           "cpu_capability": torch.backends.cpu.get_cpu_capability(), "variants": {
        k: {"img_per_s": round(statistics.median(v), 1), "ratio_to_naive": round(statistics.median(v) / naive, 2),
            "windows": len(v)} for k, v in rates.items()}}
    print(json.dumps(out) if args.json else json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
