"""Mode-collapse metrics: 2D mixtures (ring8, grid25) and classified images (stacked digits).

2D protocol of PacGAN (Lin et al. 2018, Sec. 5.1 / Table 1), after VEEGAN (Srivastava et al.
2017): a sample is *high quality* when it lies within 3 standard deviations of the nearest
mixture mean; a mode is *captured* when at least one high-quality sample is nearest to it; the
*reverse KL* is KL(q || uniform) of the histogram q of high-quality samples over the modes
(0 is a perfectly even spread, log K is everything in one mode). PacGAN uses 2,500 samples.

Stacked digits (Metz et al. 2017; PacGAN Sec. 5.2, Table 2): 3-channel images whose channels
are independent digits have 10^3 = 1,000 modes; each channel is classified by the ``digits``
classifier, a mode is captured when at least one sample falls in it, and the reverse KL is
KL(q || uniform) of the histogram of all samples over the 1,000 modes.
"""
from __future__ import annotations

import math

import numpy as np

from ._arrays import as_features


def reverse_kl_to_uniform(counts: np.ndarray) -> float:
    """KL(q || uniform) of a histogram over K bins (NaN when it is empty)."""
    counts = np.asarray(counts, np.float64)
    total = counts.sum()
    if total <= 0:
        return float("nan")
    q = counts[counts > 0] / total
    return float((q * np.log(q * len(counts))).sum())


def mode_metrics_2d(points, means, std: float, threshold: float = 3.0) -> dict[str, float]:
    """PacGAN 2D mode metrics of generated points [N, 2] for a mixture with ``means`` [K, 2].

    Returns ``modes`` (captured, out of ``modes_total``), ``high_quality`` (percent of the
    samples within ``threshold * std`` of their nearest mean) and ``reverse_kl``.
    """
    x = as_features(points, "points")
    mu = as_features(means, "means")
    d2 = ((x[:, None, :] - mu[None, :, :]) ** 2).sum(-1)  # [N, K]
    nearest = d2.argmin(1)
    hq = np.sqrt(d2[np.arange(len(x)), nearest]) <= threshold * std
    counts = np.bincount(nearest[hq], minlength=len(mu))
    return {
        "modes": float((counts > 0).sum()),
        "modes_total": float(len(mu)),
        "high_quality": float(100.0 * hq.mean()),
        "reverse_kl": reverse_kl_to_uniform(counts),
    }


def nearest_mode(points, means) -> np.ndarray:
    """Index of the nearest mixture mean for each point [N] (the label of a conditional 2D G)."""
    x, mu = as_features(points, "points"), as_features(means, "means")
    return ((x[:, None, :] - mu[None, :, :]) ** 2).sum(-1).argmin(1)


def combined_labels(probs: np.ndarray) -> np.ndarray:
    """Per-channel class probabilities [N, C, K] -> one label in 0..K^C-1 per sample.

    For stacked digits (C = 3, K = 10) the label of channels (a, b, c) is 100a + 10b + c.
    """
    pred = np.asarray(probs).argmax(-1)  # [N, C]
    k = np.asarray(probs).shape[-1]
    weights = k ** np.arange(pred.shape[1] - 1, -1, -1)
    return (pred * weights).sum(1)


def class_mode_metrics(probs: np.ndarray) -> dict[str, float]:
    """Modes captured (out of K^C) and reverse KL to uniform from classifier probs [N, C, K]."""
    probs = np.asarray(probs)
    total = probs.shape[-1] ** probs.shape[1]
    counts = np.bincount(combined_labels(probs), minlength=total)
    return {"modes": float((counts > 0).sum()), "modes_total": float(total),
            "reverse_kl": reverse_kl_to_uniform(counts)}


def max_reverse_kl(k: int) -> float:
    """KL of a one-mode histogram to uniform over k modes (log k): the worst case."""
    return math.log(k)
