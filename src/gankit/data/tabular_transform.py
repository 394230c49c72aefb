"""CTGAN's mode-specific normalisation of table columns (Xu et al. 2019, sec. 4.2).

A continuous column is modelled by a Gaussian mixture (:func:`fit_gmm`); a value becomes
(its offset within the chosen mode, scaled by 4 std: tanh; the mode: one-hot). A discrete
column becomes a one-hot. ``fit_transform`` fits the per-column specs (JSON, saved in
``data.json``) on the training split; :func:`encode` / :func:`decode` map rows both ways.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import UserError
from .table import Table

MAX_MODES = 10


# --------------------------------------------------------------------------- mixtures
def _gmm(z: np.ndarray, k: int, seed: int):
    """scikit-learn's EM for a 1-D mixture of ``k`` modes on standardised ``z``, started from
    quantile means (deterministic); a variance floor of 1e-4 (standardised units)."""
    from sklearn.mixture import GaussianMixture

    means = np.quantile(z, (np.arange(k) + 0.5) / k)[:, None]
    return GaussianMixture(k, covariance_type="diag", reg_covar=1e-4, max_iter=100, tol=1e-4,
                           means_init=means, random_state=seed).fit(z[:, None])


def fit_gmm(x: np.ndarray, max_modes: int = MAX_MODES, kind: str = "plain", seed: int = 0,
            min_weight: float = 0.005) -> dict:
    """A Gaussian mixture of one column: ``{"weights", "means", "stds"}`` in the column's units.

    ``kind="plain"``: scikit-learn's ``GaussianMixture`` for 1, 2, ... modes, the one with the
    lowest BIC (the search stops when two more modes in a row do not lower the BIC, or at
    ``max_modes``). ``kind="bayesian"``: scikit-learn's ``BayesianGaussianMixture`` with CTGAN's
    settings (``max_modes`` components, Dirichlet-process prior 0.001), modes under
    ``min_weight`` dropped (seconds per column).
    """
    x = np.asarray(x, np.float64)
    mu, sd = float(x.mean()), float(x.std()) or 1.0
    z = (x - mu) / sd
    k_max = max(1, min(max_modes, len(np.unique(z))))
    if kind == "bayesian":
        import warnings

        from sklearn.mixture import BayesianGaussianMixture

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = BayesianGaussianMixture(n_components=k_max, weight_concentration_prior_type="dirichlet_process",
                                        weight_concentration_prior=0.001, max_iter=100, n_init=1,
                                        random_state=seed).fit(z[:, None])
        keep = g.weights_ > min_weight
        w, means, var = g.weights_[keep], g.means_[keep, 0], g.covariances_[keep].reshape(-1)
    elif kind == "plain":
        import warnings

        best, worse = None, 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings on tiny columns
            for k in range(1, k_max + 1):
                g = _gmm(z, k, seed)
                bic = g.bic(z[:, None])
                if best is None or bic < best[0]:
                    best, worse = (bic, g), 0
                else:
                    worse += 1
                    if worse == 2:
                        break
        g = best[1]
        w, means, var = g.weights_, g.means_[:, 0], g.covariances_.reshape(-1)
    else:
        raise UserError(f"data.kwargs.gmm must be plain or bayesian, got {kind!r}")
    w = w / w.sum()
    order = np.argsort(means)
    return {"weights": w[order].tolist(), "means": (means[order] * sd + mu).tolist(),
            "stds": (np.sqrt(var[order]) * sd).tolist()}


# --------------------------------------------------------------------------- the transform
def fit_transform(table: Table, rows: np.ndarray, max_modes: int = MAX_MODES, gmm: str = "plain") -> list[dict]:
    """Per-column specs (JSON) fitted on ``rows`` (the training split)."""
    spec = []
    for c, col in enumerate(table.columns):
        v = table.values[rows, c]
        if col["type"] == "discrete":
            counts = np.bincount(v.astype(np.int64), minlength=len(col["categories"]))
            spec.append({"name": col["name"], "type": "discrete", "categories": list(col["categories"]),
                         "freq": (counts / counts.sum()).tolist(), "counts": counts.tolist()})
        else:
            m = fit_gmm(v, max_modes, gmm)
            lo, hi = float(v.min()), float(v.max())
            dens, edges = np.histogram(v, bins=20, range=(lo, hi if hi > lo else lo + 1), density=True)
            spec.append({"name": col["name"], "type": "continuous", **m, "min": lo, "max": hi,
                         "integer": bool(np.all(v == np.round(v))),
                         "hist": {"edges": edges.tolist(), "density": dens.tolist()}})
    return spec


def spans(spec: list[dict]) -> list[list]:
    """Output slices of an encoded row: ``[size, "tanh" | "softmax"]`` in order."""
    out = []
    for s in spec:
        if s["type"] == "continuous":
            out += [[1, "tanh"], [len(s["means"]), "softmax"]]
        else:
            out.append([len(s["categories"]), "softmax"])
    return out


def cond_spans(spec: list[dict]) -> list[list[int]]:
    """For each discrete column: ``[offset in the encoded row, number of categories]``; the
    conditional vector is these one-hot groups side by side."""
    out, off = [], 0
    for s in spec:
        if s["type"] == "continuous":
            off += 1 + len(s["means"])
        else:
            out.append([off, len(s["categories"])])
            off += len(s["categories"])
    return out


def encode(values: np.ndarray, spec: list[dict], seed: int = 0) -> np.ndarray:
    """Raw rows ``[N, C]`` -> encoded rows ``[N, D_enc]`` (modes drawn from their posterior,
    seeded, as CTGAN does once per dataset)."""
    rng = np.random.default_rng(seed)
    parts = []
    for c, s in enumerate(spec):
        v = values[:, c]
        if s["type"] == "discrete":
            parts.append(np.eye(len(s["categories"]))[v.astype(np.int64)])
            continue
        w, mu, sd = (np.asarray(s[k]) for k in ("weights", "means", "stds"))
        logp = -0.5 * ((v[:, None] - mu) / sd) ** 2 - np.log(sd) + np.log(w)  # [N, K]
        p = np.exp(logp - logp.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        k = (p.cumsum(1) > rng.random(len(v))[:, None]).argmax(1)
        alpha = np.clip((v - mu[k]) / (4 * sd[k]), -0.99, 0.99)
        parts += [alpha[:, None], np.eye(len(mu))[k]]
    return np.concatenate(parts, 1).astype(np.float32)


def decode(x, spec: list[dict]) -> np.ndarray:
    """Encoded rows ``[N, D_enc]`` (any floats; one-hot groups by argmax) -> raw ``[N, C]``."""
    x = torch.as_tensor(x).float().cpu().numpy()
    out = np.empty((len(x), len(spec)), np.float64)
    off = 0
    for c, s in enumerate(spec):
        if s["type"] == "discrete":
            k = len(s["categories"])
            out[:, c] = x[:, off: off + k].argmax(1)
            off += k
            continue
        mu, sd = np.asarray(s["means"]), np.asarray(s["stds"])
        alpha = np.clip(x[:, off], -1, 1)
        k = x[:, off + 1: off + 1 + len(mu)].argmax(1)
        v = alpha * 4 * sd[k] + mu[k]
        out[:, c] = np.round(v) if s.get("integer") else v
        off += 1 + len(mu)
    return out


# --------------------------------------------------------------------------- data
