"""How well a trained detector tells real from generated images, on held-out images, for the
generators it saw and for ones it did not, clean and after JPEG (quality 75) / a 50 % resize.

    python benchmarks/detect_robustness.py --detector DIR --real digits \\
        --group seen=RUN_A --group unseen-seed=RUN_B --group unseen-recipe=RUN_C [--json]

Real images: the dataset's held-out split (digits: the 360 test images, never seen in
training). Generated: as many images from each group's checkpoint(s), seed 1 (``gankit detect
train`` trains on seed 0 and reports seed 1, so "seen" rows are fresh samples of the same
generator). Attacks apply to real and generated images alike. Accuracy is at p = 0.5 with both
classes weighted equally; AUC is threshold-free.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import torch


def main(argv=None) -> int:
    from gankit.data.base import convert_channels
    from gankit.detect.detector import (
        _fit,
        evaluate_detector,
        generated_images,
        load_detector,
        real_images,
    )

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--detector", required=True)
    p.add_argument("--real", default="digits")
    p.add_argument("--group", action="append", required=True, metavar="NAME=CKPT[,CKPT]")
    p.add_argument("--attacks", default="none,jpeg75,resize50")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated images")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    det = load_detector(args.detector)
    _, real_test, how = real_images(args.real, det.resolution, det.channels, seed=0)
    rows = []
    for spec in args.group:
        name, _, ckpts = spec.partition("=")
        ckpts = [c for c in ckpts.split(",") if c]
        per = [len(real_test) // len(ckpts) + (i < len(real_test) % len(ckpts)) for i in range(len(ckpts))]
        fake = torch.cat([_fit(convert_channels(generated_images(c, m, args.seed)[0], det.channels), det.resolution)
                          for c, m in zip(ckpts, per)])
        for attack in args.attacks.split(","):
            r = evaluate_detector(det, real_test, fake, attack)
            rows.append({"group": name, "checkpoints": ckpts, **r})
            print(f"{name:<16} {attack:<9} acc {r['accuracy']:.4f}  auc {r['auc']:.4f}  "
                  f"(real mean p {r['real_mean_score']:.3f}, generated mean p {r['fake_mean_score']:.3f})",
                  file=sys.stderr)
    out = {"detector": args.detector, "real": f"{args.real} ({how}, held out)", "rows": rows,
           "seconds": round(time.perf_counter() - t0, 1)}
    if args.json:
        print(json.dumps(out))
    else:
        print("| generators | attack | accuracy | ROC AUC |\n|---|---|---|---|")
        for r in rows:
            print(f"| {r['group']} | {r['attack']} | {r['accuracy']:.3f} | {r['auc']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
