"""Video outputs: a GIF per rollout, a grid GIF and a PNG strip of frames."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch


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


def write(x: torch.Tensor, out: Path, model, provenance: dict) -> dict[str, Path]:
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


def preview(x: torch.Tensor, path, meta: dict, real=None, title: str = "") -> None:
    """The loop's samples/*.png for video: a strip of frames per clip (next-frame recipes
    interleave each held-out clip with its rollout: real, predicted, real, ...)."""
    save_strip(x[:16], path)
