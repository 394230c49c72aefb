"""Procedural scenes: coloured shapes with their label maps, class labels and captions.

A scene is 1..``max_shapes`` non-overlapping shapes (circle, square, triangle) in one of
four colours and two sizes, on a plain background. Everything is drawn from a seeded
generator, so a dataset is a pure function of its arguments, and every image comes with:

* ``y``: the class of the *first* shape (the one the caption starts with):
  ``3 * colour + kind``, 12 classes named like ``"red circle"``;
* ``seg``: a per-pixel label map, uint8 [N, 1, R, R]. With ``seg="kind"`` (default) the
  classes are background + shape kinds (``info["seg_classes"]`` = background, circle,
  square, triangle); with ``seg="kind_color"`` background + the 12 colour-kind pairs;
* ``captions``: e.g. ``"a small red circle above a large blue square"`` (relation of the first
  shape to the second by the larger of the horizontal/vertical offsets) or, for one shape,
  ``"a large green triangle in the top left"`` / ``"... at the top"`` / ``"... on the left"`` /
  ``"... in the centre"``.

Two renderings of the same scene description: ``flat`` (solid colours, antialiased) and
``shaded`` (light from the top left: a brightness gradient across each shape, a highlight on
circles, a vertical background gradient and a soft drop shadow). ``scenes-flat2shaded`` uses
them as two domains for unpaired translation; ``scenes-labels2photo`` pairs each scene's one-hot
label map with its image (SPADE's task as paired data, for pix2pix).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import UserError
from .base import Data, register_dataset, to_uint8

KINDS = ("circle", "square", "triangle")
COLORS = {"red": (220, 45, 45), "green": (45, 175, 70), "blue": (55, 95, 225), "yellow": (235, 205, 45)}
SIZES = {"small": (0.08, 0.11), "large": (0.15, 0.19)}  # "radius" as a fraction of the side
BACKGROUND = (32, 32, 40)
CLASS_NAMES = [f"{c} {k}" for c in COLORS for k in KINDS]  # y = 3 * colour + kind
_SPLIT_SALT = {"train": 0, "test": 1}
_BOUND = 1.25  # bounding-circle radius / r for every kind (triangle circumradius is 1.2 r)


def default_n(resolution: int, split: str) -> int:
    """Scenes per split: 4,096 train (fewer at large resolutions: ~64 MB), a quarter as many test."""
    n = min(4096, max(64, 2**26 // (4 * resolution * resolution)))
    return n if split == "train" else max(16, n // 4)


def sample_scenes(n: int, seed: int, max_shapes: int = 2) -> dict:
    """Scene descriptions: arrays [n, max_shapes] of kind, colour, size, cx, cy, r, active.

    Positions are rejection-sampled so bounding circles do not touch: shapes never overlap,
    which keeps captions and label maps unambiguous.
    """
    rng = np.random.default_rng(seed)
    m = max_shapes
    out = {k: np.zeros((n, m), dtype) for k, dtype in
           (("kind", np.int64), ("color", np.int64), ("size", np.int64), ("cx", np.float64),
            ("cy", np.float64), ("r", np.float64), ("active", bool))}
    sizes = list(SIZES.values())
    for i in range(n):
        count = int(rng.integers(1, m + 1))
        placed = []
        for j in range(count):
            size = int(rng.integers(2))
            r = rng.uniform(*sizes[size])
            for _ in range(100):
                b = _BOUND * r + 0.02
                cx, cy = rng.uniform(b, 1 - b, size=2)
                if all(math.hypot(cx - px, cy - py) > _BOUND * (r + pr) + 0.03 for px, py, pr in placed):
                    break
            else:
                break  # no room: the scene keeps the shapes placed so far
            placed.append((cx, cy, r))
            for k, v in (("kind", rng.integers(3)), ("color", rng.integers(len(COLORS))), ("size", size),
                         ("cx", cx), ("cy", cy), ("r", r), ("active", True)):
                out[k][i, j] = v
    return out


def _phrase(sc: dict, i: int, j: int) -> str:
    return (f"a {list(SIZES)[sc['size'][i, j]]} {list(COLORS)[sc['color'][i, j]]} "
            f"{KINDS[sc['kind'][i, j]]}")


def caption(sc: dict, i: int) -> str:
    """The caption of scene ``i``: its shapes in order, the first two related by position."""
    count = int(sc["active"][i].sum())
    first = _phrase(sc, i, 0)
    if count == 1:
        cx, cy = sc["cx"][i, 0], sc["cy"][i, 0]
        v = "top" if cy < 0.4 else "bottom" if cy > 0.6 else ""
        h = "left" if cx < 0.4 else "right" if cx > 0.6 else ""
        if v and h:
            return f"{first} in the {v} {h}"
        if v or h:
            return f"{first} {'at the' if v else 'on the'} {v or h}"
        return f"{first} in the centre"
    dx = sc["cx"][i, 1] - sc["cx"][i, 0]
    dy = sc["cy"][i, 1] - sc["cy"][i, 0]  # image rows grow downwards
    rel = ("above" if dy > 0 else "below") if abs(dy) >= abs(dx) else ("left of" if dx > 0 else "right of")
    text = f"{first} {rel} {_phrase(sc, i, 1)}"
    rest = [_phrase(sc, i, j) for j in range(2, count)]
    return text + "".join(f" and {p}" for p in rest)


def _shape_mask(kind: int, X, Y, cx, cy, r) -> torch.Tensor:
    """Boolean masks [n, H, W] of one kind of shape; X, Y are [1, H, W] pixel-centre coordinates."""
    dx, dy = X - cx, Y - cy
    if kind == 0:  # circle of radius r
        return dx * dx + dy * dy <= r * r
    if kind == 1:  # axis-aligned square of half-side 0.9 r (same area as the circle, roughly)
        return torch.maximum(dx.abs(), dy.abs()) <= 0.9 * r
    # equilateral triangle pointing up, centroid (cx, cy), circumradius R = 1.2 r: below the
    # apex at depth d its half-width is d / sqrt(3); the base lies at cy + R / 2.
    R = 1.2 * r
    depth = dy + R
    return (dy <= R / 2) & (depth >= 0) & (dx.abs() <= depth / math.sqrt(3))


def _gauss_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of [n, 1, H, W] (zero padding: no shadow comes in from outside).

    Written as a weighted sum of shifted copies: for these few-tap, one-channel kernels that
    is much faster on CPU than conv2d.
    """
    rad = max(1, int(3 * sigma))
    t = torch.arange(-rad, rad + 1, dtype=torch.float64)
    k = torch.exp(-t * t / (2 * sigma * sigma))
    k = (k / k.sum()).tolist()
    h, w = x.shape[-2:]
    p = F.pad(x, (rad, rad, 0, 0))
    x = sum(k[i] * p[..., :, i : i + w] for i in range(len(k)))
    p = F.pad(x, (0, 0, rad, rad))
    return sum(k[i] * p[..., i : i + h, :] for i in range(len(k)))


