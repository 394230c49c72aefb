"""Image transforms at the I/O edge: decode safely, crop, resize, channels, normalise.

Everything here runs once, when a dataset is loaded: the results are held in memory as uint8
[N, C, H, W]. The only per-batch transform, the random horizontal flip, lives in
:meth:`gankit.data.base.Data.batch` so that it stays a pure function of the batch index.
Normalisation to [-1, 1] is :meth:`Data.to_float`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .base import convert_channels, resize_images, to_uint8

__all__ = [
    "CROPS",
    "GRAY_MODES",
    "MAX_PIXELS",
    "BadImage",
    "convert_channels",
    "hflip",
    "image_array",
    "normalize",
    "open_image",
    "square_crop",
    "to_resolution",
]

MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding (header size only)
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
CROPS = ("center", "random", "none")


class BadImage(Exception):
    """A file that cannot be used as an image; the message says why."""


def open_image(path: str | Path, max_pixels: int = MAX_PIXELS):
    """Open and fully decode one image with Pillow; raise :class:`BadImage` naming the problem.

    ``Image.open`` only reads the header, so the pixel limit is enforced before any pixel
    data is decoded; ``load()`` then decodes everything, which is what exposes truncated and
    corrupt files (Pillow raises ``OSError: image file is truncated``). EXIF orientation is
    applied, as a photo viewer would.
    """
    from PIL import Image, ImageOps

    try:
        im = Image.open(path)
    except Image.DecompressionBombError as e:  # Pillow's own, larger limit
        raise BadImage(f"too many pixels ({e})") from None
    except Exception as e:  # noqa: BLE001 - unidentifiable / unreadable file
        raise BadImage(_first_line(e) or "not an image Pillow can read") from None
    try:
        if im.width * im.height > max_pixels:
            raise BadImage(f"{im.width}x{im.height} = {im.width * im.height:,} pixels exceeds the limit "
                           f"of {max_pixels:,}")
        if im.width < 1 or im.height < 1:
            raise BadImage("empty image")
        im.load()
        turned = ImageOps.exif_transpose(im)
        if turned is not im:  # a new image: release the file now, not at garbage collection
            im.close()
        return turned
    except BadImage:
        im.close()
        raise
    except Exception as e:  # noqa: BLE001 - truncated data, bad CRC, decoder errors ...
        im.close()
        raise BadImage(_first_line(e) or type(e).__name__) from None


def _first_line(e: Exception) -> str:
    s = str(e).strip()
    return s.splitlines()[0] if s else ""


def image_array(im) -> np.ndarray:
    """A decoded PIL image as uint8 [H, W] (grayscale) or [H, W, 3] (colour).

    16-bit and float grayscale are scaled to 8 bits; transparency is composited over white
    (the usual look of transparent pictures); palette, CMYK, YCbCr, LAB ... become RGB.
    """
    from PIL import Image

    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        out = Image.alpha_composite(bg, rgba)
        return np.asarray(out.convert("L" if mode in ("LA", "La") else "RGB"), dtype=np.uint8)
    if mode in ("1", "L"):
        return np.asarray(im.convert("L"), dtype=np.uint8)
    if mode.startswith("I") or mode == "F":
        a = np.asarray(im).astype(np.float64)
        top = 1.0 if mode == "F" and a.max() <= 1.0 else 255.0 if a.max() <= 255 else 65535.0
        return np.clip(np.round(a / top * 255.0), 0, 255).astype(np.uint8)
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def square_crop(arr: np.ndarray, mode: str = "center", rng: np.random.Generator | None = None,
                box: tuple[float, float] | None = None) -> tuple[np.ndarray, tuple[float, float]]:
    """Crop [H, W(, C)] to a square; return it and the crop's relative offset (top, left) in [0, 1].

    ``center``: the central square; ``random``: a square at a position drawn from ``rng``;
    ``none``: no crop (the image will be squashed by the resize). ``box`` reuses an offset
    returned before, so the two halves of a pair get the same crop.
    """
    h, w = arr.shape[:2]
    if mode == "none":
        return arr, (0.0, 0.0)
    s = min(h, w)
    if box is None:
        box = (0.5, 0.5) if mode == "center" or rng is None else (float(rng.random()), float(rng.random()))
    top, left = round(box[0] * (h - s)), round(box[1] * (w - s))
    return arr[top : top + s, left : left + s], box


def to_resolution(arr: np.ndarray, resolution: int) -> torch.Tensor:
    """uint8 [H, W(, C)] -> uint8 [1, C, R, R] (bilinear, antialiased when shrinking)."""
    arr = np.ascontiguousarray(arr)
    t = torch.from_numpy(arr if arr.flags.writeable else arr.copy())  # PIL arrays are read-only
    t = t.unsqueeze(-1) if t.dim() == 2 else t
    t = t.permute(2, 0, 1).unsqueeze(0)
    if t.shape[-2:] == (resolution, resolution):
        return t.contiguous()
    return to_uint8(resize_images(t.float() / 255.0, resolution))


def hflip(x: torch.Tensor) -> torch.Tensor:
    """Mirror images [..., H, W] left-right."""
    return x.flip(-1)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float in [-1, 1] (the nets' range)."""
    return x.float().div(127.5).sub(1.0)
