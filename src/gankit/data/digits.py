"""The 1,797 UCI 8x8 handwritten digits shipped inside scikit-learn, with labels."""
from __future__ import annotations

import functools

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
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy(d.images).float().unsqueeze(1) / 16.0  # [N, 1, 8, 8] in [0, 1]
    x = resize_images(x, resolution)
    return to_uint8(x), torch.from_numpy(d.target).long()


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


@register_dataset("digits", "sklearn's 1,797 8x8 handwritten digits (10 classes), resized", "dcgan")
def digits(resolution: int = 32, split: str = "train") -> Data:
    x, y = digits_uint8(resolution)
    idx = digits_split(split)
    return Data("digits", "images", x[idx], y[idx], [str(i) for i in range(10)],
                {"source": "sklearn.datasets.load_digits"})