def render(sc: dict, resolution: int, style: str = "flat", seg: str = "kind", chunk: int = 0):
    """Images uint8 [n, 3, R, R] and label maps uint8 [n, 1, R, R] of scene descriptions ``sc``.

    Shapes are rendered at ``ss`` x ``ss`` samples per pixel and box-filtered (antialiasing);
    a pixel's label is the shape covering at least half of it, else background. Scenes are
    processed ``chunk`` at a time (0: about 4M supersamples per chunk), few large tensor ops
    rather than many small ones.
    """
    if style not in ("flat", "shaded"):
        raise UserError(f"data.kwargs.style must be 'flat' or 'shaded', got {style!r}")
    if seg not in ("kind", "kind_color"):
        raise UserError(f"data.kwargs.seg must be 'kind' or 'kind_color', got {seg!r}")
    n, m = sc["kind"].shape
    R = resolution
    ss = 4 if R <= 16 else 2 if R <= 128 else 1
    S = R * ss
    chunk = chunk or max(16, 2**22 // (S * S))
    coords = (torch.arange(S, dtype=torch.float32) + 0.5) / S
    X, Y = coords.view(1, 1, S), coords.view(1, S, 1)  # sample positions
    pix = (torch.arange(R, dtype=torch.float32) + 0.5) / R
    Xp, Yp = pix.view(1, 1, R), pix.view(1, R, 1)  # pixel centres
    colors = torch.tensor(list(COLORS.values()), dtype=torch.float32) / 255.0
    bg = torch.tensor(BACKGROUND, dtype=torch.float32).view(1, 3, 1, 1) / 255.0
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sc.items()}
    imgs, segs = [], []
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        c = e - s
        img = bg.expand(c, 3, R, R).clone()
        if style == "shaded":  # background lit from above: brighter at the top
            img = img * (1.35 - 0.6 * Yp.view(1, 1, R, 1))
        label = torch.zeros(c, 1, R, R, dtype=torch.uint8)
        covers, fills = [], []
        for j in range(m):
            act = t["active"][s:e, j]
            cx = t["cx"][s:e, j].float().view(-1, 1, 1)
            cy = t["cy"][s:e, j].float().view(-1, 1, 1)
            r = t["r"][s:e, j].float().view(-1, 1, 1)
            kind = t["kind"][s:e, j]
            mask = torch.zeros(c, S, S, dtype=torch.bool)
            for k in range(3):
                sel = (kind == k) & act
                if sel.any():
                    mask[sel] = _shape_mask(k, X, Y, cx[sel], cy[sel], r[sel])
            cover = F.avg_pool2d(mask.float().unsqueeze(1), ss) if ss > 1 else mask.float().unsqueeze(1)
            col = colors[t["color"][s:e, j]].view(c, 3, 1, 1)
            if style == "shaded":
                # Brightness falls from the top-left to the bottom-right of each shape. Shading
                # is smooth, so it is computed per pixel; only the coverage is supersampled.
                g = ((Xp - cx) + (Yp - cy)) / (2 * _BOUND * r)  # ~[-0.7, 0.7] over the shape
                fill = col * (1.0 - 0.6 * g).clamp(0.5, 1.5).unsqueeze(1)
                hl = torch.exp(-((Xp - cx + 0.35 * r) ** 2 + (Yp - cy + 0.35 * r) ** 2) / (2 * (0.3 * r) ** 2))
                hl = hl * (kind == 0).view(-1, 1, 1)  # a specular spot on circles only
                fill = fill + (1 - fill).clamp(min=0) * 0.7 * hl.unsqueeze(1)
            else:
                fill = col
            covers.append(cover)
            fills.append(fill)
            cls = (kind + 1) if seg == "kind" else (1 + 3 * t["color"][s:e, j] + kind)
            label = torch.where((cover >= 0.5) & act.view(-1, 1, 1, 1),
                                cls.to(torch.uint8).view(-1, 1, 1, 1), label)
        if style == "shaded":  # soft drop shadow of all shapes, offset down-right, on the background
            union = torch.stack(covers).sum(0).clamp(max=1)
            d = max(1, round(0.04 * R))
            shifted = F.pad(union, (d, 0, d, 0))[..., :R, :R]
            img = img * (1 - 0.55 * _gauss_blur(shifted, max(0.6, 0.03 * R)))
        for cover, fill in zip(covers, fills):
            img = img * (1 - cover) + fill * cover
        imgs.append(to_uint8(img.clamp(0, 1)))
        segs.append(label)
    return torch.cat(imgs), torch.cat(segs)


