"""Where a training step's time goes: torch.profiler over gankit's loop and the naive reference.

Trains ``--steps`` steps of a ``gankit bench`` workload with each loop under
``torch.profiler`` (CPU) and prints, per loop, the ops with the most self CPU time and the
share of the total by op family (convolutions, batch norm, optimizer, elementwise, ...).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/profile_step.py --workload dcgan32 --steps 15
"""
from __future__ import annotations

import argparse
import copy
import re
import tempfile

import torch
from torch.profiler import ProfilerActivity, profile

from gankit.bench.naive import timed_rates
from gankit.bench.throughput import GROUPS, QUIET, WORKLOADS, make_naive
from gankit.data import load_data
from gankit.presets import build_config
from gankit.registry import RECIPES
from gankit.train import train
from gankit.train.setup import data_meta

FAMILIES = [  # (name, regex on the op name), first match wins
    ("conv backward", r"convolution_backward|mkldnn_convolution_backward|conv.*backward"),
    ("conv forward", r"conv|mkldnn_convolution"),
    ("batch norm", r"batch_norm"),
    ("optimizer", r"adam|_foreach|_fused"),
    ("dtype casts", r"aten::to$|_to_copy|copy_"),
    ("activations/elementwise", r"relu|tanh|sigmoid|leaky|mul|add|div|sub|where|softplus|binary_cross"),
]


def summary(prof, label: str, top: int) -> None:
    events = [e for e in prof.key_averages() if not e.key.startswith("ProfilerStep")]
    total = sum(e.self_cpu_time_total for e in events)
    fam = {name: 0.0 for name, _ in FAMILIES}
    fam["other"] = 0.0
    for e in events:
        for name, pat in FAMILIES:
            if re.search(pat, e.key):
                fam[name] += e.self_cpu_time_total
                break
        else:
            fam["other"] += e.self_cpu_time_total
    print(f"\n== {label}: {total / 1e6:.2f} s self CPU")
    for name, t in sorted(fam.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<26} {100 * t / total:5.1f} %")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", default="dcgan32", choices=GROUPS["naive"])  # the ones with a naive loop
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--set", action="append", default=[], help="config override (gankit's loop)")
    args = ap.parse_args(argv)
    w = WORKLOADS[args.workload]
    cfg = build_config(recipe=w.recipe, data=w.data, steps=args.steps, overrides=w.overrides + QUIET + args.set)
    data = load_data(cfg.data)
    recipe_cls = RECIPES.get(cfg.recipe)
    rcfg = recipe_cls.resolve(copy.deepcopy(cfg), data_meta(data))
    torch.manual_seed(cfg.loop.seed)
    ref = make_naive(rcfg, recipe_cls(rcfg, data_meta(data)).build_nets(), data)
    timed_rates(*ref, cfg.data.batch_size, 3, 1, 1)  # warm up the naive side outside the profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        timed_rates(*ref, cfg.data.batch_size, args.steps, 1, 1)
    summary(prof, f"naive {w.name}, {args.steps} steps", args.top)
    with tempfile.TemporaryDirectory() as tmp, profile(activities=[ProfilerActivity.CPU]) as prof:
        train(cfg, tmp)
    summary(prof, f"gankit {w.name}, {args.steps} steps (incl. set-up and 1 warm-up-like first step)", args.top)


if __name__ == "__main__":
    main()
