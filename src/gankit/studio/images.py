"""Pictures at the studio's edge: PNG bytes with provenance, data URLs, and safe uploads.

Everything a browser sends is bounded *before* it is decoded: the byte size by the server
(``MAX_UPLOAD_BYTES``), the pixel count here from the image header (``MAX_UPLOAD_PIXELS``),
so a decompression bomb is refused without allocating its pixels.
"""
from __future__ import annotations

import base64
import io
import math
import struct
import zlib

import numpy as np
import torch

from .. import viz
from ..data.transforms import MAX_PIXELS, image_array
from ..errors import UserError

MAX_UPLOAD_BYTES = 8 * 1024 * 1024  # an upload's body, in bytes
MAX_UPLOAD_PIXELS = min(MAX_PIXELS, 4096 * 4096)  # width * height of an uploaded image
# The formats an upload may be, and no other: Pillow would otherwise decode whatever it knows
# (TIFF, ICO, PPM, ... and EPS, whose decoding starts Ghostscript on the uploaded PostScript).
UPLOAD_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
PNG_MODES = ("1", "L", "LA", "P", "RGB", "RGBA", "I;16")  # what PNG stores as it is


def png_bytes(arr: np.ndarray, pnginfo: dict | None = None, scale: int = 1) -> bytes:
    """uint8 ``[H, W, C]`` (C = 1, 3 or 4) -> PNG bytes with text chunks ``pnginfo``, upscaled
    by an integer ``scale`` (nearest neighbour: pixels stay visible)."""
    buf = io.BytesIO()
    viz.pil_image(arr, scale).save(buf, format="PNG", pnginfo=viz.png_info(pnginfo))
    return buf.getvalue()


