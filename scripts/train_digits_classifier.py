#!/usr/bin/env python
"""Train the ``digits`` feature extractor (a small CNN) and write it into the package.

    .venv/bin/python scripts/train_digits_classifier.py            # ~1 minute on one CPU core

Data: the fixed ``train`` split (1,437 images) of the sklearn digits at 32 px, with pixels from
``gankit.data.digits.digits_uint8(32)`` (exactly what gankit trains GANs on). The held-out
``test`` split (360 images) is used only once, at the end, to measure accuracy: no model
selection on it. Light augmentation (random shifts of up to 2 px, rotations of up to 10 degrees,
scaling by 0.9-1.1) helps the classifier generalise to the imperfect digits a GAN draws.

Seeded and single-threaded, so a rerun writes the same weights. Outputs:
``src/gankit/weights/digits_classifier.safetensors`` and ``digits_classifier.json``
(architecture, accuracies, seed, sha256 of the weights, the command).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from gankit.data.digits import digits_split, digits_uint8
from gankit.metrics.digits_classifier import (
    INPUT_RESOLUTION,
    META_FILE,
    WEIGHTS_FILE,
    DigitsNet,
    weights_sha256,
)

ARCH = {"width": 16, "feat_dim": 128, "num_classes": 10, "dropout": 0.3}


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random small affine warps of images in [-1, 1] (background stays -1)."""
    n = len(x)
    angle = (torch.rand(n, generator=g) * 2 - 1) * math.radians(10)
    scale = 0.9 + 0.2 * torch.rand(n, generator=g)
    shift = (torch.rand(n, 2, generator=g) * 2 - 1) * (2 * 2 / INPUT_RESOLUTION)  # +-2 px
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1


@torch.no_grad()
def accuracy(net: DigitsNet, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    pred = torch.cat([net(x[i:i + 512]).argmax(1) for i in range(0, len(x), 512)])
    return float((pred == y).float().mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(WEIGHTS_FILE))
    args = ap.parse_args()

    torch.set_num_threads(1)  # bit-reproducible: the same float reduction order every run
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed + 1)
    x_all, y_all = digits_uint8(INPUT_RESOLUTION)
    x_all = x_all.float() / 127.5 - 1.0  # as gankit's Data.to_float
    tr, te = digits_split("train"), digits_split("test")
    x_tr, y_tr, x_te, y_te = x_all[tr], y_all[tr], x_all[te], y_all[te]

    net = DigitsNet(**ARCH)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(x_tr) / args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch)
    t0 = time.time()
    for epoch in range(args.epochs):
        net.train()
        perm = torch.randperm(len(x_tr), generator=g)
        total = 0.0
        for i in range(0, len(x_tr), args.batch_size):
            idx = perm[i:i + args.batch_size]
            xb = augment(x_tr[idx], g)
            loss = F.cross_entropy(net(xb), y_tr[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if (epoch + 1) % 10 == 0 or epoch == 0:
            print(f"epoch {epoch + 1:3d}  loss {total / len(x_tr):.4f}  train acc {accuracy(net, x_tr, y_tr):.4f}"
                  f"  ({time.time() - t0:.0f}s)", flush=True)
    train_acc, test_acc = accuracy(net, x_tr, y_tr), accuracy(net, x_te, y_te)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(out))
    meta = {
        "name": "digits",
        "arch": ARCH,
        "input": "[N, 1, 32, 32] in [-1, 1]: gankit.data.digits.digits_uint8(32) / 127.5 - 1",
        "features": "penultimate layer, 128-d after ReLU; probabilities: softmax of the logits",
        "train_split": "digits_split('train'), 1437 images",
        "test_split": "digits_split('test'), 360 images (held out, measured once)",
        "train_accuracy": round(train_acc, 4),
        "test_accuracy": round(test_acc, 4),
        "seed": args.seed, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
        "command": "python scripts/train_digits_classifier.py",
        "sha256": weights_sha256(out),
    }
    meta_file = out.with_suffix(".json") if args.out != str(WEIGHTS_FILE) else META_FILE
    meta_file.write_text(json.dumps(meta, indent=1) + "\n")
    print(f"train accuracy {train_acc:.4f}  test accuracy {test_acc:.4f}  "
          f"({out.stat().st_size / 1024:.0f} KiB, {time.time() - t0:.0f}s) -> {out}")


if __name__ == "__main__":
    main()
