#!/usr/bin/env python
"""How long `gankit eval` takes for 10,000 generated 32x32 images with the `digits` extractor.

    .venv/bin/python benchmarks/eval_speed.py                 # synthetic "generated" digits
    .venv/bin/python benchmarks/eval_speed.py --checkpoint RUN  # or a real generator (sampling timed apart)

Times, on ``--threads`` torch threads (default 2): feature extraction of the generated images,
reference features of the real test split (computed, not read from the cache), then FID, KID
(100 subsets of 1,000) and precision/recall/density/coverage exactly as ``gankit eval`` runs
them. Also times PRDC on 10,000 x 10,000 features (the cost if the reference had 10,000
images). The target: the eval pipeline under 60 s on 2 CPU cores. Prints one line per stage
and a JSON summary.
"""
from __future__ import annotations

import argparse
import json
import time

import torch


def synthetic_generated(n: int) -> torch.Tensor:
    """n 'generated' digits: train-split digits, randomly shifted by up to 2 px, plus noise."""
    from gankit.data.digits import digits_split, digits_uint8

    x, _ = digits_uint8(32)
    x = x[digits_split("train")].float() / 127.5 - 1
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(len(x), (n,), generator=g)
    out = x[idx]
    shifts = torch.randint(-2, 3, (n, 2), generator=g)
    for i in range(n):  # cheap: 10k rolls of 32x32
        out[i] = torch.roll(out[i], (int(shifts[i, 0]), int(shifts[i, 1])), dims=(1, 2))
    return (out + 0.1 * torch.randn(out.shape, generator=g)).clamp(-1, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--checkpoint", help="sample from this run instead of synthetic digits")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from gankit.config import DataConfig
    from gankit.metrics.core import EvalContext, compute_metrics
    from gankit.metrics.evaluate import load_reference_data
    from gankit.metrics.extractors import get_extractor
    from gankit.metrics.prdc import prdc_from_features
    from gankit.metrics.reference import generated_features, reference_features

    times: dict[str, float] = {}
    ext = get_extractor("digits", {"kind": "images"})
    if args.checkpoint:
        import gankit
        from gankit.generate import sample

        model = gankit.load(args.checkpoint)
        t = time.perf_counter()
        images = sample(model, args.n)
        times["sampling (not part of the target)"] = time.perf_counter() - t
    else:
        images = synthetic_generated(args.n)

    pos = [0]

    def sampler(m, seed, y):  # hands out the prepared images chunk by chunk
        x = images[pos[0]:pos[0] + m]
        pos[0] += m
        return x

    t0 = time.perf_counter()
    fake, _, _ = generated_features(sampler, args.n, ext)
    times["features of generated images"] = time.perf_counter() - t0
    t = time.perf_counter()
    real_data, split = load_reference_data(DataConfig(name="digits", resolution=32))
    real = reference_features(real_data, ext, split, use_cache=False)
    times[f"reference features ({len(real)} real, {split} split, uncached)"] = time.perf_counter() - t
    ctx = EvalContext({"kind": "images", "name": "digits"}, ext, fake, lambda: real)
    results = {}
    for name in ("fid", "kid", "prdc"):
        t = time.perf_counter()
        results.update(compute_metrics([name], ctx))
        times[name] = time.perf_counter() - t
    total = time.perf_counter() - t0
    t = time.perf_counter()
    import numpy as np

    jitter = fake.features + np.random.default_rng(0).normal(size=fake.features.shape) * 0.1
    prdc_from_features(jitter, fake.features)
    times[f"extra (not in TOTAL): prdc on {len(fake)} x {len(fake)} features"] = time.perf_counter() - t

    for k, v in times.items():
        print(f"{v:8.2f} s  {k}")
    print(f"{total:8.2f} s  TOTAL eval of {args.n} generated 32x32 images (features + FID + KID + PRDC), "
          f"{args.threads} threads")
    print(json.dumps({"seconds": round(total, 2), "n": args.n, "threads": args.threads,
                      "stages": {k: round(v, 2) for k, v in times.items()},
                      "metrics": {k: round(v, 4) for k, v in results.items()}}))


if __name__ == "__main__":
    main()
