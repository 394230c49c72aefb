"""Faces: the 200-image LFW subset shipped inside scikit-image (100 faces, 100 non-faces)."""
from __future__ import annotations

import functools

import torch

from .base import Data, register_dataset, resize_images, to_uint8

N_TEST_PER_CLASS = 20  # fixed held-out split: 20 faces + 20 non-faces
CLASS_NAMES = ["face", "non-face"]


@functools.lru_cache(maxsize=4)
def faces_uint8(resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All 200 crops as uint8 [200, 1, R, R] (grayscale) and labels [200] (0 face, 1 non-face).

    ``skimage.data.lfw_subset()`` returns float [200, 25, 25] in [0, 1]; its docstring and a
    look at the images agree that the first 100 are face crops and the last 100 are background
    crops from the same LFW photos (Huang et al. 2012).
    """
    from skimage.data import lfw_subset

    x = torch.from_numpy(lfw_subset()).float().unsqueeze(1)  # [200, 1, 25, 25] in [0, 1]
    y = torch.cat([torch.zeros(100), torch.ones(100)]).long()
    return to_uint8(resize_images(x, resolution)), y


def faces_split(split: str) -> torch.Tensor:
    """Indices of the fixed, class-balanced split: test = 20 faces + 20 non-faces, train the rest."""
    g = torch.Generator().manual_seed(0)
    parts = {"train": [], "test": []}
    for c in range(2):
        perm = torch.randperm(100, generator=g) + 100 * c
        parts["test"].append(perm[:N_TEST_PER_CLASS])
        parts["train"].append(perm[N_TEST_PER_CLASS:])
    if split not in parts:
        raise ValueError(f"unknown split {split!r}")
    return torch.cat(parts[split]).sort().values


@register_dataset("faces", "scikit-image's LFW subset: 25x25 grayscale face crops (class 0) and "
                  "non-face crops (class 1), resized", "dcgan")
def faces(resolution: int = 32, split: str = "train", faces_only: bool = False) -> Data:
    """160 train / 40 test grayscale crops, resized (bilinear) to ``resolution``.

    With ``faces_only`` only the face class is kept (80 train / 20 test), for an
    unconditional face GAN; otherwise non-faces are a second class (labels 0 face, 1 non-face).
    """
    x, y = faces_uint8(resolution)
    idx = faces_split(split)
    if faces_only:
        idx = idx[y[idx] == 0]
    names = CLASS_NAMES[:1] if faces_only else list(CLASS_NAMES)
    return Data("faces", "images", x[idx], y[idx], names,
                {"source": "skimage.data.lfw_subset (LFW, Huang et al. 2007)", "native_resolution": 25})
