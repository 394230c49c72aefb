"""Precision / recall (Kynkäänniemi et al. 2019, "Improved precision and recall metric for
assessing generative models", Sec. 3 / Eq. 1-2) and density / coverage (Naeem et al. 2020,
"Reliable fidelity and diversity metrics for generative models", Sec. 3, Eq. 3-4).

With NND_k(u) the distance from u to its k-th nearest neighbour within its own set (itself
excluded), real features X_1..X_N and fake features Y_1..Y_M:

* precision = 1/M sum_j 1[ exists i: ||Y_j - X_i|| <= NND_k(X_i) ]   (fakes on the real manifold)
* recall    = 1/N sum_i 1[ exists j: ||X_i - Y_j|| <= NND_k(Y_j) ]   (reals on the fake manifold)
* density   = 1/(kM) sum_j sum_i 1[ ||Y_j - X_i|| <= NND_k(X_i) ]    (~1 when fake ~ real)
* coverage  = 1/N sum_i 1[ min_j ||X_i - Y_j|| <= NND_k(X_i) ]       (~1 - 2^-k when fake ~ real)

Distances are computed in float64 in row chunks, so memory stays bounded (a chunk of at most
``MAX_ELEMS`` distances) however many features there are.
"""
from __future__ import annotations

import numpy as np
import torch

from ._arrays import as_features

MAX_ELEMS = 4_000_000  # distances held at once (32 MB in float64)


def _sq_dists(a: torch.Tensor, b: torch.Tensor, b_sq: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances [len(a), len(b)] (float64, clamped at 0)."""
    d = (a * a).sum(1, keepdim=True) + b_sq[None, :] - 2.0 * (a @ b.T)
    return d.clamp_(min=0.0)


def _chunk(n_cols: int) -> int:
    return max(1, MAX_ELEMS // max(1, n_cols))


def knn_radii_sq(x: torch.Tensor, k: int) -> torch.Tensor:
    """Squared distance from each row of x to its k-th nearest other row [N]."""
    n = len(x)
    x_sq = (x * x).sum(1)
    out = torch.empty(n, dtype=x.dtype)
    step = _chunk(n)
    for s in range(0, n, step):
        d = _sq_dists(x[s:s + step], x, x_sq)
        rows = torch.arange(len(d))
        d[rows, rows + s] = 0.0  # the point itself, exactly (it is always among the k + 1 smallest)
        out[s:s + step] = d.kthvalue(k + 1, dim=1).values
    return out


def prdc_from_features(real, fake, k: int = 5) -> dict[str, float]:
    """Precision, recall (Kynkäänniemi et al. 2019), density and coverage (Naeem et al. 2020).

    ``real`` [N, D] and ``fake`` [M, D] features (numpy or torch), ``k`` nearest neighbours
    for the manifold radii. Returns ``{"precision", "recall", "density", "coverage"}``; all
    higher-is-better (density can exceed 1). The numbers depend on N and M: compare at equal
    sizes (``gankit eval`` uses as many fakes as reals).
    """
    x = torch.from_numpy(as_features(real, "real"))
    y = torch.from_numpy(as_features(fake, "fake"))
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"prdc: feature sizes differ ({x.shape[1]} vs {y.shape[1]})")
    if k < 1 or k >= min(len(x), len(y)):
        raise ValueError(f"prdc: k must be in 1..{min(len(x), len(y)) - 1} for {len(x)} real and "
                         f"{len(y)} fake rows, got {k}")
    r_real, r_fake = knn_radii_sq(x, k), knn_radii_sq(y, k)
    x_sq = (x * x).sum(1)
    n, m = len(x), len(y)
    precise = torch.zeros(m, dtype=torch.bool)
    density_hits = torch.zeros(m, dtype=torch.float64)
    recalled = torch.zeros(n, dtype=torch.bool)
    nearest_fake = torch.full((n,), float("inf"), dtype=torch.float64)
    step = _chunk(n)
    for s in range(0, m, step):
        d = _sq_dists(y[s:s + step], x, x_sq)  # [c, N]
        inside_real = d <= r_real[None, :]  # fake j inside real i's ball
        precise[s:s + step] = inside_real.any(1)
        density_hits[s:s + step] = inside_real.sum(1)
        recalled |= (d <= r_fake[s:s + step, None]).any(0)  # real i inside fake j's ball
        nearest_fake = torch.minimum(nearest_fake, d.min(0).values)
    return {
        "precision": float(precise.double().mean()),
        "recall": float(recalled.double().mean()),
        "density": float(density_hits.sum() / (k * m)),
        "coverage": float((nearest_fake <= r_real).double().mean()),
    }


def nearest_neighbours(query, pool, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Indices [Q, k] and Euclidean distances [Q, k] of the k nearest ``pool`` rows per query."""
    q = torch.from_numpy(as_features(query, "query"))
    p = torch.from_numpy(as_features(pool, "pool"))
    p_sq = (p * p).sum(1)
    k = min(k, len(p))
    idx, dist = [], []
    for s in range(0, len(q), _chunk(len(p))):
        d = _sq_dists(q[s:s + _chunk(len(p))], p, p_sq)
        v, i = d.topk(k, dim=1, largest=False)
        idx.append(i)
        dist.append(v.sqrt())
    return torch.cat(idx).numpy(), torch.cat(dist).numpy()
