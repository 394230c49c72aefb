"""Inception Score (Salimans et al. 2016, "Improved techniques for training GANs", Sec. 4).

IS = exp( E_x KL( p(y|x) || p(y) ) ), with p(y) the marginal over the samples, computed on
``splits`` disjoint chunks; mean and standard deviation over the chunks, as in the paper's code.
Higher is better; at most the number of classes.
"""
from __future__ import annotations

import numpy as np

from ._arrays import as_features


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """(mean, std) of the Inception Score of class probabilities [N, K] (rows sum to 1)."""
    from scipy.special import xlogy  # lazy: keeps `import gankit` light

    p = as_features(probs, "probs")
    if np.any(p < -1e-6) or not np.allclose(p.sum(1), 1.0, atol=1e-3):
        raise ValueError("inception_score: rows of probs must be probability distributions")
    p = np.clip(p, 0.0, None)
    splits = max(1, min(int(splits), len(p)))
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(0, keepdims=True)  # p(y) over this chunk
        kl = (xlogy(part, part) - xlogy(part, py)).sum(1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))
