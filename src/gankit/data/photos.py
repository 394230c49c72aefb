"""Photos: random crops of the sample photographs shipped in scikit-image and scikit-learn,
and the paired image-to-image tasks derived from them (edges, gray, low-res, masked -> photo).

Every crop comes from a seeded generator, so a dataset is a pure function of its arguments.
Train and test never overlap: each photo is split spatially, its right-hand strip
(a quarter of the width, at least one crop wide) is reserved for test crops and the rest for
train crops.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import UserError
from .base import Data, convert_channels, register_dataset, to_uint8

# The colour photographs that load offline (bundled in the wheels, no pooch download).
# Grayscale samples (camera, moon, coins, ...) are left out: gray2color needs colour targets.
PHOTOS = {
    "astronaut": "skimage", "coffee": "skimage", "chelsea": "skimage", "rocket": "skimage",
    "immunohistochemistry": "skimage", "hubble_deep_field": "skimage", "retina": "skimage",
    "china": "sklearn", "flower": "sklearn",
}
_SPLIT_SALT = {"train": 0, "test": 1}


def _load_photo(name: str) -> torch.Tensor:
    """One photo as uint8 [3, H, W]."""
    if PHOTOS[name] == "skimage":
        import skimage.data

        arr = getattr(skimage.data, name)()
    else:
        from PIL import Image

        from .digits import sklearn_file

        f = sklearn_file("datasets", "images", f"{name}.jpg")
        if f is None:
            from sklearn.datasets import load_sample_image

            arr = load_sample_image(f"{name}.jpg")
        else:  # the file load_sample_image reads, without importing sklearn.datasets
            with Image.open(f) as im:
                arr = np.asarray(im.convert("RGB"))
    return torch.from_numpy(arr[..., :3].copy()).permute(2, 0, 1).contiguous()


@functools.lru_cache(maxsize=4)
def photo_bank(short_side: int) -> tuple[tuple[str, torch.Tensor], ...]:
    """Every photo resized (antialiased bilinear) so its shorter side is ``short_side``.

    Normalising the scale makes a crop of k pixels cover a similar share of every photo,
    whether it is the 300-px cat or the 1,411-px retina.
    """
    out = []
    for name in PHOTOS:
        p = _load_photo(name).float().unsqueeze(0) / 255.0
        h, w = p.shape[-2:]
        s = short_side / min(h, w)
        size = (max(short_side, round(h * s)), max(short_side, round(w * s)))
        p = F.interpolate(p, size=size, mode="bilinear", align_corners=False, antialias=s < 1)
        out.append((name, to_uint8(p)[0]))
    return tuple(out)


def test_strip(width: int, crop: int) -> int:
    """Width of the right-hand strip of a photo reserved for test crops."""
    return max(math.ceil(width / 4), crop)


def default_n(resolution: int, split: str) -> int:
    """Crops per split: 4,096 train (fewer at large resolutions: ~64 MB of uint8), 1/8 as many test."""
    n = min(4096, max(64, 2**26 // (3 * resolution * resolution)))
    return n if split == "train" else max(16, n // 8)


def bank_short_side(resolution: int, crop: int) -> int:
    """Shorter side of the photos the crops are cut from: ``max(256, 2*crop)`` scaled by
    ``resolution / crop``, so a ``resolution``-pixel window is a ``crop``-pixel crop already
    resized (one resize per photo instead of one per crop)."""
    return round(max(256, 2 * crop) * resolution / crop)


@functools.lru_cache(maxsize=4)
def photo_crops(resolution: int, split: str, n: int, crop: int, seed: int):
    """``n`` random crops [n, 3, R, R] uint8, their photo index [n] and boxes [n, 3] (photo, top, left).

    A crop covers ``crop`` x ``crop`` pixels of a photo scaled to shorter side
    ``max(256, 2*crop)``, shown at ``resolution``; it is cut as an R x R window of the photo
    scaled to :func:`bank_short_side` (boxes are in that photo's pixels). The photo is uniform
    over :data:`PHOTOS`, the position uniform within the split's region (train: left of the
    test strip; test: inside it).
    """
    if split not in _SPLIT_SALT:
        raise ValueError(f"unknown split {split!r}")
    bank = photo_bank(bank_short_side(resolution, crop))
    r = resolution
    g = torch.Generator().manual_seed(seed * 1_000_003 + 17 + _SPLIT_SALT[split])
    which = torch.randint(len(bank), (n,), generator=g)
    u = torch.rand(n, 2, generator=g, dtype=torch.float64)
    xs, boxes = [], []
    for i in range(n):
        img = bank[int(which[i])][1]
        h, w = img.shape[-2:]
        strip = test_strip(w, r)
        lo, hi = (0, w - strip - r) if split == "train" else (w - strip, w - r)
        top = int(u[i, 0] * (h - r + 1))
        left = lo + int(u[i, 1] * (hi - lo + 1))
        xs.append(img[:, top : top + r, left : left + r])
        boxes.append((int(which[i]), top, left))
    return torch.stack(xs), which, torch.tensor(boxes)


def _photo_args(resolution: int, split: str, n: int, crop: int) -> tuple[int, int]:
    if resolution < 4:
        raise UserError(f"data.resolution: photos need at least 4 pixels, got {resolution}")
    crop = crop or max(resolution, 64)
    if crop < 4:
        raise UserError(f"data.kwargs.crop must be >= 4 pixels, got {crop}")
    return (n or default_n(resolution, split)), crop


def _info(crop: int, **extra) -> dict:
    return {"photos": list(PHOTOS), "crop": crop, "source_short_side": max(256, 2 * crop),
            "test_region": "right strip of each photo (1/4 of its width, at least one crop)",
            "sources": "skimage.data + sklearn.datasets.load_sample_images", **extra}


@register_dataset("photos", "random crops of the 9 colour sample photos in scikit-image/scikit-learn; "
                  "test crops from a held-out strip; label = photo", "dcgan")
def photos(resolution: int = 64, split: str = "train", n: int = 0, crop: int = 0, seed: int = 0) -> Data:
    """``n`` RGB crops (uint8) at ``resolution``, labelled by the photo they come from.

    ``crop`` is the crop size in source pixels (photos scaled to shorter side
    ``max(256, 2*crop)``); 0 means ``max(resolution, 64)``, so small resolutions still show
    recognisable parts of the photos rather than texture. ``n`` = 0 picks 4,096 train /
    512 test crops (fewer at large resolutions). Test crops come from a strip of every photo that
    train crops never touch.
    """
    n, crop = _photo_args(resolution, split, n, crop)
    x, y, _ = photo_crops(resolution, split, n, crop, seed)
    return Data("photos", "images", x, y, list(PHOTOS), _info(crop))


# ---------------------------------------------------------------------- paired tasks
def _paired(name: str, a: torch.Tensor, x: torch.Tensor, y: torch.Tensor, crop: int, **extra) -> Data:
    return Data(name, "paired", x, y, list(PHOTOS), _info(crop, **extra), a=a)


def sobel_edges(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Edge maps uint8 [N, 1, H, W] of images uint8 [N, C, H, W]: dark lines on white.

    Sobel gradient magnitude (the 3x3 Sobel-Feldman kernels) of the luma in [0, 1], per image
    with replicate padding, mapped to ``255 * (1 - min(1, mag / scale))``; a step
    of 1/4 of the intensity range already gives a full-strength line. (Not
    ``skimage.filters.sobel``: on a stack [N, H, W] it also smooths across the N axis, mixing
    neighbouring images.)
    """
    gray = convert_channels(x, 1).float() / 255.0
    p = F.pad(gray, (1, 1, 1, 1), mode="replicate")  # [N, 1, H+2, W+2]
    h, w = gray.shape[-2:]
    # the separable kernels, as shifted slices (much faster than a 1-channel conv2d on CPU):
    # d/dx = [1, 2, 1]^T (x) [-1, 0, 1], d/dy its transpose
    dx = p[..., :, 2:] - p[..., :, :-2]  # [N, 1, H+2, W]
    dy = p[..., 2:, :] - p[..., :-2, :]  # [N, 1, H, W+2]
    gx = dx[..., :h, :] + 2 * dx[..., 1 : h + 1, :] + dx[..., 2:, :]
    gy = dy[..., :w] + 2 * dy[..., 1 : w + 1] + dy[..., 2:]
    mag = (gx * gx + gy * gy).sqrt()
    return to_uint8(1.0 - (mag / scale).clamp(0, 1))


