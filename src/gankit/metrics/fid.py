"""Fréchet Inception Distance (Heusel et al. 2017, "GANs trained by a two time-scale update
rule converge to a local Nash equilibrium", Sec. "Evaluating GANs" / Eq. 6).

FID = ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)),

with the means and (unbiased, N-1) covariances of two feature sets. Computed in float64.
``Tr((S_r S_f)^(1/2))`` is the sum of the square roots of the eigenvalues of ``S_r S_f``,
which equal those of the symmetric PSD matrix ``S_r^(1/2) S_f S_r^(1/2)``: we take those with
``eigh``, which needs no complex arithmetic and no ``eps`` retry for singular covariances,
and agrees with the ``scipy.linalg.sqrtm`` formula of pytorch-fid (tested to 1e-6 relative).
"""
from __future__ import annotations

import numpy as np

from ._arrays import as_features, blas_single_thread


def feature_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and unbiased covariance [D, D] (float64) of features [N, D]."""
    f = as_features(features, min_rows=2)
    with blas_single_thread():
        return f.mean(0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def fid_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """FID between two Gaussians given by means [D] and covariances [D, D] (Heusel et al. 2017)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"FID: mismatched statistics {mu1.shape}, {s1.shape} vs {mu2.shape}, {s2.shape}")
    diff = mu1 - mu2
    with blas_single_thread():
        r = _psd_sqrt(s1)
        m = r @ s2 @ r  # similar to S1 S2: same eigenvalues, but symmetric PSD
        tr_covmean = float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum())
    fid = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)
    return max(fid, 0.0)  # rounding can give -1e-13 for identical sets


def fid_from_features(real, fake) -> float:
    """FID between two feature sets [N, D] and [M, D] (numpy or torch; Heusel et al. 2017).

    Lower is better; 0 for identical statistics. The value depends on the feature extractor and
    is biased upwards for small N, M: compare numbers only at equal sample sizes and extractor.
    """
    mu1, s1 = feature_stats(real)
    mu2, s2 = feature_stats(fake)
    return fid_from_stats(mu1, s1, mu2, s2)
