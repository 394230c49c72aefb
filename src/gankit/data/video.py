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
from pathlib import Path

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
def to_frames(x: torch.Tensor, scale: int = 1) -> np.ndarray:
    """Clips [N, T, C, H, W] in [-1, 1] -> uint8 RGB frames [N, T, H*scale, W*scale, 3]."""
    x = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    if x.shape[2] == 1:
        x = x.expand(-1, -1, 3, -1, -1)
    arr = x[:, :, :3].permute(0, 1, 3, 4, 2).numpy()
    if scale > 1:
        arr = arr.repeat(scale, 2).repeat(scale, 3)
    return arr


def mark(frames: np.ndarray, start: int, color=(230, 40, 40)) -> np.ndarray:
    """A 1-pixel coloured border on frames ``start..`` of every clip (the predicted ones)."""
    frames = frames.copy()
    for f in frames[:, start:]:
        f[:, 0], f[:, -1], f[:, :, 0], f[:, :, -1] = color, color, color, color
    return frames


def save_gif(frames: np.ndarray, path: Path, fps: int = 4) -> None:
    """uint8 frames [T, H, W, 3] -> an endlessly looping GIF."""
    from PIL import Image

    ims = [Image.fromarray(f) for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=int(1000 / fps), loop=0)


def tile(clips: np.ndarray, cols: int, pad: int = 2) -> np.ndarray:
    """[N, T, h, w, 3] -> [T, H', W', 3]: the clips side by side in a grid, grey gutters."""
    n, t, h, w, c = clips.shape
    rows = math.ceil(n / cols)
    out = np.full((t, rows * (h + pad) + pad, cols * (w + pad) + pad, c), 96, np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        out[:, pad + r * (h + pad): pad + r * (h + pad) + h, pad + k * (w + pad): pad + k * (w + pad) + w] = clips[i]
    return out


def write_video_samples(x: torch.Tensor, out: Path, model, provenance: dict) -> dict[str, Path]:
    """``gankit sample`` for video: one GIF per rollout (``rollout_0000.gif``: the given frames,
    then the predicted ones with a red border), ``grid.gif`` (up to 16 side by side) and
    ``strip.png`` (up to 8 rollouts, one row of frames each)."""
    context = int(getattr(model.recipe, "opts", {}).get("context", 0))
    fps = int(model.meta.get("info", {}).get("fps", 4))
    scale = max(1, 128 // x.shape[-1])
    frames = mark(to_frames(x, scale), context)
    for i, clip in enumerate(frames):
        save_gif(clip, out / f"rollout_{i:04d}.gif", fps)
    save_gif(tile(frames[:16], min(4, len(frames))), out / "grid.gif", fps)
    save_strip(x[:8], out / "strip.png", context)  # (write_samples stamps its provenance)
    return {"gifs": out, "grid": out / "grid.gif", "strip": out / "strip.png"}


def save_strip(x: torch.Tensor, path, context: int = 0, title: str = "") -> None:
    """Clips as rows of frames in one PNG (predicted frames from ``context`` on: red border)."""
    from PIL import Image

    frames = to_frames(x, max(1, 64 // x.shape[-1]))
    if context:
        frames = mark(frames, context)
    n, t, h, w, _ = frames.shape
    strip = tile(frames.reshape(n * t, 1, h, w, 3), t)[0]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(strip).save(path)


def preview_video(x: torch.Tensor, path, meta: dict, real=None, title: str = "") -> None:
    """The loop's samples/*.png for video: a strip of frames per clip (next-frame recipes
    interleave each held-out clip with its rollout: real, predicted, real, ...)."""
    save_strip(x[:16], path)


def _register_outputs() -> None:
    from .. import viz
    from ..generate import WRITERS

    WRITERS.register("video", write_video_samples)
    viz.PREVIEWS.register("video", preview_video)


_register_outputs()
