"""Image-to-image quality on held-out pairs: L1, PSNR, SSIM and sharpness per checkpoint.

    python benchmarks/i2i_eval.py --checkpoint runs/pix2pix-edges2photo runs/l1-only-edges2photo [--n N] [--json]

Each checkpoint's model translates the held-out (test) split of the data it was trained on;
see :func:`gankit.translate.paired_metrics` for the definitions. Deterministic (no sampling:
all held-out pairs, in order, unless --n limits them).
"""
from __future__ import annotations

import argparse
import json
import sys

import torch


def main(argv=None) -> int:
    import gankit
    from gankit.errors import UserError
    from gankit.translate import paired_metrics

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", nargs="+", required=True, help="run or checkpoint directories")
    p.add_argument("--n", type=int, default=0, help="held-out pairs (0: all)")
    p.add_argument("--direction", default="AtoB", choices=["AtoB", "BtoA"])
    p.add_argument("--baseline", action="store_true",
                   help="also score the inputs themselves (bicubic-upsampled when smaller): the do-nothing reference")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    a = p.parse_args(argv)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    try:
        rows = []
        for c in a.checkpoint:
            model = gankit.load(c)
            for base in (False, True) if a.baseline else (False,):
                rows.append({"checkpoint": str(model.path), "recipe": "inputs" if base else model.config.recipe,
                             "step": model.step, **paired_metrics(model, a.n, a.direction, baseline=base)})
        for r in rows:
            if a.json:
                print(json.dumps(r))
            else:
                print(f"{r['recipe']:<10} step {r['step']:>6}  n={r['n']}  L1 {r['l1']:.4f}  PSNR {r['psnr']:.2f} dB  "
                      f"SSIM {r['ssim']:.4f}  sharpness {r['sharpness']:.3f}  ({r['checkpoint']})")
    except UserError as e:
        print(f"i2i_eval: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
