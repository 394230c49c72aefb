"""2D mixtures generated in code: the playground of mode collapse (PacGAN / VEEGAN protocols)."""
from __future__ import annotations

import math

import torch

from .base import Data, register_dataset

_SPLIT_SEED = {"train": 0, "test": 1}


def _mixture(name: str, means: torch.Tensor, std: float, n: int, split: str) -> Data:
    g = torch.Generator().manual_seed(1000 + _SPLIT_SEED.get(split, 2))
    comp = torch.randint(len(means), (n,), generator=g)
    x = means[comp] + std * torch.randn(n, 2, generator=g)
    return Data(name, "points", x.float(), comp, [f"mode{i}" for i in range(len(means))],
                {"means": means.tolist(), "std": std})


def ring8_means(radius: float = 1.0) -> torch.Tensor:
    a = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return torch.stack([radius * torch.cos(a), radius * torch.sin(a)], 1)


def grid25_means() -> torch.Tensor:
    v = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0], dtype=torch.float64)
    return torch.cartesian_prod(v, v)


@register_dataset("ring8", "2D: 8 Gaussians on a circle of radius 1, std 0.01", recipe="gan")
def ring8(resolution: int = 0, split: str = "train", n: int = 100_000) -> Data:
    return _mixture("ring8", ring8_means(), 0.01, n, split)


@register_dataset("grid25", "2D: 5x5 grid of Gaussians at {-4..4}^2 step 2, std 0.05", recipe="gan")
def grid25(resolution: int = 0, split: str = "train", n: int = 100_000) -> Data:
    return _mixture("grid25", grid25_means(), 0.05, n, split)