@functools.lru_cache(maxsize=4)
def _scenes(n: int, seed: int, max_shapes: int) -> tuple[dict, tuple[str, ...]]:
    sc = sample_scenes(n, seed, max_shapes)
    return sc, tuple(caption(sc, i) for i in range(n))


def _describe_args(resolution: int, split: str, n: int, max_shapes: int) -> int:
    if split not in _SPLIT_SALT:
        raise ValueError(f"unknown split {split!r}")
    if resolution < 8:
        raise UserError(f"data.resolution: scenes need at least 8 pixels, got {resolution}")
    if not 1 <= max_shapes <= 3:
        raise UserError(f"data.kwargs.max_shapes must be 1, 2 or 3, got {max_shapes}")
    return n or default_n(resolution, split)


def _seg_names(seg: str) -> list[str]:
    return ["background", *KINDS] if seg == "kind" else ["background", *CLASS_NAMES]


def _labels(sc: dict) -> torch.Tensor:
    return torch.from_numpy(3 * sc["color"][:, 0] + sc["kind"][:, 0]).long()


def _info(seg: str, style, max_shapes: int, **extra) -> dict:
    return {"seg_classes": _seg_names(seg), "style": style, "max_shapes": max_shapes,
            "label": "colour and kind of the first shape in the caption", **extra}


@register_dataset("scenes", "procedural shapes (circle/square/triangle, 4 colours, 2 sizes) with "
                  "label maps (Data.seg) and captions; label = first shape's colour+kind", "dcgan")
def scenes(resolution: int = 32, split: str = "train", n: int = 0, seed: int = 0, max_shapes: int = 2,
           style: str = "flat", seg: str = "kind") -> Data:
    """``n`` scenes (0: 4,096 train / 1,024 test at small resolutions) as kind ``"images"``.

    ``x`` uint8 [N, 3, R, R]; ``y`` in 0..11 (:data:`CLASS_NAMES`); ``seg`` uint8 [N, 1, R, R]
    with classes ``info["seg_classes"]``; ``captions`` one string per scene. Scenes are drawn
    from a generator seeded by ``(seed, split)``; ``style`` is ``"flat"`` or ``"shaded"``.
    Horizontal flips (``data.flip``) are refused for this data: they would swap "left of" and
    "right of" in the captions.
    """
    n = _describe_args(resolution, split, n, max_shapes)
    sc, caps = _scenes(n, seed * 1_000_003 + 11 + _SPLIT_SALT[split], max_shapes)
    x, s = render(sc, resolution, style, seg)
    return Data("scenes", "images", x, _labels(sc), list(CLASS_NAMES), _info(seg, style, max_shapes),
                seg=s, captions=list(caps))


