"""Every image recipe on digits at 32 px for the same single-thread CPU budget, then scored.

Issue #5, measurement 3. The comparison is fair on a shared machine because the budget is CPU
time, not wall time:

1. **Timing.** Each recipe's preset (``presets/<recipe>.yaml`` + ``<recipe>-digits.yaml``) is
   trained for ``--time-steps`` steps in this process on one torch thread, and a loop hook
   reads the process CPU time (``time.process_time``) after every step. CPU seconds per step =
   (t[last] - t[warm]) / (last - warm), i.e. without the first ``--warm`` steps (allocation,
   oneDNN kernel selection). The recipes are timed in ``--rounds`` interleaved rounds (all of
   round 1, then all of round 2, ...) and the median is kept, so a burst of load on the
   shared machine hits every recipe alike. Sample grids and checkpoints are left out of both
   the timing and the budgeted run (they are written only at the end).
2. **Training.** steps = round(budget / sec_per_step): every recipe gets the same CPU seconds.
   ProGAN's growth schedule is scaled with its length (``options.steps_per_phase = steps //
   10``, the preset's 6 growth phases + 4 at full size), and it is timed on the same schedule.
3. **Scoring.** ``gankit eval --checkpoint RUN --metrics fid,kid,prdc[,class_acc] --n N --json``
   (the library function the CLI calls, in this process) with the ``digits`` extractor, plus
   the real-vs-real row (``gankit eval --real-vs-real --data digits``). Class-conditional
   recipes also get class_acc and the per-class accuracy of samples asked for each digit.

Everything lands in ``--out`` (timing.json, one run directory and one ``eval.json`` per recipe);
a rerun reuses what is already there, so an interrupted sweep resumes. Prints a Markdown table.

    OMP_NUM_THREADS=1 python benchmarks/digits_table.py --out /tmp/gk-digits --budget 180

A recipe can be given variants: ``NAME=RECIPE+key=value+key=value`` (``--set`` overrides), e.g.
``acgan-realcls=acgan+options.d_fake_class=false``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

RECIPES = ["dcgan", "cgan", "wgan", "wgan-gp", "lsgan", "hinge", "pacgan", "sngan", "sagan", "acgan",
           "projection", "infogan", "biggan", "progan", "stylegan2"]
COMMON = ["loop.threads=1", "loop.progress=false", "loop.tensorboard=false", "data.resolution=32"]
METRIC_KEYS = ["fid", "kid", "precision", "recall", "density", "coverage", "class_acc"]


def parse_spec(spec: str) -> tuple[str, str, list[str]]:
    """``NAME=RECIPE+k=v+k=v`` or ``RECIPE`` -> (name, recipe, overrides)."""
    if "=" not in spec:
        return spec, spec, []
    name, rest = spec.split("=", 1)
    recipe, *over = rest.split("+")
    return name, recipe, over


def config_for(recipe: str, steps: int, overrides: list[str]):
    """The preset config for ``recipe`` on digits, ``steps`` long, grids/checkpoints only at the end."""
    from gankit.presets import build_config

    over = [*COMMON, f"loop.sample_every={max(steps, 1)}", f"loop.checkpoint_every={max(steps, 1)}",
            "loop.keep_checkpoints=1", "loop.log_every=" + str(min(50, max(steps, 1)))]
    if recipe == "progan":  # the preset's proportions: 6 growth phases, then 4 phases at full size
        over.append(f"options.steps_per_phase={max(steps // 10, 1)}")
    return build_config(recipe=recipe, data="digits", steps=steps, overrides=over + list(overrides))


def time_recipe(recipe: str, overrides: list[str], steps: int, warm: int, workdir: Path) -> float:
    """CPU seconds per step of ``recipe`` over steps ``warm..steps`` (see the module docstring)."""
    import shutil

    from gankit.train import train

    torch.set_num_threads(1)
    cfg = config_for(recipe, steps, overrides)
    stamps: dict[int, float] = {}

    def hook(st):
        stamps[st.step] = time.process_time()

    run = workdir / "timing-run"
    shutil.rmtree(run, ignore_errors=True)
    stamps[0] = time.process_time()
    train(cfg, run, hooks=[hook])
    shutil.rmtree(run, ignore_errors=True)
    return (stamps[steps] - stamps[warm]) / (steps - warm)


def measure_timing(specs, out: Path, steps: int, warm: int, rounds: int) -> dict:
    """Interleaved timing rounds; cached in ``out/timing.json`` (recipes already there are kept)."""
    f = out / "timing.json"
    timing = json.loads(f.read_text()) if f.is_file() else {}
    todo = [s for s in specs if s[0] not in timing]
    samples: dict[str, list[float]] = {s[0]: [] for s in todo}
    for r in range(rounds):
        for name, recipe, over in todo:
            sps = time_recipe(recipe, over, steps, warm, out)
            samples[name].append(sps)
            print(f"timing round {r + 1}/{rounds}: {name:<16} {sps:.4f} CPU s/step", file=sys.stderr, flush=True)
    for name, v in samples.items():
        timing[name] = {"sec_per_step": statistics.median(v), "rounds": v, "steps": steps, "warm": warm}
    f.write_text(json.dumps(timing, indent=1))
    return timing


def train_budgeted(name: str, recipe: str, over: list[str], steps: int, out: Path) -> dict:
    """Train ``steps`` steps into ``out/name`` (skipped if it already finished); wall and CPU time."""
    from gankit.train import train

    run = out / name
    done = run / "train.json"
    if done.is_file():
        return json.loads(done.read_text())
    torch.set_num_threads(1)
    cfg = config_for(recipe, steps, over)
    t0, c0 = time.perf_counter(), time.process_time()
    ckpt = train(cfg, run)
    info = {"recipe": recipe, "overrides": over, "steps": steps, "checkpoint": str(ckpt),
            "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
            "load": _load()}
    done.write_text(json.dumps(info, indent=1))
    return info


def per_class_accuracy(run: Path, n_per_class: int = 200, seed: int = 0) -> list[float]:
    """Share of samples asked for digit k that the digits classifier calls k, for k = 0..9."""
    import gankit
    from gankit.generate import sample
    from gankit.metrics.extractors import get_extractor

    model = gankit.load(run)
    ncls = int(model.meta.get("num_classes") or 0) if getattr(model.generator, "num_classes", 0) else 0
    ext = get_extractor("digits", model.meta)
    accs = []
    for k in range(ncls):
        _, probs = ext.extract(sample(model, n_per_class, seed=seed + k, class_=k))  # probs [N, 1, 10]
        accs.append(float((probs[:, 0].argmax(1) == k).float().mean()))
    return accs


def evaluate_run(name: str, run: Path, conditional: bool, n: int) -> dict:
    """``gankit eval --checkpoint run --metrics fid,kid,prdc[,class_acc] --n n --json`` (cached)."""
    from gankit.metrics.evaluate import json_safe
    from gankit.metrics.evaluate import run as eval_run

    f = run / "eval.json"
    if f.is_file():
        return json.loads(f.read_text())
    torch.set_num_threads(1)
    metrics = "fid,kid,prdc" + (",class_acc" if conditional else "")
    res = json_safe(eval_run(str(run), metrics, n, "digits"))
    if conditional:
        res["per_class_acc"] = per_class_accuracy(run)
    res["command"] = f"gankit eval --checkpoint {run} --metrics {metrics} --extractor digits --n {n} --json"
    f.write_text(json.dumps(res, indent=1))
    return res


def real_vs_real(out: Path) -> dict:
    from gankit.metrics.evaluate import json_safe
    from gankit.metrics.evaluate import run as eval_run

    f = out / "real_vs_real.json"
    if f.is_file():
        return json.loads(f.read_text())
    res = json_safe(eval_run(None, "fid,kid,prdc", None, "digits", real_vs_real_mode=True, data="digits"))
    f.write_text(json.dumps(res, indent=1))
    return res


def stylegan2_pictures(run: Path, img_dir: Path, n_sources: int = 32) -> list[dict]:
    """The StyleGAN2 control pictures from a trained run, and how the digit follows the styles.

    Writes ``img_dir/stylegan2-mixing.png`` (rows: coarse seeds 0-5, columns: fine seeds 10-15,
    crossover num_ws // 2) and ``img_dir/stylegan2-truncation.png`` (seeds 0-5, psi 1 ... 0).
    Then, for every crossover k = 1 .. num_ws - 1, mixes ``n_sources`` coarse x ``n_sources``
    fine seeds and asks the digits classifier which source's digit each mixed image shows
    (pairs whose two sources are classified as different digits only). Returns one row per k.
    """
    import gankit
    from gankit.generate import style_mixing_grid, truncation_sweep
    from gankit.metrics.extractors import get_extractor
    from gankit.nets.stylegan2 import style_mix

    torch.set_num_threads(1)
    model = gankit.load(run)
    G = model.generator
    style_mixing_grid(model, list(range(6)), list(range(10, 16)), out=img_dir / "stylegan2-mixing.png")
    truncation_sweep(model, list(range(6)), out=img_dir / "stylegan2-truncation.png")
    ext = get_extractor("digits", model.meta)

    def digit(x):  # [N, C, R, R] -> predicted digit [N]
        return ext.extract(x)[1][:, 0].argmax(1)

    a = list(range(1000, 1000 + n_sources))
    b = list(range(2000, 2000 + n_sources))
    da = digit(style_mix(G, a, a[:1], G.num_ws)[:, 0])  # [A]
    db = digit(style_mix(G, b, b[:1], G.num_ws)[:, 0])  # [B]
    differ = da[:, None] != db[None, :]  # [A, B]
    rows = []
    for k in range(1, G.num_ws):
        d = digit(style_mix(G, a, b, k).flatten(0, 1)).view(len(a), len(b))
        rows.append({"crossover": k, "pairs": int(differ.sum()),
                     "follows_coarse": float((d == da[:, None])[differ].float().mean()),
                     "follows_fine": float((d == db[None, :])[differ].float().mean())})
    return rows


def is_conditional(recipe: str) -> bool:
    from gankit.registry import RECIPES as REG

    return bool(getattr(REG.get(recipe), "conditional", False)) or recipe in ("cgan", "acgan", "projection",
                                                                               "biggan")


def _load() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


def _fmt(v, nd=3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def table(rows: list[dict], baseline: dict | None) -> str:
    """The Markdown table: one row per recipe (+ the real-vs-real baseline)."""
    head = ("| recipe | steps | CPU s/step | train CPU s | FID ↓ | KID ↓ | precision | recall | density | coverage "
            "| class acc | worst class |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        e = r["eval"]
        pc = e.get("per_class_acc") or []
        worst = f"{min(pc):.2f} ({pc.index(min(pc))})" if pc else "–"
        lines.append(f"| {r['name']} | {r['steps']} | {r['sec_per_step']:.3f} | {r['train']['cpu_s']:.0f} | "
                     f"{_fmt(e.get('fid'), 2)} | "
                     f"{_fmt(e.get('kid'), 4)} | {_fmt(e.get('precision'))} | {_fmt(e.get('recall'))} | "
                     f"{_fmt(e.get('density'))} | {_fmt(e.get('coverage'))} | {_fmt(e.get('class_acc'))} | {worst} |")
    if baseline:
        b = baseline
        lines.append(f"| *real vs real* | – | – | – | {_fmt(b.get('fid'), 2)} | {_fmt(b.get('kid'), 4)} | "
                     f"{_fmt(b.get('precision'))} | {_fmt(b.get('recall'))} | {_fmt(b.get('density'))} | "
                     f"{_fmt(b.get('coverage'))} | – | – |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/gk-digits", help="working folder (runs, timing.json, eval.json)")
    ap.add_argument("--recipes", default=",".join(RECIPES),
                    help="comma list of recipes or variants NAME=RECIPE+key=value+...")
    ap.add_argument("--budget", type=float, default=180.0, help="single-thread CPU seconds of training per recipe")
    ap.add_argument("--time-steps", type=int, default=40, help="steps per timing run")
    ap.add_argument("--warm", type=int, default=8, help="timing: steps left out at the start")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved timing rounds (median kept)")
    ap.add_argument("--n", type=int, default=10_000, help="generated samples per evaluation")
    ap.add_argument("--min-steps", type=int, default=1)
    ap.add_argument("--timing-only", action="store_true", help="stop after timing (prints the step counts)")
    ap.add_argument("--no-baseline", action="store_true", help="leave out the real-vs-real row")
    ap.add_argument("--stylegan2-pictures", metavar="IMG_DIR",
                    help="only write stylegan2-mixing.png / stylegan2-truncation.png from OUT/stylegan2 to IMG_DIR "
                         "and print which source's digit the mixed images show, per crossover layer")
    ap.add_argument("--stylegan2-run", help="with --stylegan2-pictures: another stylegan2 run (default OUT/stylegan2)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    if args.stylegan2_pictures:
        print("| crossover k (ws[:k] coarse) | pairs | digit of the coarse source | digit of the fine source |")
        print("|---|---|---|---|")
        for r in stylegan2_pictures(Path(args.stylegan2_run or out / "stylegan2"),
                                    Path(args.stylegan2_pictures)):
            print(f"| {r['crossover']} | {r['pairs']} | {r['follows_coarse']:.2f} | {r['follows_fine']:.2f} |")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    specs = [parse_spec(s.strip()) for s in args.recipes.split(",") if s.strip()]
    timing = measure_timing(specs, out, args.time_steps, args.warm, args.rounds)
    plan = {name: max(args.min_steps, round(args.budget / timing[name]["sec_per_step"])) for name, _, _ in specs}
    for name, _, _ in specs:
        print(f"plan: {name:<16} {timing[name]['sec_per_step']:.4f} CPU s/step -> {plan[name]} steps",
              file=sys.stderr, flush=True)
    if args.timing_only:
        return 0
    rows = []
    for name, recipe, over in specs:
        info = train_budgeted(name, recipe, over, plan[name], out)
        print(f"trained: {name} {info['steps']} steps, {info['cpu_s']:.0f} CPU s, {info['wall_s']:.0f} wall s "
              f"(load {info['load']:.1f})", file=sys.stderr, flush=True)
        ev = evaluate_run(name, out / name, is_conditional(recipe), args.n)
        rows.append({"name": name, "recipe": recipe, "steps": info["steps"],
                     "sec_per_step": timing[name]["sec_per_step"], "train": info, "eval": ev})
        print(json.dumps({"name": name, **{k: ev.get(k) for k in METRIC_KEYS}}), flush=True)
    baseline = None if args.no_baseline else real_vs_real(out)
    (out / "table.json").write_text(json.dumps({"rows": rows, "baseline": baseline, "budget": args.budget},
                                               indent=1))
    print(table(rows, baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
