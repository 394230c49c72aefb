"""Every image family's one-flag digits run, scored against issue #28's targets.

For each recipe and seed: ``gankit train --recipe R --data digits --set loop.seed=S`` (the
preset as a user gets it: ``presets/<R>.yaml`` + ``presets/<R>-digits.yaml``, nothing else but
one torch thread), then ``gankit eval --checkpoint RUN --metrics fid,kid,prdc[,class_acc]
--extractor digits --n 5000`` against the 360 held-out test digits (class accuracy for the
class-conditional families). CPU seconds are the training process's CPU time around
``gankit.train.train`` (one thread). Each run is cached under ``OUT/<name>/seed<S>/result.json``
(``benchmarks/stacked.py``'s runner), so the table resumes run by run.

Targets (issue #28, mean of the seeds): conditional families (cgan, acgan, projection, biggan)
FID <= 3.5 and class accuracy >= 95 %; gan and wgan FID <= 10; every other family FID <= 5;
each within 20 CPU-minutes. The ``gap`` column is the mean FID minus the target (<= 0: met).

    OMP_NUM_THREADS=1 python benchmarks/family_table.py --out /tmp/gk-fam --recipes dcgan,hinge --seeds 0
    # the same run by hand:
    gankit train --recipe dcgan --data digits --out RUN --set loop.seed=0 --set loop.threads=1
    gankit eval --checkpoint RUN --metrics fid,kid,prdc --extractor digits --n 5000 --json

Run two of these at a time at most (one per core), each on its own recipes.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import stacked
from modes2d import parse_spec, split_specs

CONDITIONAL = {"cgan", "acgan", "projection", "biggan"}
LOOSE = {"gan": 10.0, "wgan": 10.0}  # the MLP GAN and weight clipping: FID <= 10
FAMILIES = ["gan", "dcgan", "cgan", "wgan", "wgan-gp", "lsgan", "hinge", "pacgan", "sngan", "sagan", "acgan",
            "projection", "infogan", "biggan", "progan", "stylegan2", "r3gan"]
KEYS = ("fid", "kid", "precision", "recall", "density", "coverage")
N = 5000
BUDGET_S = 1200.0


def target(recipe: str) -> float:
    return 3.5 if recipe in CONDITIONAL else LOOSE.get(recipe, 5.0)


def run(spec: str, seed: int, out: Path, n: int = N) -> dict:
    name, recipe, over = parse_spec(spec)
    cond = recipe in CONDITIONAL
    res = stacked.run_one(name, recipe, seed, over, out, n=n, data="digits",
                          metrics="fid,kid,prdc" + (",class_acc" if cond else ""), extractor="digits",
                          keys=KEYS + (("class_acc",) if cond else ()))
    return with_class_mix(res, out / name / f"seed{seed}" / "result.json")


def with_class_mix(res: dict, path: Path) -> dict:
    """Add the class mix of G's digits to a cached result, once: ``gankit eval --metrics modes
    --extractor digits`` on the same checkpoint, whose ``reverse_kl`` is the KL of the histogram
    of the digits classifier's labels (``n`` samples) to uniform, kept as ``class_kl``, beside
    the classifier's mean ``confidence``. A few CPU-seconds a run; results that predate this
    column gain it the first time the table reads them."""
    if "class_kl" in res or not Path(res.get("checkpoint", "")).exists():
        return res
    import gankit
    from gankit.metrics.evaluate import evaluate

    ev = evaluate(gankit.load(res["checkpoint"]), metrics="modes", n=res.get("n", N), extractor="digits", seed=0)
    res = {**res, "class_kl": float(ev["reverse_kl"]), "confidence": float(ev["confidence"])}
    path.write_text(json.dumps(res, indent=1))
    return res


def row(name: str, results: list[dict]) -> dict:
    r0 = results[0]
    s = {"name": name, "recipe": r0["recipe"], "steps": r0["steps"], "seeds": [r["seed"] for r in results]}
    for k in (*KEYS, "class_acc", "class_kl", "confidence", "cpu_s"):
        v = [float(r[k]) for r in results if k in r]
        if v:
            s[k], s[k + "_std"] = statistics.fmean(v), statistics.pstdev(v) if len(v) > 1 else 0.0
    s["target"] = target(r0["recipe"])
    s["gap"] = s["fid"] - s["target"]
    s["met"] = (s["gap"] <= 0 and s["cpu_s"] <= BUDGET_S
                and (r0["recipe"] not in CONDITIONAL or s.get("class_acc", 0) >= 0.95))
    return s


def table(rows: list[dict]) -> str:
    head = ["family", "steps", "seeds", "FID", "target", "gap", "KID", "precision", "recall", "density",
            "coverage", "class acc", "class KL", "CPU s", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    def pm(s: dict, k: str, f: str) -> str:
        return f"{s[k]:{f}} ± {s[k + '_std']:{f}}" if len(s["seeds"]) > 1 else f"{s[k]:{f}}"

    for s in rows:
        acc = pm(s, "class_acc", ".3f") if "class_acc" in s else "–"
        kl = f"{s['class_kl']:.4f}" if "class_kl" in s else "–"
        lines.append(f"| {s['name']} | {s['steps']} | {','.join(map(str, s['seeds']))} | {pm(s, 'fid', '.2f')} "
                     f"| {s['target']:g} | {s['gap']:+.2f} | {s['kid']:.4f} | {s['precision']:.3f} "
                     f"| {s['recall']:.3f} | {s['density']:.3f} | {s['coverage']:.3f} | {acc} | {kl} "
                     f"| {pm(s, 'cpu_s', '.0f')} | {'yes' if s['met'] else 'no'} |")
    return "\n".join(lines)


def montage(rows: list[dict], out: Path, path: Path, per: int = 16) -> None:
    """One panel per family: ``per`` samples of seed 0's checkpoint (G_ema where kept), titled
    with the family and its FID; conditional families sample the classes in turn."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    import gankit
    from gankit.viz import image_grid

    cols = 6
    nrow = (len(rows) + cols - 1) // cols
    fig, axes = plt.subplots(nrow, cols, figsize=(2.2 * cols, 2.5 * nrow), squeeze=False)
    for ax, s in zip(axes.flat, rows):
        res = json.loads((out / s["name"] / f"seed{s['seeds'][0]}" / "result.json").read_text())
        model = gankit.load(res["checkpoint"])
        y = torch.arange(per) % 10 if s["recipe"] in CONDITIONAL else None
        with torch.no_grad():
            x = model.sample(per, seed=0, y=y)
        arr = image_grid(x, nrow=4)
        ax.imshow(arr[..., 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr, cmap="gray", interpolation="nearest")
        ax.set_title(f"{s['name']}  FID {res['fid']:.1f}", fontsize=9)
        ax.axis("off")
    for ax in list(axes.flat)[len(rows):]:
        ax.axis("off")
    fig.suptitle("one-flag digits runs (gankit train --recipe R --data digits), 16 samples each", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="/tmp/gk-fam")
    p.add_argument("--recipes", default=",".join(FAMILIES),
                   help="comma list of RECIPE or NAME=RECIPE+k=v (a value may hold commas inside [..] or {..})")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--n", type=int, default=N, help="samples per evaluation")
    p.add_argument("--table-only", action="store_true", help="print the table of the finished runs only")
    p.add_argument("--montage", metavar="PNG", help="also draw 16 samples of each family's first seed here")
    a = p.parse_args(argv)
    out, seeds, rows = Path(a.out), [int(s) for s in a.seeds.split(",")], []
    for spec in split_specs(a.recipes):
        name = parse_spec(spec)[0]
        if a.table_only:
            results = [with_class_mix(json.loads(f.read_text()), f) for s in seeds
                       if (f := out / name / f"seed{s}" / "result.json").is_file()]
        else:
            results = []
            for s in seeds:
                results.append(run(spec, s, out, a.n))
                r = results[-1]
                print(f"{name} seed {s}: FID {r['fid']:.2f}, {r['cpu_s']:.0f} CPU s, {r['steps']} steps", flush=True)
        if results:
            rows.append(row(name, results))
    print(table(rows))
    if a.montage and rows:
        montage(rows, out, Path(a.montage))
    (out / "family_table.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