@register_dataset("scenes-flat2shaded", "unpaired: flat-rendered scenes (A) -> shaded scenes (B), drawn "
                  "independently; split=test is paired (same scenes both ways)", "cyclegan")
def scenes_flat2shaded(resolution: int = 32, split: str = "train", n: int = 0, seed: int = 0,
                       max_shapes: int = 2, seg: str = "kind", paired: bool = False) -> Data:
    """Two domains for unpaired translation (CycleGAN, Zhu et al. 2017): flat -> shaded.

    ``n`` scenes per domain (0: 2,048 train / 512 test at small resolutions, about the size of
    CycleGAN's horse2zebra).

    ``split="train"``: kind ``"unpaired"``; ``a`` = flat renderings of one set of scenes and
    ``x`` = shaded renderings of an independent set, so no image has a partner. ``y``, ``seg``
    and ``captions`` describe ``x``.
    ``split="test"``: kind ``"paired"``; the *same* scenes rendered both ways (``a[i]`` flat,
    ``x[i]`` shaded), the ground truth for evaluating a translator (e.g. per-pixel error, or
    FID of G(a) against x); ``seg`` and ``captions`` fit both.
    ``paired=True`` (``--set data.kwargs.paired=true``) makes the train split paired too (the
    same scenes both ways): the supervised upper bound for CycleGAN (e.g. pix2pix on it).
    """
    n = _describe_args(resolution, split, n or default_n(resolution, split) // 2, max_shapes)
    base = seed * 1_000_003 + 211 + 2 * _SPLIT_SALT[split]
    sc_b, caps = _scenes(n, base, max_shapes)
    x, s = render(sc_b, resolution, "shaded", seg)
    if split == "test" or paired:
        a, _ = render(sc_b, resolution, "flat", seg)
        same_scenes = True
    else:
        sc_a, _ = _scenes(n, base + 1, max_shapes)
        a, _ = render(sc_a, resolution, "flat", seg)
        same_scenes = False
    return Data("scenes-flat2shaded", "paired" if same_scenes else "unpaired", x, _labels(sc_b), list(CLASS_NAMES),
                _info(seg, {"A": "flat", "B": "shaded"}, max_shapes,
                      correspondence="paired by index" if same_scenes else "none (unpaired)"),
                a=a, seg=s, captions=list(caps))


def onehot_labels(seg: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Label maps uint8 [N, 1, R, R] -> one-hot uint8 [N, K, R, R]: 255 where the pixel's class is
    channel k, else 0 (as floats +1 / -1, the range of ``masked2photo``'s mask channel)."""
    return F.one_hot(seg[:, 0].long(), num_classes).permute(0, 3, 1, 2).to(torch.uint8).mul_(255).contiguous()


@register_dataset("scenes-labels2photo", "paired: scene label map (one-hot, 4 channels) -> the scene's image; "
                  "the same scenes as `scenes` (pix2pix vs spade)", "pix2pix")
def scenes_labels2photo(resolution: int = 32, split: str = "train", n: int = 0, seed: int = 0,
                        max_shapes: int = 2, style: str = "flat", seg: str = "kind") -> Data:
    """Semantic image synthesis as paired translation: SPADE's task for pix2pix.

    Built from :func:`scenes` with the same arguments, so each split holds *exactly* the scenes
    of ``scenes`` (same seeds, same ``n`` defaults, same label maps and images): a pix2pix
    trained here and a SPADE trained on ``scenes`` are scored on identical held-out label maps.

    Input ``a``: the label map one-hot, uint8 [N, K, R, R] (K = 4 for ``seg="kind"``: background,
    circle, square, triangle; 13 for ``seg="kind_color"``), 255 in the pixel's class channel and
    0 elsewhere; ``info["input_onehot"]`` marks it, so translation recipes take class ids as
    inputs (``gankit translate``, the studio) and picture them as label maps. Target ``x``:
    the scene's image [N, 3, R, R]. ``seg`` (the label map) and ``y`` are kept; captions are not
    (this task does not use them), so ``data.flip`` is allowed: the shapes are left-right
    symmetric and their positions uniform, so a mirrored flat scene is another valid scene
    (``style="shaded"`` targets would be lit from the wrong side).
    """
    d = scenes(resolution, split, n, seed, max_shapes, style, seg)
    a = onehot_labels(d.seg, len(d.info["seg_classes"]))
    info = {**d.info, "input_onehot": True,
            "input": "one-hot label map: channel k = 255 where the class is seg_classes[k], else 0"}
    return Data("scenes-labels2photo", "paired", d.x, d.y, list(d.class_names), info, a=a, seg=d.seg)
