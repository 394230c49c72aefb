"""Mode collapse on stacked digits (1,000 modes): modes captured and KL with 26,000 samples.

Issue #5, measurement 2 (PacGAN, Lin et al. 2018, Table 2 protocol on the sklearn digits).
For every recipe spec and seed:

1. **Train** the preset ``gankit train --recipe R --data stacked-digits --set loop.seed=S``
   (``presets/<R>.yaml`` + ``presets/<R>-stacked-digits.yaml``) in this process on one torch
   thread, timing wall and process CPU around ``gankit.train.train``.
2. **Evaluate** ``gankit eval --checkpoint RUN --metrics modes --n 26000 --json``: each of the
   3 channels of a sample is classified by the shipped ``digits`` classifier; a mode (one of
   the 1,000 digit triples) is captured when at least one sample lands in it; ``reverse_kl``
   is KL(q || uniform) of the histogram q of the samples over the 1,000 modes. (With 26,000
   real samples KL is not 0 but about (K - 1) / 2N = 0.019.)

Runs land in ``OUT/<name>/seed<S>/`` with ``result.json`` (a rerun reuses finished runs);
a Markdown table is printed and ``OUT/stacked-<name>.png`` holds 64 samples of each run.

    OMP_NUM_THREADS=1 python benchmarks/stacked.py --out /tmp/gk-modes/stacked

Specs as in ``benchmarks/modes2d.py``: ``NAME=RECIPE+key=value+...``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from modes2d import COMMON, _load, parse_spec, split_specs  # noqa: E402

RECIPES = ["dcgan", "pacgan"]
N_EVAL = 26_000  # PacGAN / VEEGAN evaluation sample size


def run_one(name: str, recipe: str | None, seed: int, overrides: list[str], out: Path,
            steps: int | None = None, n: int = N_EVAL, data: str = "stacked-digits", metrics: str = "modes",
            extractor: str | None = None, keys: tuple = ("modes", "modes_total", "reverse_kl", "channel_kl", "confidence")) -> dict:
    """Train and evaluate one (recipe, seed) on ``data`` into ``out/name/seed<S>`` (cached);
    the result keeps the evaluation's ``keys`` (``benchmarks/quality_table.py`` reuses it for
    digits FID)."""
    import gankit
    from gankit.config import apply_overrides
    from gankit.metrics.evaluate import evaluate, json_safe
    from gankit.presets import build_config
    from gankit.train import train
    from gankit.train.precision import cpu_has_fast_bf16, resolve_precision
    from gankit.train.setup import pick_device

    run = out / name / f"seed{seed}"
    done = run / "result.json"
    if done.is_file():
        return json.loads(done.read_text())
    torch.set_num_threads(1)
    cfg = build_config(recipe=recipe, data=data, steps=steps,
                       overrides=[*COMMON, f"loop.seed={seed}", *overrides])
    s = max(cfg.loop.steps, 1)
    # one sample grid at the end; the preset's checkpoint cadence stays, so a divergence guard that
    # asks for a rollback finds a checkpoint to roll back to, as in the user's own run
    cfg = apply_overrides(cfg, [f"loop.sample_every={s}"])
    load0 = _load()
    t0, c0 = time.perf_counter(), time.process_time()
    ckpt = train(cfg, run / "run")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    e0 = time.perf_counter()
    ev = json_safe(evaluate(gankit.load(ckpt), metrics=metrics, n=n, extractor=extractor, seed=0))
    res = {"name": name, "recipe": cfg.recipe, "seed": seed, "steps": cfg.loop.steps, "overrides": overrides,
           "checkpoint": str(ckpt), "wall_s": wall, "cpu_s": cpu, "eval_wall_s": time.perf_counter() - e0,
           "load_start": load0, "load_end": _load(), "n": n,
           # what the run's arithmetic was on this machine (loop.precision auto: bf16 where the CPU has it)
           "precision": resolve_precision(cfg.loop.precision, pick_device(cfg.loop.device)),
           "cpu_bf16": cpu_has_fast_bf16(),
           **{k: ev[k] for k in keys}}
    done.write_text(json.dumps(res, indent=1))
    return res


def table(results: list[dict]) -> str:
    lines = ["| recipe | (resolved) | steps | seed | modes (of 1,000) | KL | train wall s | train CPU s | load |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['name']} | {r['recipe']} | {r['steps']} | {r['seed']} | {r['modes']:.0f} "
                     f"| {r['reverse_kl']:.3f} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} "
                     f"| {r['load_start']:.1f}–{r['load_end']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="/tmp/gk-modes/stacked")
    p.add_argument("--recipes", default=",".join(RECIPES), help="comma list of RECIPE or NAME=RECIPE+k=v")
    p.add_argument("--seeds", default="0")
    p.add_argument("--steps", type=int, default=None, help="override every preset's length")
    p.add_argument("--n", type=int, default=N_EVAL)
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for spec in split_specs(a.recipes):
        name, recipe, over = parse_spec(spec)
        for seed in [int(s) for s in a.seeds.split(",")]:
            r = run_one(name, recipe, seed, over, out, steps=a.steps, n=a.n)
            print(f"{name} seed {seed}: {r['modes']:.0f}/1000 modes, KL {r['reverse_kl']:.3f}, "
                  f"{r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} s CPU", file=sys.stderr, flush=True)
            results.append(r)
    (out / "summary.json").write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
