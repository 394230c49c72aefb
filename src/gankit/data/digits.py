"""The 1,797 UCI 8x8 handwritten digits shipped inside scikit-learn, with labels."""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
import torch

from .base import Data, register_dataset, resize_images, to_uint8

N_TEST = 360  # fixed held-out split: the last 360 of a seed-0 permutation


@functools.lru_cache(maxsize=8)
def digits_uint8(resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits as uint8 [N, 1, R, R] (white strokes on black) and labels [N].

    The 8x8 images (values 0..16) are scaled to [0, 1], resized bilinearly to ``resolution``,
    then quantised. Every consumer (training data, the digits feature extractor, metrics)
    goes through this one function so their pixels agree exactly.
    """
    images, target = _load_digits()
    x = torch.from_numpy(images).float().unsqueeze(1) / 16.0  # [N, 1, 8, 8] in [0, 1]
    x = resize_images(x, resolution)
    return to_uint8(x), torch.from_numpy(target).long()


def sklearn_file(*parts: str) -> Path | None:
    """A data file shipped inside the scikit-learn package, located without importing it.

    ``import sklearn.datasets`` takes seconds; reading the same bundled file directly keeps
    ``gankit data list`` and the first training step quick.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    f = Path(next(iter(spec.submodule_search_locations)), *parts)
    return f if f.is_file() else None


def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images float [1797, 8, 8] in 0..16, labels [1797]) exactly as ``load_digits`` gives them."""
    f = sklearn_file("datasets", "data", "digits.csv.gz")
    if f is None:  # an unusual install: let sklearn find its file
        from sklearn.datasets import load_digits

        d = load_digits()
        return d.images, d.target
    data = np.loadtxt(f, delimiter=",")  # what load_digits reads: 64 pixels, then the label
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(np.int64)


def digits_split(split: str) -> torch.Tensor:
    """Indices of the fixed ``train`` (1,437) / ``test`` (360) split; ``all`` is every index."""
    perm = torch.randperm(1797, generator=torch.Generator().manual_seed(0))
    if split == "train":
        return perm[:-N_TEST]
    if split == "test":
        return perm[-N_TEST:]
    if split == "all":
        return torch.arange(1797)
    raise ValueError(f"unknown split {split!r}")


@register_dataset("digits", "sklearn's 1,797 8x8 handwritten digits (10 classes), resized", "cgan")
def digits(resolution: int = 32, split: str = "train") -> Data:
    """The fixed train (1,437) / test (360) split of the digits at ``resolution`` (any size)."""
    x, y = digits_uint8(resolution)
    idx = digits_split(split)
    return Data("digits", "images", x[idx], y[idx], [str(i) for i in range(10)],
                {"source": "sklearn.datasets.load_digits"})


# -------------------------------------------------------------------------- stacked digits
_STACKED_SEED = {"train": 0, "test": 1}


@register_dataset("stacked-digits", "Stacked-MNIST protocol on the sklearn digits: 3 random digits as "
                  "R,G,B channels -> 1,000 equally likely modes (label 100*d0+10*d1+d2)", "r3gan")
def stacked_digits(resolution: int = 32, split: str = "train", n: int = 0, seed: int = 0) -> Data:
    """Three independently drawn digits stacked as the channels of one image.

    The Stacked-MNIST mode-collapse benchmark (Metz et al. 2017, Unrolled GANs; Srivastava et
    al. 2017, VEEGAN; Lin et al. 2018, PacGAN) built on the sklearn 8x8 digits: each channel
    is a digit image drawn uniformly from the same split of :func:`digits_uint8`, so the data
    has 10^3 = 1,000 equally likely modes. Label = ``100*d0 + 10*d1 + d2`` (d0 in channel 0),
    class names the triples ``"000"`` .. ``"999"``; a digit classifier applied per channel
    recovers a sample's mode, which is how the papers count modes and KL to uniform.

    ``n`` examples (default 25,600 for train, as in VEEGAN's evaluation sample size, and 10,000
    for test) are drawn from a generator seeded by ``(seed, split)``; train images use only train
    digits and test images only test digits. Memory is ``n * 3 * R * R`` bytes (79 MB at 32 px,
    315 MB at 64 px; pass a smaller ``n`` on a small machine).
    """
    if split not in _STACKED_SEED:
        raise ValueError(f"unknown split {split!r}")
    n = n or (25_600 if split == "train" else 10_000)
    x1, y1 = digits_uint8(resolution)
    pool = digits_split(split)  # indices of this split's digits
    g = torch.Generator().manual_seed(seed * 1009 + 31 + _STACKED_SEED[split])
    pick = pool[torch.randint(len(pool), (n, 3), generator=g)]  # [n, 3] digit indices
    x = x1[pick.flatten(), 0].view(n, 3, resolution, resolution)  # channel c = digit pick[:, c]
    d = y1[pick]  # [n, 3] the digits
    y = d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]
    return Data("stacked-digits", "images", x, y, [f"{i:03d}" for i in range(1000)],
                {"source": "sklearn.datasets.load_digits, stacked (Stacked-MNIST protocol)",
                 "modes": 1000, "channel_digits": True})
