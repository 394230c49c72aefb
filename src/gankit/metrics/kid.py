"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs", Sec. 4 / Eq. 4).

KID is the squared MMD between the two feature distributions under the cubic polynomial
kernel k(x, y) = (x.y / d + 1)^3, estimated without bias (Gretton et al. 2012, Lemma 6):

MMD^2_u = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i, y_j)
          - 2/(mn) sum_{i,j} k(x_i, y_j),

averaged over ``num_subsets`` random subsets of ``subset_size`` from each set (as in the
paper's code). Being unbiased, it is ~0 for two samples of one distribution and may be
negative.
"""
from __future__ import annotations

import numpy as np

from ._arrays import as_features, blas_single_thread


def _poly_kernel(a: np.ndarray, b: np.ndarray, d: int) -> np.ndarray:
    return (a @ b.T / d + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between x [m, d] and y [n, d] under the KID kernel (m, n >= 2)."""
    m, n, d = len(x), len(y), x.shape[1]
    kxx, kyy, kxy = _poly_kernel(x, x, d), _poly_kernel(y, y, d), _poly_kernel(x, y, d)
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def kid_from_features(real, fake, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> float:
    """KID (Bińkowski et al. 2018) between feature sets [N, D] and [M, D] (numpy or torch).

    Each of ``num_subsets`` rounds draws ``min(subset_size, N)`` real and ``min(subset_size, M)``
    fake rows without replacement (seeded) and computes the unbiased MMD^2; the mean is
    returned. With ``num_subsets=1`` and ``subset_size >= max(N, M)`` it is the full unbiased
    estimate on all rows. Lower is better; it can be slightly negative.
    """
    x, y = as_features(real, "real", 2), as_features(fake, "fake", 2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"KID: feature sizes differ ({x.shape[1]} vs {y.shape[1]})")
    if num_subsets < 1 or subset_size < 2:
        raise ValueError("KID: num_subsets must be >= 1 and subset_size >= 2")
    rng = np.random.default_rng(seed)
    m, n = min(subset_size, len(x)), min(subset_size, len(y))
    vals = []
    with blas_single_thread():
        for _ in range(num_subsets):
            xs = x if m == len(x) else x[rng.choice(len(x), m, replace=False)]
            ys = y if n == len(y) else y[rng.choice(len(y), n, replace=False)]
            vals.append(mmd2_unbiased(xs, ys))
    return float(np.mean(vals))
