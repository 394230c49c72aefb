"""Image files in, uint8 arrays out: what ``gankit detect`` reads."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data.base import convert_channels, resize_images
from ..errors import UserError


def input_files(path: str | Path, flag: str = "--input") -> list[Path]:
    """An image file, or every image under a folder (recursive, sorted, hidden files skipped)."""
    from ..data.user import IMAGE_EXTS, list_images

    p = Path(path)
    if not p.exists():
        raise UserError(f"{flag} {p}: no such file or folder")
    if p.is_file():
        if p.suffix.lower() not in IMAGE_EXTS:
            raise UserError(f"{flag} {p}: not an image file (expected one of {', '.join(sorted(IMAGE_EXTS))})")
        return [p]
    files = list_images(p)
    if not files:
        raise UserError(f"{flag} {p}: no image files in this folder (looked for {', '.join(sorted(IMAGE_EXTS))})")
    return files


def read_image(path: Path) -> np.ndarray:
    """uint8 [H, W, C] (C = 1 or 3); raises ``BadImage`` (from ``data.transforms``) if unreadable."""
    from ..data.transforms import image_array, open_image

    with open_image(path) as im:
        arr = image_array(im)
    return arr[..., None] if arr.ndim == 2 else arr


def read_images(files: list[Path]) -> tuple[list[tuple[Path, np.ndarray]], list[tuple[Path, str]]]:
    """``(readable (file, array) pairs, skipped (file, reason) pairs)``."""
    from ..data.transforms import BadImage

    ok, skipped = [], []
    for f in files:
        try:
            ok.append((f, read_image(f)))
        except BadImage as e:
            skipped.append((f, str(e)))
    return ok, skipped


def to_batch(arrays: list[np.ndarray], channels: int, resolution: int) -> torch.Tensor:
    """uint8 arrays [H, W, C] -> uint8 [N, channels, R, R] (centre square crop, bilinear resize)."""
    out = []
    for a in arrays:
        h, w = a.shape[:2]
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        t = torch.from_numpy(np.array(a[top:top + s, left:left + s])).permute(2, 0, 1)[None]  # a writable copy
        t = convert_channels(t, channels)
        if s != resolution:
            t = resize_images(t.float(), resolution).round().clamp(0, 255).to(torch.uint8)
        out.append(t)
    return torch.cat(out) if out else torch.zeros(0, channels, resolution, resolution, dtype=torch.uint8)


def nhwc(x: torch.Tensor) -> np.ndarray:
    """uint8 [N, C, H, W] tensor -> uint8 [N, H, W, C] numpy (what the attacks take)."""
    return x.permute(0, 2, 3, 1).contiguous().numpy()


def nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).contiguous()