def canny_edges(x: torch.Tensor, sigma: float = 1.5) -> torch.Tensor:
    """Binary edge maps uint8 [N, 1, H, W] (0 on edges, 255 elsewhere) from skimage's Canny."""
    from skimage.feature import canny

    gray = convert_channels(x, 1)[:, 0].float().numpy() / 255.0
    e = torch.stack([torch.from_numpy(canny(g, sigma=sigma)) for g in gray])
    return (~e).to(torch.uint8).mul_(255).unsqueeze(1)


@register_dataset("edges2photo", "paired: edge map (Sobel, 1 channel, dark on white) -> photo crop", "pix2pix")
def edges2photo(resolution: int = 64, split: str = "train", n: int = 0, crop: int = 0, seed: int = 0,
                edges: str = "sobel") -> Data:
    """Input ``a``: the crop's edges, uint8 [N, 1, R, R]; target ``x``: the crop [N, 3, R, R].

    ``edges="sobel"`` (default; soft gradient magnitude, fast) or ``"canny"`` (skimage's Canny,
    sigma 1.5, binary like the HED/Canny sketches of pix2pix's edges2* sets; slower).
    """
    n, crop = _photo_args(resolution, split, n, crop)
    x, y, _ = photo_crops(resolution, split, n, crop, seed)
    if edges == "sobel":
        a = sobel_edges(x)
    elif edges == "canny":
        a = canny_edges(x)
    else:
        raise UserError(f"data.kwargs.edges must be 'sobel' or 'canny', got {edges!r}")
    return _paired("edges2photo", a, x, y, crop, input=f"{edges} edges, dark on white")


