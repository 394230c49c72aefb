"""Augmentation for small data: dcgan on 100 digits without augmentation, with DiffAugment, with ADA.

Train (each run ~2 min on 2 idle CPU cores; the commands are printed by --print-commands):

    gankit train --recipe dcgan --data digits --steps 3000 --out runs/aug100-none --set data.limit=100
    gankit train ... --out runs/aug100-diffaugment --set augment.name=diffaugment
    gankit train ... --out runs/aug100-ada --set augment.name=ada

then score each run's generator against the held-out digits test split with the `digits`
extractor (FID, KID, precision/recall/density/coverage on 10,000 samples)::

    python benchmarks/aug_digits100.py runs/aug100-none runs/aug100-diffaugment runs/aug100-ada

The raw generator G is scored (not G_ema), so the comparison does not depend on the EMA
settings. Prints one JSON object per run and a Markdown table.
"""
from __future__ import annotations

import argparse
import json

import gankit
from gankit.metrics.evaluate import evaluate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--n", type=int, default=10_000)
    args = ap.parse_args()
    rows = []
    for run in args.runs:
        model = gankit.load(run, nets=("G",))
        r = evaluate(model, metrics="fid,kid,prdc", n=args.n)
        r["run"] = run
        r["augment"] = model.config.augment.name or "none"
        print(json.dumps(r))
        rows.append(r)
    print("\n| augmentation | FID | KID | precision | recall | density | coverage |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['augment']} | {r['fid']:.2f} | {r['kid']:.4f} | {r['precision']:.3f} | {r['recall']:.3f} "
              f"| {r['density']:.3f} | {r['coverage']:.3f} |")


if __name__ == "__main__":
    main()
