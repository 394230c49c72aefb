"""User data on disk: a folder of images (class subfolders become labels)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from .base import Data, resize_images, to_uint8

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding


def load_user_data(path: str, resolution: int = 32, split: str = "train", **kwargs) -> Data:
    p = Path(path)
    if not p.exists():
        raise UserError(f"{path}: no such file or directory")
    if p.is_dir():
        return load_image_folder(p, resolution)
    raise UserError(f"{path}: unsupported data file (expected a folder of images)")


def load_image_folder(root: Path, resolution: int) -> Data:
    """Read every image under ``root`` (recursively), square-crop, resize, keep as uint8.

    Images directly inside class subfolders take the subfolder's name as label (when there is
    more than one such subfolder). Unreadable files are skipped and counted.
    """
    from PIL import Image

    files = sorted(f for f in root.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise UserError(f"{root}: no image files found")
    classes = sorted({f.relative_to(root).parts[0] for f in files if len(f.relative_to(root).parts) > 1})
    use_labels = len(classes) > 1
    xs, ys, skipped = [], [], []
    for f in files:
        try:
            with Image.open(f) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise ValueError("too many pixels")
                im = im.convert("RGB")
                s = min(im.size)
                left, top = (im.width - s) // 2, (im.height - s) // 2
                im = im.crop((left, top, left + s, top + s))
                arr = np.asarray(im, dtype=np.uint8)
        except Exception:
            skipped.append(f)
            continue
        t = torch.from_numpy(arr.copy()).permute(2, 0, 1).float().unsqueeze(0) / 255.0
        xs.append(to_uint8(resize_images(t, resolution)))
        if use_labels:
            ys.append(classes.index(f.relative_to(root).parts[0]))
    if not xs:
        raise UserError(f"{root}: no readable image (all {len(files)} files failed to decode)")
    y = torch.tensor(ys) if use_labels else None
    data = Data(str(root), "images", torch.cat(xs), y, classes if use_labels else [],
                {"skipped": [str(s) for s in skipped]})
    return data
