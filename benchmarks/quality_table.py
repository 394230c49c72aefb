"""The quality table (issue #16): recommended presets and major recipes on the four benchmarks.

Benchmarks and their scores, all from the project's own ``gankit eval``:

* ``grid25`` / ``ring8``: modes, % high quality, reverse KL of 2,500 samples (PacGAN protocol,
  ``benchmarks/modes2d.py``);
* ``stacked-digits``: modes of 1,000 and KL of 26,000 samples (``benchmarks/stacked.py``);
* ``digits``: FID with the ``digits`` extractor (``gankit eval --metrics fid --extractor digits``,
  2,000 samples), beside the real-vs-real FID of the same extractor.

A row is a spec (``recommended`` = what ``gankit train --data D`` picks, or ``RECIPE`` or
``NAME=RECIPE+key=value+...`` as in ``modes2d.py``) on one benchmark, trained for seeds 0, 1, 2
in this process on one torch thread (wall and process CPU time around ``gankit.train.train``),
mean ± std over the seeds. Every run is cached under ``OUT/<bench>/<name>/seed<S>/result.json``,
so an interrupted table resumes where it stopped (per run, hence per row).

    OMP_NUM_THREADS=1 python benchmarks/quality_table.py --out /tmp/gk-quality \\
        --bench grid25,ring8 --specs recommended,r3gan,gan,pacgan,wgan-gp

Hold ``flock /work/heavy.lock`` (or run nothing else) while it runs: the CPU times are only
meaningful one job per core.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import modes2d
import stacked

BENCHES = ["grid25", "ring8", "stacked-digits", "digits"]
SPECS = ["recommended", "r3gan", "gan", "dcgan", "wgan-gp", "pacgan", "sngan", "stylegan2"]
N_FID = 2000
COLUMNS = {  # the scores of each benchmark: (key, header, format)
    "2d": [("modes", "modes", ".1f"), ("high_quality", "HQ %", ".1f"), ("reverse_kl", "reverse KL", ".3f")],
    "stacked-digits": [("modes", "modes (of 1,000)", ".0f"), ("reverse_kl", "KL", ".3f")],
    "digits": [("fid", "FID (digits)", ".2f")],
}
POINT_ONLY = {"gan", "wgan-gp", "pacgan"}  # recipes whose presets are MLPs on points
IMAGE_ONLY = {"dcgan", "sngan", "stylegan2"}


def kind(bench: str) -> str:
    return "2d" if bench in ("grid25", "ring8") else bench


def applies(recipe: str | None, bench: str) -> bool:
    """Whether a recipe's preset nets fit the benchmark's data (MLPs for points, convs for images)."""
    if recipe in POINT_ONLY and kind(bench) != "2d" and recipe != "pacgan":
        return False
    return not (recipe in IMAGE_ONLY and kind(bench) == "2d")


def run_digits(name: str, recipe: str | None, seed: int, overrides: list[str], out: Path,
               steps: int | None = None, n: int = N_FID) -> dict:
    """Train ``gankit train [--recipe R] --data digits --set loop.seed=S`` and score it with
    ``gankit eval --checkpoint RUN --metrics fid --extractor digits --n N`` (cached)."""
    return stacked.run_one(name, recipe, seed, overrides, out, steps=steps, n=n, data="digits", metrics="fid",
                           extractor="digits", keys=("fid",))


def run_one(bench: str, spec: str, seed: int, out: Path, steps: int | None = None) -> dict:
    name, recipe, over = modes2d.parse_spec(spec)
    where = out / bench
    if kind(bench) == "2d":
        res = modes2d.run_one(name, recipe, bench, seed, over, out, steps=steps)
    elif bench == "stacked-digits":
        res = stacked.run_one(name, recipe, seed, over, where, steps=steps)
    else:
        res = run_digits(name, recipe, seed, over, where, steps=steps)
    res["command"] = (f"gankit train {'--recipe ' + recipe + ' ' if recipe else ''}--data {bench} "
                      f"--set loop.seed={seed} --set loop.threads=1 "
                      + " ".join("--set " + o for o in over)).rstrip()
    return res


def summarize(results: list[dict], bench: str) -> dict:
    s = {"runs": len(results), "recipe": results[0]["recipe"], "steps": results[0]["steps"],
         "command": re.sub(r"loop\.seed=\d+", "loop.seed=S", results[0]["command"])}
    for key in [c[0] for c in COLUMNS[kind(bench)]] + ["cpu_s", "wall_s"]:
        v = [modes2d._num(r[key]) for r in results]
        s[key], s[key + "_std"] = statistics.fmean(v), (statistics.pstdev(v) if len(v) > 1 else 0.0)
    return s


def table(bench: str, rows: dict[str, dict]) -> str:
    cols = COLUMNS[kind(bench)]
    head = ["spec", "recipe", "steps", "seeds", *[c[1] for c in cols], "CPU s", "wall s", "command"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, s in rows.items():
        vals = [f"{s[k]:{f}} ± {s[k + '_std']:{f}}" for k, _, f in cols]
        lines.append(f"| {name} | {s['recipe']} | {s['steps']} | {s['runs']} | " + " | ".join(vals)
                     + f" | {s['cpu_s']:.0f} ± {s['cpu_s_std']:.0f} | {s['wall_s']:.0f} | `{s['command']}` |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="/tmp/gk-quality")
    p.add_argument("--bench", default=",".join(BENCHES))
    p.add_argument("--specs", default=",".join(SPECS), help="comma list of recommended, RECIPE or NAME=RECIPE+k=v")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--steps", type=int, default=None, help="override every preset's length (smoke runs)")
    a = p.parse_args(argv)
    out = Path(a.out)
    seeds = [int(s) for s in a.seeds.split(",")]
    summary = {}
    for bench in a.bench.split(","):
        rows = {}
        for spec in modes2d.split_specs(a.specs):
            name, recipe, _ = modes2d.parse_spec(spec)
            if not applies(recipe, bench):
                continue
            results = []
            for seed in seeds:
                r = run_one(bench, spec, seed, out, a.steps)
                print(f"{bench} {name} seed {seed}: " + ", ".join(
                    f"{k} {modes2d._num(r[k]):.4g}" for k, _, _ in COLUMNS[kind(bench)])
                    + f", {r['cpu_s']:.0f} CPU s", flush=True)
                results.append(r)
            rows[name] = summarize(results, bench)
        print(f"\n### {bench}\n\n{table(bench, rows)}\n", flush=True)
        summary[bench] = rows
    (out / "quality.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
