"""The everyday image changes a detector or a watermark has to survive, on uint8 arrays.

``jpeg(img, 75)`` re-encodes with Pillow's JPEG encoder (4:2:0 chroma subsampling for colour,
the libjpeg default); ``resize_half(img)`` shrinks to 50 % (bilinear, antialiased) and scales back
up to the original size (bilinear), as a thumbnail that is blown up again.
"""
from __future__ import annotations

import io

import numpy as np

from ..registry import Registry

ATTACKS = Registry("attack")


def _pil(img: np.ndarray):
    from PIL import Image

    return Image.fromarray(img[..., 0] if img.ndim == 3 and img.shape[2] == 1 else img)


def _back(im, like: np.ndarray) -> np.ndarray:
    a = np.asarray(im, dtype=np.uint8)
    return a[..., None] if like.ndim == 3 and like.shape[2] == 1 else a


def jpeg(img: np.ndarray, quality: int = 75) -> np.ndarray:
    """Encode ``img`` (uint8 [H, W] or [H, W, C]) as JPEG at ``quality`` and decode it again."""
    buf = io.BytesIO()
    _pil(img).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    from PIL import Image

    with Image.open(buf) as im:
        return _back(im.convert("L" if im.mode == "L" else "RGB"), img)


def resize_half(img: np.ndarray) -> np.ndarray:
    """Shrink to half size (bilinear with antialiasing, Pillow's reducing filter) and back up."""
    from PIL import Image

    im = _pil(img)
    w, h = im.size
    small = im.resize((max(1, w // 2), max(1, h // 2)), Image.BILINEAR, reducing_gap=None)
    return _back(small.resize((w, h), Image.BILINEAR), img)


ATTACKS.register("none", lambda img: img)
ATTACKS.register("jpeg75", lambda img: jpeg(img, 75))
ATTACKS.register("resize50", resize_half)
