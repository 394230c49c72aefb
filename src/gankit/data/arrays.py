"""Images held in arrays (``.npz``/``.npy``, MNIST IDX, CIFAR batches), at a resolution."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from . import formats
from .base import Data, resize_images, to_uint8
from .layouts import Options


def resize_uint8(x: torch.Tensor, resolution: int, crop: str = "center", chunk: int = 2048) -> torch.Tensor:
    """uint8 [N, C, H, W] -> uint8 [N, C, R, R]: central square crop (unless crop="none"), resize.

    Works in chunks so a 60,000-image array is never held as float all at once.
    """
    h, w = x.shape[-2:]
    if crop != "none" and h != w:
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        x = x[..., top : top + s, left : left + s]
    if x.shape[-2:] == (resolution, resolution):
        return x.contiguous()
    return torch.cat([to_uint8(resize_images(x[i : i + chunk].float() / 255.0, resolution))
                      for i in range(0, len(x), chunk)])


def load_npz(path: Path, resolution: int, split: str, o: Options) -> Data:
    """Arrays from a ``.npz`` (or ``.npy``) file.

    Keys: the examples under ``x`` (or ``images``, ``X``, ``data``, ``arr_0``; a file with a
    single array may use any name); labels under ``y`` (or ``labels``, ``Y``, ``targets``),
    optional ``class_names`` (strings); paired inputs under ``a`` (or ``A``, ``inputs``), which
    makes the data kind "paired". ``split="test"`` uses the same keys with a ``_test`` suffix
    (``x_test``, ``y_test``, ``a_test``) when present.

    Examples: a 2-D float array [N, D] is kind "points" (float32, used as is). Images are
    [N, H, W], [N, H, W, C] or [N, C, H, W] (C = 1, 3, or 4 with alpha dropped); uint8 as is,
    floats in [0, 1] or [-1, 1] (or [0, 255]) are scaled to uint8. Non-square images are
    centre-cropped, then resized to the resolution.
    """
    arrays = formats.read_npz(path)
    suffix, note = "", {}
    if split == "test":
        if formats.pick(arrays, formats.X_KEYS, "_test"):
            suffix = "_test"
        else:
            note["split"] = "test requested, no x_test in the file: using the training arrays"
    found = formats.pick(arrays, formats.X_KEYS, suffix)
    if found is None:
        plain = [k for k in arrays if not k.endswith("_test")]
        if len(plain) != 1:
            raise UserError(f"{path}: no examples array; name it 'x' (found keys: {', '.join(arrays) or 'none'})")
        found = (plain[0], arrays[plain[0]])
    xkey, x = found
    where = f"{path}[{xkey}]"
    y = None
    yf = formats.pick(arrays, formats.Y_KEYS, suffix)
    if yf is not None and o.labels:
        y = formats.labels_array(yf[1], len(x), f"{path}[{yf[0]}]")
    names = []
    if y is not None:
        if "class_names" in arrays:
            names = [str(s) for s in np.asarray(arrays["class_names"]).reshape(-1)]
            if len(names) <= int(y.max(initial=0)):
                raise UserError(f"{path}[class_names]: {len(names)} names but labels go up to {int(y.max())}")
        else:
            names = [str(i) for i in range(int(y.max(initial=-1)) + 1)]
    yt = None if y is None else torch.from_numpy(y)
    info = {"format": "npz", "key": xkey, **note}
    if x.ndim == 2:
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise UserError(f"{where}: points must be numeric, got dtype {x.dtype}")
        if not np.isfinite(x).all():
            raise UserError(f"{where}: contains NaN or infinite values")
        return Data(str(path), "points", torch.from_numpy(x.astype(np.float32)), yt, names, info)
    xi = resize_uint8(torch.from_numpy(formats.images_nchw(x, where)), resolution, o.crop)
    af = formats.pick(arrays, formats.A_KEYS, suffix)
    if af is None:
        return Data(str(path), "images", xi, yt, names, info)
    a = formats.images_nchw(af[1], f"{path}[{af[0]}]", keep_alpha=True)
    if len(a) != len(xi):
        raise UserError(f"{path}[{af[0]}]: {len(a)} inputs for {len(xi)} targets; paired arrays must match")
    a = resize_uint8(torch.from_numpy(a), o.a_resolution or resolution, o.crop)
    d = pair_data(path, a, xi, o, "paired", info)
    d.y, d.class_names = yt, names
    return d


def pair_data(root: Path, a: torch.Tensor, b: torch.Tensor, o: Options, kind: str, info: dict) -> Data:
    """Inputs ``a`` and targets ``b`` as a :class:`Data` of ``kind``, in ``o.direction``."""
    if o.direction == "BtoA":
        a, b = b, a
    return Data(str(root), kind, b, None, [], {**info, "direction": o.direction}, a=a)


def load_array_split(p: Path, fmt: str, resolution: int, split: str, o: Options) -> Data:
    """An ``.npz``/``.npy`` file, MNIST IDX files or CIFAR batches as in-memory :class:`Data`."""
    if fmt == "npz":
        return load_npz(p, resolution, split, o)
    loader = formats.load_idx_split if fmt == "idx" else formats.load_cifar_split
    x, y, names, info = loader(p, split)
    x = resize_uint8(torch.from_numpy(x), resolution, o.crop)
    use = o.labels and y is not None
    return Data(str(p), "images", x, torch.from_numpy(y) if use else None, names if use else [],
                {"format": fmt, **info})