@register_dataset("gray2color", "paired: grayscale crop (1 channel) -> colour crop", "pix2pix")
def gray2color(resolution: int = 64, split: str = "train", n: int = 0, crop: int = 0, seed: int = 0) -> Data:
    """Input ``a``: the crop's luma (ITU-R 601), uint8 [N, 1, R, R]; target ``x``: the RGB crop."""
    n, crop = _photo_args(resolution, split, n, crop)
    x, y, _ = photo_crops(resolution, split, n, crop, seed)
    return _paired("gray2color", convert_channels(x, 1), x, y, crop, input="luma 0.299R+0.587G+0.114B")


@register_dataset("lowres2highres", "paired: crop downsampled x4 (kept at resolution/4) -> crop", "srgan")
def lowres2highres(resolution: int = 64, split: str = "train", n: int = 0, crop: int = 0, seed: int = 0,
                   factor: int = 4) -> Data:
    """Super-resolution pairs: ``a`` uint8 [N, 3, R/f, R/f], ``x`` uint8 [N, 3, R, R].

    The input is the target downsampled by ``factor`` (bicubic, antialiased) and stored at the
    small size, not upsampled back: SRGAN (Ledig et al. 2017) and ESRGAN upsample inside the
    generator, so they want the small input; a model that needs a same-size input can apply
    ``F.interpolate(a, scale_factor=factor, mode="bicubic")`` itself.
    """
    if factor < 2 or resolution % factor or resolution // factor < 2:
        raise UserError(f"data.resolution: lowres2highres needs a resolution divisible by factor={factor} "
                        f"with at least 2 low-res pixels, got {resolution}")
    n, crop = _photo_args(resolution, split, n, crop)
    x, y, _ = photo_crops(resolution, split, n, crop, seed)
    small = F.interpolate(x.float() / 255.0, scale_factor=1 / factor, mode="bicubic",
                          align_corners=False, antialias=True)
    return _paired("lowres2highres", to_uint8(small.clamp(0, 1)), x, y, crop, factor=factor,
                   input=f"bicubic x{factor} downsampled, stored at resolution/{factor}")


@register_dataset("masked2photo", "paired: crop with a gray rectangular hole + hole mask (4 channels) "
                  "-> crop (inpainting)", "pix2pix")
def masked2photo(resolution: int = 64, split: str = "train", n: int = 0, crop: int = 0, seed: int = 0,
                 holes: int = 1) -> Data:
    """Inpainting pairs: ``a`` uint8 [N, 4, R, R], ``x`` the crop uint8 [N, 3, R, R].

    Convention: ``a[:, :3]`` is the crop with 1..``holes`` random rectangles (each side 1/4 to
    1/2 of the image) filled with mid-gray 128, ``a[:, 3]`` the mask, 255 inside a hole and 0
    elsewhere (as floats: +1 hole, -1 known), as in the context-encoder setting (Pathak et al.
    2016). Holes are drawn from a generator seeded by ``(seed, split)``.
    """
    if holes < 1:
        raise UserError(f"data.kwargs.holes must be >= 1, got {holes}")
    n, crop = _photo_args(resolution, split, n, crop)
    x, y, _ = photo_crops(resolution, split, n, crop, seed)
    g = torch.Generator().manual_seed(seed * 1_000_003 + 4242 + _SPLIT_SALT[split])
    r = resolution
    lo, hi = max(1, r // 4), max(1, r // 2)
    count = torch.randint(1, holes + 1, (n,), generator=g)
    hw = torch.randint(lo, hi + 1, (n, holes, 2), generator=g)
    pos = torch.rand(n, holes, 2, generator=g)
    rows = torch.arange(r).view(1, r, 1)
    cols = torch.arange(r).view(1, 1, r)
    mask = torch.zeros(n, r, r, dtype=torch.bool)
    for k in range(holes):
        h, w = hw[:, k, 0], hw[:, k, 1]
        top = (pos[:, k, 0] * (r - h + 1)).long()
        left = (pos[:, k, 1] * (r - w + 1)).long()
        inside = ((rows >= top.view(-1, 1, 1)) & (rows < (top + h).view(-1, 1, 1))
                  & (cols >= left.view(-1, 1, 1)) & (cols < (left + w).view(-1, 1, 1)))
        mask |= inside & (k < count).view(-1, 1, 1)
    m = mask.unsqueeze(1)  # [n, 1, R, R]
    holed = torch.where(m, torch.full_like(x, 128), x)
    a = torch.cat([holed, m.to(torch.uint8) * 255], 1)
    return _paired("masked2photo", a, x, y, crop, holes=holes,
                   input="RGB with holes = 128, channel 3 = mask (255 hole, 0 known)")