def display_scale(width: int, height: int, target: int = 384, most: int = 8) -> int:
    """An integer upscaling that brings the longer side of a small picture near ``target``."""
    return int(max(1, min(most, target // max(1, width, height))))


def grid_png(x: torch.Tensor, pnginfo: dict | None = None, nrow: int | None = None, target: int = 384) -> bytes:
    """Images ``[N, C, H, W]`` in [-1, 1] as one PNG grid, upscaled (nearest neighbour) so the
    grid is about ``target`` px wide. Each image is enlarged *before* tiling, so the grey
    gutters stay 2 px thin (and a single image has none)."""
    x = x.detach().float().cpu()
    n, _, h, w = x.shape
    cols = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    s = display_scale(cols * w, rows * h, target)
    if s > 1:
        x = x.repeat_interleave(s, dim=-1).repeat_interleave(s, dim=-2)  # [N, C, sH, sW]
    return png_bytes(viz.image_grid(x, nrow=cols, pad=0 if n == 1 else 2), pnginfo)


def png_text_map(data: bytes, fn) -> bytes:
    """PNG bytes with the value of every text chunk (tEXt, zTXt, iTXt) replaced by
    ``fn(key, value)``; chunks ``fn`` leaves unchanged are kept byte for byte, changed ones are
    written as uncompressed iTXt. Only the chunk structure is walked (no pixel is decoded), so
    a file written elsewhere (a training preview) can be served without what it says about
    the machine. Bytes that are not a well-formed PNG come back unchanged."""
    sig = b"\x89PNG\r\n\x1a\n"
    if not data.startswith(sig):
        return data
    out, pos = [sig], len(sig)
    while pos + 12 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + size
        if end > len(data):
            break
        chunk = data[pos:end]
        text = _png_text(kind, data[pos + 8:pos + 8 + size]) if kind in (b"tEXt", b"zTXt", b"iTXt") else None
        value = fn(*text) if text is not None else None
        if text is not None and value != text[1]:
            body = text[0].encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8")
            chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
        out.append(chunk)
        pos = end
    return b"".join(out) + data[pos:]


def _png_text(kind: bytes, body: bytes) -> tuple[str, str] | None:
    """(key, value) of a PNG text chunk, or None when it cannot be read (it is then kept)."""
    try:
        key, _, rest = body.partition(b"\0")
        if kind == b"tEXt":
            return key.decode("latin-1"), rest.decode("latin-1")
        if kind == b"zTXt":
            return key.decode("latin-1"), _inflate(rest[1:]).decode("latin-1")
        compressed, rest = rest[0], rest[2:]
        _lang, _, rest = rest.partition(b"\0")
        _translated, _, text = rest.partition(b"\0")
        return key.decode("latin-1"), (_inflate(text) if compressed else text).decode("utf-8")
    except (IndexError, UnicodeDecodeError, zlib.error):
        return None


def _inflate(data: bytes, most: int = 1 << 20) -> bytes:
    """zlib-decompress at most ``most`` bytes (a text chunk is no place for a zip bomb)."""
    d = zlib.decompressobj()
    out = d.decompress(data, most)
    if d.unconsumed_tail:
        raise zlib.error("text chunk too large")
    return out


def data_url(png: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,...`` URL (what the page shows and downloads)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def scatter_png(points: np.ndarray, pnginfo: dict | None = None, means=None, title: str = "") -> bytes:
    """A scatter plot of 2D points ``[N, 2]`` as PNG bytes.

    Uses matplotlib's object API (a ``Figure`` with its own Agg canvas), not ``pyplot``,
    whose global figure state is not safe across the server's threads.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    fig = Figure(figsize=(5, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    ax.scatter(points[:, 0], points[:, 1], s=3, c="#5b3cc4", alpha=0.6, label="generated")
    if means is not None:
        m = np.asarray(means)
        ax.scatter(m[:, 0], m[:, 1], s=30, c="#d33", marker="x", label="true modes")
        ax.legend(loc="upper right", markerscale=2, fontsize=7)
    ax.set_aspect("equal", adjustable="datalim")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    arr = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return png_bytes(arr, pnginfo)


def decode_upload(data: bytes, max_pixels: int = MAX_UPLOAD_PIXELS, max_bytes: int = MAX_UPLOAD_BYTES):
    """Bytes a browser uploaded -> a fully decoded PIL image; ``UserError`` with a readable
    reason for anything that is not a usable picture (empty, too big, not an image, truncated)."""
    from PIL import Image, ImageOps

    if not data:
        raise UserError("upload: the file is empty")
    if len(data) > max_bytes:
        raise UserError(f"upload: {len(data):,} bytes is more than the limit of {max_bytes:,} bytes")
    try:
        im = Image.open(io.BytesIO(data), formats=UPLOAD_FORMATS)
    except Image.DecompressionBombError:
        raise UserError(f"upload: the image has more pixels than the limit of {max_pixels:,} pixels") from None
    except Exception:  # noqa: BLE001 - any unidentifiable data
        raise UserError("upload: not an image file this server can read (use PNG, JPEG, GIF, BMP or WebP)") from None
    w, h = im.size
    if w < 1 or h < 1:
        raise UserError("upload: the image is empty")
    if w * h > max_pixels:
        raise UserError(f"upload: {w}x{h} = {w * h:,} pixels is more than the limit of {max_pixels:,} pixels")
    try:
        im.load()
    except Exception as e:  # noqa: BLE001 - truncated or corrupt pixel data
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise UserError(f"upload: the image data is damaged ({first})") from None
    return ImageOps.exif_transpose(im)


def upload_to_file(data: bytes, directory, name: str = "upload.png") -> str:
    """Decode (and so validate) an upload and re-encode it as PNG in ``directory``; returns its path.

    Library readers that take a path (``gankit.translate.read_input``) then only ever see a
    clean PNG of bounded size; transparency is kept (inpainting masks live in alpha).
    """
    import os

    im = png_mode(decode_upload(data))
    path = os.path.join(str(directory), name)
    im.save(path, format="PNG")
    return path


def png_mode(im):
    """``im`` in a mode PNG can store: 32-bit integer or float gray (mode I, F) becomes 16-bit
    when its values fit (label ids stay exact), else 8-bit scaled as training data is
    (:func:`gankit.data.transforms.image_array`); other modes become RGB(A)."""
    from PIL import Image

    if im.mode in PNG_MODES:
        return im
    if im.mode.startswith("I") or im.mode == "F":
        a = np.asarray(im)
        if np.issubdtype(a.dtype, np.integer) and a.size and 0 <= a.min() and a.max() <= 65535:
            return Image.fromarray(a.astype(np.uint16))
        return Image.fromarray(image_array(im))
    return im.convert("RGBA" if "A" in im.mode else "RGB")
