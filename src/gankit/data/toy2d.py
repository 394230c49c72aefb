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
    """The 8 mixture means [8, 2], evenly spaced on a circle of ``radius``."""
    a = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return torch.stack([radius * torch.cos(a), radius * torch.sin(a)], 1)


def grid25_means() -> torch.Tensor:
    """The 25 mixture means [25, 2] on the grid {-4, -2, 0, 2, 4}^2."""
    v = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0], dtype=torch.float64)
    return torch.cartesian_prod(v, v)


@register_dataset("ring8", "2D: 8 Gaussians on a circle of radius 1, std 0.01", recipe="r3gan")
def ring8(resolution: int = 0, split: str = "train", n: int = 100_000) -> Data:
    """``n`` points of the ring of 8 Gaussians (PacGAN/VEEGAN's 2D benchmark); label = mode."""
    return _mixture("ring8", ring8_means(), 0.01, n, split)


@register_dataset("grid25", "2D: 5x5 grid of Gaussians at {-4..4}^2 step 2, std 0.05", recipe="r3gan")
def grid25(resolution: int = 0, split: str = "train", n: int = 100_000) -> Data:
    """``n`` points of the 5x5 grid of Gaussians (PacGAN/VEEGAN's 2D benchmark); label = mode."""
    return _mixture("grid25", grid25_means(), 0.05, n, split)


# ----------------------------------------------------------------- manifolds: spiral, moons
# Unlike the mixtures these have no isolated modes: the data lies near a curve. ``info`` holds
# the noise-free curve (a dense polyline) and the noise std, so a metric can measure quality
# (distance of a sample to the curve, in units of std) and coverage (which stretch of the curve
# has samples near it). The labels cut the curve into equal pieces, which gives the usual
# "modes covered" count for free.


def _split_generator(split: str, salt: int) -> torch.Generator:
    # The same split -> seed rule as the mixtures, salted so datasets do not share noise.
    return torch.Generator().manual_seed(1000 + _SPLIT_SEED.get(split, 2) + 7919 * salt)


def spiral_curve(t: torch.Tensor, turns: float = 2.0, radius: float = 1.0) -> torch.Tensor:
    """Points [len(t), 2] of the Archimedean spiral r = radius * t, angle 2*pi*turns*t, t in [0, 1]."""
    ang = 2 * math.pi * turns * t
    return torch.stack([radius * t * torch.cos(ang), radius * t * torch.sin(ang)], 1)


@register_dataset("spiral", "2D: one-arm Archimedean spiral (2 turns, radius 1), noise std 0.02; "
                  "labels = 10 equal pieces along it", recipe="gan")
def spiral(resolution: int = 0, split: str = "train", n: int = 100_000, std: float = 0.02,
           turns: float = 2.0, pieces: int = 10) -> Data:
    """Points near a spiral, uniform in arc length, with isotropic Gaussian noise.

    The arc length of r = c*theta grows ~ theta^2 (exactly for large theta), so t = sqrt(u)
    with u ~ U(t0^2, 1) is close to uniform along the curve; t0 = 0.05 keeps the cramped
    centre out. Label = which of ``pieces`` equal-u pieces (equal probability, nearly equal
    length) the point was drawn from. ``info["curve"]`` has 400 vertices equally spaced in u,
    so ``pieces`` equal runs of vertices are exactly the labelled pieces.
    """
    g = _split_generator(split, 1)
    t0 = 0.05
    v = torch.rand(n, generator=g, dtype=torch.float64)  # position along the curve, in [0, 1)
    t = (t0**2 + (1 - t0**2) * v).sqrt()
    x = spiral_curve(t, turns) + std * torch.randn(n, 2, generator=g, dtype=torch.float64)
    y = (v * pieces).long().clamp_(0, pieces - 1)
    curve = spiral_curve((t0**2 + (1 - t0**2) * torch.linspace(0, 1, 400, dtype=torch.float64)).sqrt(), turns)
    return Data("spiral", "points", x.float(), y, [f"piece{i}" for i in range(pieces)],
                {"curve": curve.tolist(), "std": std, "pieces": pieces})


def moons_curve(t: torch.Tensor, moon: torch.Tensor) -> torch.Tensor:
    """Points of sklearn's two moons, t in [0, 1] along each half circle, centred at the origin.

    Upper moon (cos pi t, sin pi t); lower moon (1 - cos pi t, 0.5 - sin pi t) as in
    ``sklearn.datasets.make_moons``; both shifted by (-0.5, -0.25) so the mean is ~0.
    """
    a = math.pi * t
    upper = torch.stack([torch.cos(a), torch.sin(a)], 1)
    lower = torch.stack([1 - torch.cos(a), 0.5 - torch.sin(a)], 1)
    pts = torch.where(moon.bool()[:, None], lower, upper)
    return pts - torch.tensor([0.5, 0.25], dtype=pts.dtype)


@register_dataset("moons", "2D: two interleaved half circles (sklearn make_moons shape), noise std 0.05; "
                  "labels = moon", recipe="gan")
def moons(resolution: int = 0, split: str = "train", n: int = 100_000, std: float = 0.05) -> Data:
    """Points near two interleaving half circles (labels 0 = upper, 1 = lower moon).

    Same shape as ``sklearn.datasets.make_moons`` (generated here with a torch generator so
    the split seeds follow the other 2D sets), centred at the origin.
    """
    g = _split_generator(split, 2)
    moon = torch.randint(2, (n,), generator=g)
    t = torch.rand(n, generator=g, dtype=torch.float64)
    x = moons_curve(t, moon) + std * torch.randn(n, 2, generator=g, dtype=torch.float64)
    tc = torch.linspace(0, 1, 200, dtype=torch.float64).repeat(2)
    mc = torch.arange(2).repeat_interleave(200)
    return Data("moons", "points", x.float(), moon, ["upper", "lower"],
                {"curve": moons_curve(tc, mc).tolist(), "curve_labels": mc.tolist(), "std": std})
