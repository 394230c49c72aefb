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

2D manifolds (spiral, moons) get the same three numbers with the labelled pieces of the curve
as modes and the distance to the curve as quality (:func:`curve_metrics_2d`); as their pieces
are not equally likely, the reverse KL there is to the real data's piece histogram.
"""
from __future__ import annotations

import math

import numpy as np

from ._arrays import as_features


def reverse_kl_to_uniform(counts: np.ndarray, reference: np.ndarray | None = None) -> float:
    """KL(q || p) of a histogram q over K bins to uniform p (or to the normalised histogram
    ``reference``: the data's own mode frequencies when they are not equal); NaN when q is empty."""
    counts = np.asarray(counts, np.float64)
    total = counts.sum()
    if total <= 0:
        return float("nan")
    p = np.full(len(counts), 1.0 / len(counts)) if reference is None else \
        np.asarray(reference, np.float64) / np.sum(reference)
    nz = counts > 0
    q = counts[nz] / total
    with np.errstate(divide="ignore"):
        return float((q * (np.log(q) - np.log(p[nz]))).sum())


def mode_metrics_2d(points, means, std: float, threshold: float = 3.0) -> dict[str, float]:
    """PacGAN 2D mode metrics of generated points [N, 2] for a mixture with ``means`` [K, 2].

    Returns ``modes`` (captured, out of ``modes_total``), ``high_quality`` (percent of the
    samples within ``threshold * std`` of their nearest mean) and ``reverse_kl``; and
    ``spread``, not in PacGAN: the RMS per axis of the high-quality samples' offsets from their
    mean, over ``std``. The data itself gives ~0.97 (the cut at 3 std trims the tails); a G
    that collapses each mode to a point scores ~0 while modes / HQ / KL read perfect.
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
        "spread": float(np.sqrt(((x[hq] - mu[nearest[hq]]) ** 2).mean()) / std) if hq.any() else float("nan"),
    }


def curve_labels(info: dict) -> np.ndarray:
    """The piece label of each vertex of a 2D manifold's polyline ``info["curve"]``: the given
    ``curve_labels`` (moons: which moon), else ``pieces`` equal runs of vertices (spiral)."""
    n = len(info["curve"])
    if "curve_labels" in info:
        return np.asarray(info["curve_labels"], dtype=np.int64)
    return (np.arange(n) * int(info.get("pieces", 1))) // n


def _nearest_vertex(x: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    nearest, dist = np.empty(len(x), dtype=np.int64), np.empty(len(x))
    for s in range(0, len(x), 4096):  # [chunk, V] distances, bounded memory
        d2 = ((x[s:s + 4096, None, :] - c[None, :, :]) ** 2).sum(-1)
        nearest[s:s + 4096] = d2.argmin(1)
        dist[s:s + 4096] = np.sqrt(d2[np.arange(len(d2)), nearest[s:s + 4096]])
    return nearest, dist


def curve_metrics_2d(points, curve, labels, std: float, threshold: float = 3.0,
                     real=None) -> dict[str, float]:
    """The 2D mode metrics for data near a curve (spiral, moons): a sample is high quality
    within ``threshold * std`` of the curve (its nearest polyline vertex), its mode is the
    labelled piece of the curve it is nearest to; modes and high_quality as in
    :func:`mode_metrics_2d`. The pieces need not be equally likely (the spiral's equal-t
    pieces are not), so ``reverse_kl`` is KL(q || p) to the piece histogram p of the ``real``
    points [M, 2] when given (to uniform otherwise)."""
    x, c = as_features(points, "points"), as_features(curve, "curve")
    labels = np.asarray(labels, dtype=np.int64)
    nearest, dist = _nearest_vertex(x, c)
    hq = dist <= threshold * std
    k = int(labels.max()) + 1
    counts = np.bincount(labels[nearest[hq]], minlength=k)
    ref = None
    if real is not None:
        r_near, r_dist = _nearest_vertex(as_features(real, "real"), c)
        ref = np.bincount(labels[r_near[r_dist <= threshold * std]], minlength=k)
    return {"modes": float((counts > 0).sum()), "modes_total": float(k),
            "high_quality": float(100.0 * hq.mean()), "reverse_kl": reverse_kl_to_uniform(counts, ref)}


def point_modes(points, info: dict) -> np.ndarray:
    """The mode of each point [N]: nearest mixture mean, or the piece of the nearest curve vertex."""
    if "means" in info:
        return nearest_mode(points, info["means"])
    nearest, _ = _nearest_vertex(as_features(points, "points"), as_features(info["curve"], "curve"))
    return curve_labels(info)[nearest]


def nearest_mode(points, means) -> np.ndarray:
    """Index of the nearest mixture mean for each point [N] (the label of a conditional 2D G)."""
    x, mu = as_features(points, "points"), as_features(means, "means")
    return ((x[:, None, :] - mu[None, :, :]) ** 2).sum(-1).argmin(1)


def combined_labels(probs: np.ndarray) -> np.ndarray:
    """Per-channel class probabilities [N, C, K] -> one label in 0..K^C-1 per sample.

    For stacked digits (C = 3, K = 10) the label of channels (a, b, c) is 100a + 10b + c.
    """
    probs = np.asarray(probs)
    return _combine(probs.argmax(-1), probs.shape[-1])


def _combine(pred: np.ndarray, k: int) -> np.ndarray:
    """Per-channel class labels [N, C] in 0..K-1 -> one label in 0..K^C-1 per sample."""
    weights = k ** np.arange(pred.shape[1] - 1, -1, -1)
    return (pred * weights).sum(1)


def class_mode_metrics(probs: np.ndarray) -> dict[str, float]:
    """Modes captured (out of K^C) and reverse KL to uniform from classifier probs [N, C, K].

    Two diagnostics beside the protocol's numbers (not in PacGAN / R3GAN): ``channel_kl``, the
    mean over channels of the KL of each channel's class histogram to uniform (the part of
    ``reverse_kl`` that per-channel class imbalance explains: channels independent and each
    uniform would leave only the sample-size floor), and ``confidence``, the classifier's mean
    top probability (real stacked digits read ~0.96; blurred or malformed digits lower, and the
    argmax then spreads them over classes, which the mode count rewards)."""
    probs = np.asarray(probs)
    k, c = probs.shape[-1], probs.shape[1]
    pred = probs.argmax(-1)  # [N, C], once for the modes and the per-channel histograms
    counts = np.bincount(_combine(pred, k), minlength=k ** c)
    channel_kl = [reverse_kl_to_uniform(np.bincount(pred[:, i], minlength=k)) for i in range(c)]
    return {"modes": float((counts > 0).sum()), "modes_total": float(k ** c),
            "reverse_kl": reverse_kl_to_uniform(counts), "channel_kl": float(np.mean(channel_kl)),
            "confidence": float(probs.max(-1).mean())}


def max_reverse_kl(k: int) -> float:
    """KL of a one-mode histogram to uniform over k modes (log k): the worst case."""
    return math.log(k)
