"""Video clips: the ``"video"`` data kind, the ``moving-digits`` dataset, and GIF output.

A clip is uint8 ``[T, C, H, W]``; a dataset ``[N, T, C, H, W]`` (the loop moves 5-D batches to
the device as they are; frames become floats in [-1, 1] like images).

``moving-digits`` is made procedurally from a seed, in the manner of Moving MNIST
(Srivastava et al. 2015) but from scikit-learn's bundled 8x8 digits (resized with
:func:`gankit.data.digits.digits_uint8`, so no download): ``digits`` digits of ``resolution / 2``
pixels start at random positions and move in straight lines at 1-3 pixels per frame (scaled
with the resolution), bouncing off the walls; overlapping digits combine by maximum. Train clips
use digits of the digits' fixed train split, test clips (``split="test"``) those of its held-out
split, so predictions are scored on handwriting never seen in training.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import UserError
from .base import Data, register_dataset
from .digits import digits_split, digits_uint8


def bounce_path(p0: np.ndarray, v: np.ndarray, steps: int, span: int) -> np.ndarray:
    """Positions [n, steps] of points starting at ``p0 [n]`` moving at ``v [n]`` pixels per frame
    in ``[0, span]``, reflected at both ends (rounded to integers, for crisp frames)."""
    if span <= 0:
        return np.zeros((len(p0), steps), np.int64)
    p = np.mod(p0[:, None] + v[:, None] * np.arange(steps)[None, :], 2 * span)
    return np.round(np.where(p > span, 2 * span - p, p)).astype(np.int64)


def make_clips(n: int, frames: int, resolution: int, digits: int, split: str, seed: int,
               digit_size: int = 0) -> np.ndarray:
    """``n`` clips uint8 [n, frames, 1, R, R] of ``digits`` bouncing digits (see the module)."""
    size = digit_size or max(4, resolution // 2)
    if size > resolution:
        raise UserError(f"data.kwargs.digit_size={size} is larger than the frame ({resolution} px)")
    imgs = digits_uint8(size)[0][digits_split(split)].numpy()[:, 0]  # [M, s, s]
    rng = np.random.default_rng((seed, 0 if split == "train" else 1))
    span = resolution - size
    speed_scale = resolution / 32
    out = np.zeros((n, frames, 1, resolution, resolution), np.uint8)
    clip = np.arange(n)[:, None, None]
    off = np.arange(size)
    for _ in range(digits):
        img = imgs[rng.integers(len(imgs), size=n)]  # [n, s, s]
        angle = rng.uniform(0, 2 * math.pi, n)
        speed = rng.uniform(1, 3, n) * speed_scale
        ys = bounce_path(rng.uniform(0, span, n), speed * np.sin(angle), frames, span)  # [n, T]
        xs = bounce_path(rng.uniform(0, span, n), speed * np.cos(angle), frames, span)
        for t in range(frames):
            rows = ys[:, t, None, None] + off[None, :, None]  # [n, s, 1]
            cols = xs[:, t, None, None] + off[None, None, :]  # [n, 1, s]
            win = out[clip, t, 0, rows, cols]
            out[clip, t, 0, rows, cols] = np.maximum(win, img)
    return out


@register_dataset("moving-digits", "sklearn digits bouncing in 32x32 frames (Moving-MNIST-like), 10-frame clips",
                  recipe="next-frame")
def moving_digits(resolution: int = 32, split: str = "train", n: int = 2000, frames: int = 10, digits: int = 2,
                  digit_size: int = 0, seed: int = 0) -> Data:
    """``n`` training clips (the test split has ``max(64, n // 10)``), ``frames`` frames each."""
    if frames < 2 or n < 1 or digits < 1:
        raise UserError(f"moving-digits: frames must be >= 2 and n, digits >= 1 (got {frames}, {n}, {digits})")
    count = n if split == "train" else max(64, n // 10)
    x = torch.from_numpy(make_clips(count, frames, resolution, digits, split, seed, digit_size))
    return Data("moving-digits", "video", x, info={"frames": frames, "digits": digits, "fps": 4, "split": split,
                                                   "source": f"sklearn digits ({split} split), seed {seed}"})


# --------------------------------------------------------------------------- output
