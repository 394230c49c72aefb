"""Bit accuracy of gankit's keyed watermark, clean and after JPEG (quality 75) / a 50 % resize.

    python benchmarks/watermark_robustness.py [--n 100] [--checkpoint RUN] [--json]

Image sets: colour photo crops at 64 px (the held-out strip of the scikit-image/scikit-learn
sample photos), the digits test split upscaled to 64 px, the digits at their native 32 px, and,
with ``--checkpoint``, a generator's own samples (at its resolution). Each image gets a
different 32-bit message under one key. Reported per set: PSNR of the marked image, mean (and
worst) bit accuracy over the 64 payload bits, share of images detected (sync >= 27/32), and the
same for a wrong key and for unmarked images (false positives).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

KEY, WRONG = 20261123, 4242


def image_sets(n: int, checkpoint: str | None):
    from gankit.data.digits import digits_split, digits_uint8
    from gankit.data.photos import photos

    test = digits_split("test")[:n]
    sets = {"photos 64 px (RGB)": photos(resolution=64, split="test", n=n).x,
            "digits 64 px (upscaled)": digits_uint8(64)[0][test],
            "digits 32 px": digits_uint8(32)[0][test]}
    if checkpoint:
        import torch

        from gankit import load, viz
        from gankit.generate import sample

        model = load(checkpoint)
        x = torch.from_numpy(viz.to_uint8_images(sample(model, n, seed=0))).permute(0, 3, 1, 2)
        sets[f"{model.config.recipe} samples {x.shape[-1]} px"] = x
    return {k: v.permute(0, 2, 3, 1).numpy() for k, v in sets.items()}


def measure(images: np.ndarray) -> dict:
    from gankit.detect import watermark as wm
    from gankit.detect.attacks import jpeg, resize_half

    acc = {"none": [], "jpeg75": [], "resize50": [], "wrong_key": []}
    det = {k: 0 for k in acc} | {"unmarked": 0}
    psnr = []
    for i, img in enumerate(images):
        msg = (i * 2654435761 + 12345) % 2**32
        marked = wm.embed(img, KEY, msg)
        psnr.append(wm.psnr(img, marked))
        want = wm.payload_bits(KEY, msg)
        for name, im, key in (("none", marked, KEY), ("jpeg75", jpeg(marked, 75), KEY),
                              ("resize50", resize_half(marked), KEY), ("wrong_key", marked, WRONG)):
            r = wm.decode(im, key)
            acc[name].append(r.bit_accuracy(want))
            det[name] += r.detected
        det["unmarked"] += wm.decode(img, KEY).detected
    n = len(images)
    return {"n": n, "size": list(images.shape[1:]), "psnr_mean": round(float(np.mean(psnr)), 2),
            "psnr_min": round(float(np.min(psnr)), 2),
            **{f"bit_acc_{k}": round(float(np.mean(v)), 4) for k, v in acc.items()},
            **{f"bit_acc_{k}_min": round(float(np.min(v)), 4) for k, v in acc.items() if k != "wrong_key"},
            **{f"detected_{k}": det[k] / n for k in det}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--checkpoint")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    res = {name: measure(x) for name, x in image_sets(args.n, args.checkpoint).items()}
    if args.json:
        print(json.dumps({"sets": res, "seconds": round(time.perf_counter() - t0, 1)}))
        return 0
    print("| images | PSNR mean (min) | bits: clean | JPEG 75 (worst) | resize 50 % (worst) | detected clean / "
          "JPEG / resize | wrong key bits, detected | unmarked detected |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in res.items():
        print(f"| {name}, n={r['n']} | {r['psnr_mean']:.1f} ({r['psnr_min']:.1f}) dB | {r['bit_acc_none']:.3f} | "
              f"{r['bit_acc_jpeg75']:.3f} ({r['bit_acc_jpeg75_min']:.3f}) | {r['bit_acc_resize50']:.3f} "
              f"({r['bit_acc_resize50_min']:.3f}) | {r['detected_none']:.2f} / {r['detected_jpeg75']:.2f} / "
              f"{r['detected_resize50']:.2f} | {r['bit_acc_wrong_key']:.3f}, {r['detected_wrong_key']:.2f} | "
              f"{r['detected_unmarked']:.2f} |")
    print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
