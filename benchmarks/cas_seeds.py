"""The CAS table of a conditional checkpoint over several classifier seeds: how much of a
difference between rows is the classifier's own randomness.

    python benchmarks/cas_seeds.py --checkpoint RUN [--seeds 0,1,2] [--json]

Seed 0 is exactly what ``gankit eval --checkpoint RUN --metrics cas`` reports (the fixed
protocol, ``gankit.metrics.cas.PROTOCOL``); other seeds change only the classifier's
initialisation, batch order and the choice of the small real subsets. The synthetic set is the
same for every seed (generator seed 0).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import numpy as np


def main(argv=None) -> int:
    from gankit import load
    from gankit.metrics.cas import _KEYS, PROTOCOL, classification_accuracy_score

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    model = load(args.checkpoint)
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = {s: classification_accuracy_score(model, seed=0, protocol=dataclasses.replace(PROTOCOL, seed=s))
            for s in seeds}
    table = {k: {"per_seed": [round(runs[s][k], 4) for s in seeds], "mean": round(float(np.mean([runs[s][k] for s in seeds])), 4),
                 "std": round(float(np.std([runs[s][k] for s in seeds], ddof=1)) if len(seeds) > 1 else 0.0, 4)}
             for k in _KEYS}
    if args.json:
        print(json.dumps({"checkpoint": str(model.path), "seeds": seeds, "rows": table,
                          "seconds": round(time.perf_counter() - t0, 1)}))
        return 0
    print(f"| row | mean ± std over seeds {args.seeds} | per seed |\n|---|---|---|")
    for k, r in table.items():
        print(f"| {k} | {r['mean']:.3f} ± {r['std']:.3f} | {' / '.join(f'{v:.3f}' for v in r['per_seed'])} |")
    print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
