"""How digit-like a digits run's samples are: the shipped digits classifier's class histogram and
confidence on a checkpoint's samples, beside the real train and test digits.

    python benchmarks/digit_confidence.py RUN [RUN ...] [--n 5000] [--truncation 0.7]

For each run (G_ema where it has one) prints the share of samples in each class, the KL of that
histogram to uniform (0 = balanced classes), the classifier's mean top-class probability and the
share of samples below 0.9 of it; the same for the real splits first. A high FID with balanced
classes and low confidence means ill-formed digits, not missing ones. One JSON object per line.
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

import gankit
from gankit.config import DataConfig
from gankit.data import load_data
from gankit.metrics.extractors import DigitsExtractor
from gankit.metrics.modes import reverse_kl_to_uniform
from gankit.metrics.reference import reference_features


def summary(probs: np.ndarray) -> dict:
    """probs [N, 10] -> class shares, KL to uniform, mean confidence, share below 0.9."""
    counts = np.bincount(probs.argmax(1), minlength=10)
    share, kl = counts / len(probs), reverse_kl_to_uniform(counts)
    conf = probs.max(1)
    return {"class_share": [round(float(v), 4) for v in share], "kl_uniform": round(kl, 4),
            "mean_confidence": round(float(conf.mean()), 4), "below_0.9": round(float((conf < 0.9).mean()), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="run or checkpoint directories of a digits model")
    ap.add_argument("--n", type=int, default=5000, help="samples per run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--truncation", type=float, default=None, help="truncate z at this threshold")
    args = ap.parse_args()
    ex = DigitsExtractor()
    for split in ("train", "test"):
        feats = reference_features(load_data(DataConfig(name="digits", resolution=32), split), ex, split)
        print(json.dumps({"real": split, "n": len(feats), **summary(feats.probs[:, 0])}))
    for run in args.runs:
        model = gankit.load(run)
        kw = {"truncation": args.truncation} if args.truncation else {}
        with torch.no_grad():
            x = model.sample(args.n, seed=args.seed, **kw)
        _, probs = ex.extract(x)
        print(json.dumps({"checkpoint": run, "step": model.step, "n": args.n, "truncation": args.truncation,
                          **summary(probs[:, 0].numpy())}))


if __name__ == "__main__":
    main()
