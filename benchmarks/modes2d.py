"""Mode collapse on 2D mixtures: recipes x {ring8, grid25} x seeds, PacGAN protocol.

Issue #5, measurement 1. For every (recipe, data, seed):

1. **Train** the preset the CLI would use, ``gankit train --recipe R --data D --set
   loop.seed=S`` (``presets/<R>.yaml`` + ``presets/<R>-<D>.yaml``; the name ``recommended``
   means no ``--recipe``, i.e. the recipe and preset ``gankit train --data D`` picks), in this
   process on one torch thread, timing wall (``time.perf_counter``) and process CPU
   (``time.process_time``) around ``gankit.train.train``. Sample grids and checkpoints are
   written only at the end.
2. **Evaluate** ``gankit eval --checkpoint RUN --metrics modes --n 2500 --json`` (the library
   function, in this process): modes captured, % high quality (within 3 std of the nearest
   mean), reverse KL of the high-quality histogram to uniform (PacGAN, Lin et al. 2018, Table 1).

Each run lands in ``OUT/<data>/<name>/seed<S>/`` with ``result.json``; a rerun reuses finished
runs, so an interrupted sweep resumes. Prints one Markdown table (mean ± std over seeds) and
saves ``OUT/modes-<data>.png``: one scatter panel per recipe (seed 0) over the real means.

    OMP_NUM_THREADS=1 python benchmarks/modes2d.py --out /tmp/gk-modes/bench

A recipe can be given variants: ``NAME=RECIPE+key=value+key=value`` (``--set`` overrides), e.g.
``pacgan-m2=pacgan+options.pack=2``.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import time
from pathlib import Path

import torch

RECIPES = ["gan", "wgan-gp", "pacgan", "recommended"]
DATA = ["grid25", "ring8"]
COMMON = ["loop.threads=1", "loop.progress=false", "loop.tensorboard=false", "loop.keep_checkpoints=1"]
KEYS = ["modes", "high_quality", "reverse_kl", "wall_s", "cpu_s"]  # the table's columns (mean ± std)


def split_specs(text: str) -> list[str]:
    """A comma list of specs -> the specs; a comma inside ``[..]`` or ``{..}`` belongs to a value
    (``NAME=RECIPE+optim_g.betas=[0.5, 0.999]+D.kwargs={ndf: 16, sn: true}``), and so does one
    inside quotes (``+augment.policy='translation,cutout'``)."""
    specs, cur, depth, quote = [], "", 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            specs.append(cur)
            cur = ""
            continue
        cur += ch
    return [*specs, cur]


def parse_spec(spec: str) -> tuple[str, str | None, list[str]]:
    """``NAME=RECIPE+k=v+k=v``, ``RECIPE`` or ``recommended`` -> (name, recipe or None, overrides)."""
    name, recipe, over = spec, spec, []
    if "=" in spec.split("+", 1)[0]:
        name, rest = spec.split("=", 1)
        recipe, *over = rest.split("+")
    else:
        recipe, *over = spec.split("+")
    # a quoted value (kept whole by split_specs) is passed as the shell would: without its quotes
    over = [re.sub(r"""^([^=]+)=(['"])(.*)\2$""", r"\1=\3", o) for o in over]
    return name, (None if recipe == "recommended" else recipe), over


def config_for(recipe: str | None, data: str, seed: int, overrides: list[str], steps: int | None = None):
    """The config ``gankit train [--recipe R] --data D --set loop.seed=S`` resolves, with grids
    and the checkpoint written only at the end (they are not part of the timed work)."""
    from gankit.presets import build_config

    cfg = build_config(recipe=recipe, data=data, steps=steps, overrides=[*COMMON, f"loop.seed={seed}", *overrides])
    n = max(cfg.loop.steps, 1)
    from gankit.config import apply_overrides

    return apply_overrides(cfg, [f"loop.sample_every={n}", f"loop.checkpoint_every={n}",
                                 f"loop.log_every={min(cfg.loop.log_every, n)}"])


def run_one(name: str, recipe: str | None, data: str, seed: int, overrides: list[str], out: Path,
            steps: int | None = None, n: int = 2500) -> dict:
    """Train and evaluate one (recipe, data, seed) into ``out/data/name/seed<S>`` (cached)."""
    import gankit
    from gankit.metrics.evaluate import evaluate, json_safe
    from gankit.train import train

    run = out / data / name / f"seed{seed}"
    done = run / "result.json"
    if done.is_file():
        return json.loads(done.read_text())
    torch.set_num_threads(1)
    cfg = config_for(recipe, data, seed, overrides, steps)
    load0 = _load()
    t0, c0 = time.perf_counter(), time.process_time()
    ckpt = train(cfg, run / "run")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ev = json_safe(evaluate(gankit.load(ckpt), metrics="modes", n=n, seed=0))
    res = {"name": name, "recipe": cfg.recipe, "data": data, "seed": seed, "steps": cfg.loop.steps,
           "overrides": overrides, "checkpoint": str(ckpt), "wall_s": wall, "cpu_s": cpu,
           "load_start": load0, "load_end": _load(),
           **{k: ev[k] for k in ("modes", "modes_total", "high_quality", "reverse_kl")},
           "command": f"gankit train {'--recipe ' + cfg.recipe + ' ' if recipe else ''}--data {data} "
                      f"--set loop.seed={seed} {' '.join('--set ' + o for o in overrides)}".rstrip()
                      + f" && gankit eval --checkpoint RUN --metrics modes --n {n} --json"}
    done.write_text(json.dumps(res, indent=1))
    return res


def summarize(results: list[dict]) -> dict:
    """mean and std (population std over seeds; 0 for one seed) of :data:`KEYS`, plus counts."""
    out = {"runs": len(results), "recipe": results[0]["recipe"], "steps": results[0]["steps"],
           "modes_total": results[0]["modes_total"]}
    for k in KEYS:
        v = [_num(r[k]) for r in results]
        out[k] = statistics.fmean(v)
        out[k + "_std"] = statistics.pstdev(v) if len(v) > 1 else 0.0
    return out


def table(rows: dict[tuple[str, str], dict]) -> str:
    """Markdown: one row per (data, name) with mean ± std over seeds."""
    lines = ["| data | recipe | (resolved) | steps | seeds | modes | high quality % | reverse KL | wall s | CPU s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (data, name), s in rows.items():
        lines.append(
            f"| {data} | {name} | {s['recipe']} | {s['steps']} | {s['runs']} "
            f"| {s['modes']:.1f} ± {s['modes_std']:.1f} / {s['modes_total']:.0f} "
            f"| {s['high_quality']:.1f} ± {s['high_quality_std']:.1f} "
            f"| {s['reverse_kl']:.3f} ± {s['reverse_kl_std']:.3f} "
            f"| {s['wall_s']:.0f} ± {s['wall_s_std']:.0f} | {s['cpu_s']:.0f} ± {s['cpu_s_std']:.0f} |")
    return "\n".join(lines)


def scatter(data: str, panels: list[tuple[str, dict]], path: Path, n: int = 2500) -> Path:
    """One panel per recipe: ``n`` samples of its seed-0 checkpoint (blue) over the mixture
    means with their 3-std circles (red), titled with that run's numbers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import gankit

    k = len(panels)
    fig, axes = plt.subplots(1, k, figsize=(2.6 * k, 2.9), squeeze=False)
    for ax, (name, r) in zip(axes[0], panels):
        model = gankit.load(r["checkpoint"])
        x = model.sample(n, seed=0).detach().float().numpy().reshape(n, -1)
        info = model.meta["info"]
        mu = torch.tensor(info["means"]).numpy()
        lim = float(abs(mu).max()) * 1.5
        ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.35, c="tab:blue", linewidths=0)
        ax.scatter(mu[:, 0], mu[:, 1], s=6, c="tab:red", marker="x", linewidths=0.6)
        for m in mu:
            ax.add_patch(plt.Circle(m, 3 * float(info["std"]), fill=False, color="tab:red", lw=0.4))
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{name}\n{r['modes']:.0f}/{r['modes_total']:.0f} modes, {r['high_quality']:.1f}% HQ, "
                     f"KL {_num(r['reverse_kl']):.3f}", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def sweep(specs: list[str], datas: list[str], seeds: list[int], out: Path, steps: int | None = None,
          n: int = 2500, plots: bool = True, log=print) -> dict[tuple[str, str], dict]:
    """Run every (data, spec, seed) in that order (data outermost); return the summaries."""
    rows: dict[tuple[str, str], dict] = {}
    for data in datas:
        panels = []
        for spec in specs:
            name, recipe, over = parse_spec(spec)
            results = []
            for seed in seeds:
                r = run_one(name, recipe, data, seed, over, out, steps=steps, n=n)
                log(f"{data} {name} seed {seed}: {r['modes']:.0f}/{r['modes_total']:.0f} modes, "
                    f"{r['high_quality']:.2f}% HQ, KL {_num(r['reverse_kl']):.4f}, "
                    f"{r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} s CPU (load {r['load_end']:.1f})")
                results.append(r)
            rows[(data, name)] = summarize(results)
            panels.append((name, results[0]))
        if plots:
            scatter(data, panels, out / f"modes-{data}.png", n=n)
    (out / "summary.json").write_text(json.dumps({f"{d}/{k}": v for (d, k), v in rows.items()}, indent=1))
    return rows


def _num(v) -> float:
    """A result value as a float (``None``, JSON's stand-in for NaN, e.g. the reverse KL of a
    run with no high-quality sample, becomes NaN)."""
    return math.nan if v is None else float(v)


def _load() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return math.nan


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="/tmp/gk-modes/bench")
    p.add_argument("--recipes", default=",".join(RECIPES), help="comma list of RECIPE or NAME=RECIPE+k=v")
    p.add_argument("--data", default=",".join(DATA))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--steps", type=int, default=None, help="override every preset's length (smoke runs)")
    p.add_argument("--n", type=int, default=2500, help="samples per evaluation (PacGAN: 2,500)")
    p.add_argument("--no-plots", action="store_true")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = sweep(split_specs(a.recipes), a.data.split(","), [int(s) for s in a.seeds.split(",")], out,
                 steps=a.steps, n=a.n, plots=not a.no_plots, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
