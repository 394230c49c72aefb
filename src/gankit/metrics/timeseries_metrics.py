"""Time-series metrics: TimeGAN's discriminative and predictive scores, and autocorrelation match.

On windows ``[N, T, F]`` (standardised units):

* ``discriminative_score`` (Yoon et al. 2019, sec. 5.2): a post-hoc GRU classifier learns to
  tell real windows from synthetic ones on 80 % of each and is tested on the other 20 %;
  the score is ``|accuracy - 0.5|`` (0: indistinguishable; 0.5: always told apart).
* ``predictive_score`` (ibid.): a post-hoc GRU trained on one set to predict, at every step,
  the next value of the last feature from the other features' current values (TimeGAN's
  code), tested on real held-out windows; the score is the mean absolute error. Trained on
  synthetic windows it is "train on synthetic, test on real"; on real ones, the reference.
* ``autocorrelation_match``: per feature, the autocorrelation at lags 1..``lags`` *within*
  windows (each window around its own mean, so it measures the step-to-step dynamics, not
  differences of level between windows), and the same for ``|x|`` (volatility clustering);
  real vs synthetic, the mean absolute gap; plus the gap between the features' lag-0
  correlation matrices.

The post-hoc nets have ``max(8, F)`` hidden units (TimeGAN uses F / 2, which is 1 for three
features), are trained with Adam for ``steps`` batches of 128 and seeded.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


class _PostHoc(nn.Module):
    def __init__(self, d_in: int, hidden: int, d_out: int):
        super().__init__()
        self.gru = nn.GRU(d_in, hidden, batch_first=True)
        self.out = nn.Linear(hidden, d_out)

    def forward(self, x):
        h, last = self.gru(x)
        return h, self.out(h), self.out(last[-1])


def _as_tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.float32)


def discriminative_score(real, fake, seed: int = 0, steps: int = 1000) -> float:
    """``|accuracy - 0.5|`` of a post-hoc GRU real-vs-synthetic classifier on held-out windows."""
    real, fake = _as_tensor(real), _as_tensor(fake)
    g = torch.Generator().manual_seed(seed)
    n = min(len(real), len(fake))
    real, fake = real[torch.randperm(len(real), generator=g)[:n]], fake[torch.randperm(len(fake), generator=g)[:n]]
    cut = int(0.8 * n)
    xtr, ytr = torch.cat([real[:cut], fake[:cut]]), torch.cat([torch.ones(cut), torch.zeros(cut)])
    xte, yte = torch.cat([real[cut:], fake[cut:]]), torch.cat([torch.ones(n - cut), torch.zeros(n - cut)])
    torch.manual_seed(seed)
    net = _PostHoc(real.shape[-1], max(8, real.shape[-1]), 1)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(steps):
        idx = torch.randint(len(xtr), (min(128, len(xtr)),), generator=g)
        loss = nn.functional.binary_cross_entropy_with_logits(net(xtr[idx])[2][:, 0], ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = ((net(xte)[2][:, 0] > 0).float() == yte).float().mean().item()
    return abs(acc - 0.5)


def predictive_score(train, test, seed: int = 0, steps: int = 1000) -> float:
    """MAE on ``test`` of a post-hoc GRU trained on ``train`` to predict the last feature one
    step ahead from the other features (for one feature: from itself)."""
    train, test = _as_tensor(train), _as_tensor(test)
    f = train.shape[-1]
    cols = list(range(f - 1)) if f > 1 else [0]

    def xy(w):
        return w[:, :-1, cols], w[:, 1:, f - 1:]

    xtr, ytr = xy(train)
    xte, yte = xy(test)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = _PostHoc(len(cols), max(8, f), 1)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(steps):
        idx = torch.randint(len(xtr), (min(128, len(xtr)),), generator=g)
        loss = (net(xtr[idx])[1] - ytr[idx]).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float((net(xte)[1] - yte).abs().mean())


def acf(x, lags: int = 10) -> np.ndarray:
    """Within-window autocorrelation per lag 1..``lags`` and feature, ``[lags, F]``: the pairs
    ``(x_t, x_{t+k})`` inside each window, each window centred on its own mean, pooled over
    windows and normalised by the pooled within-window variance."""
    x = np.asarray(x, np.float64)
    x = x - x.mean(1, keepdims=True)
    v = (x * x).mean((0, 1)) + 1e-12
    lags = min(lags, x.shape[1] - 1)
    return np.stack([(x[:, :-k] * x[:, k:]).mean((0, 1)) / v for k in range(1, lags + 1)])


def autocorrelation_match(real, fake, lags: int = 10) -> dict:
    """``{"acf_diff", "acf_abs_diff", "xcorr_diff"}``: mean absolute gaps (lower is better)."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)

    def xcorr(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nan_to_num(np.corrcoef(x.reshape(-1, x.shape[-1]), rowvar=False))

    out = {"acf_diff": float(np.abs(acf(real, lags) - acf(fake, lags)).mean()),
           "acf_abs_diff": float(np.abs(acf(np.abs(real), lags) - acf(np.abs(fake), lags)).mean())}
    if real.shape[-1] > 1:
        a, b = xcorr(real), xcorr(fake)
        out["xcorr_diff"] = float(np.abs(a - b)[~np.eye(len(a), dtype=bool)].mean())
    return out


def sequence_report(train, test, synth, seed: int = 0, steps: int = 1000) -> dict:
    """Discriminative score (synthetic vs held-out real), predictive score (TSTR) and the
    autocorrelation match against the held-out windows."""
    return {"discriminative": discriminative_score(test, synth, seed, steps),
            "predictive_tstr": predictive_score(synth, test, seed, steps),
            **autocorrelation_match(test, synth)}


def _windows(data_cfg):
    from ..config import DataConfig
    from ..data import load_data

    cfg = DataConfig(**{**data_cfg.__dict__, "limit": 0})
    return load_data(cfg, "train").x, load_data(cfg, "test").x


def evaluate_sequence_model(model, n: int = 0, seed: int = 0, steps: int = 1000) -> dict:
    """The sequence report of a loaded rgan checkpoint: ``n`` synthetic windows (default: as
    many as the held-out split has) vs the held-out split; plus the real-on-real predictive
    reference (``predictive_trtr``, trained on as many real training windows)."""
    train, test = _windows(model.config.data)
    n = n or len(test)
    synth = model.sample(n, seed=seed).float().cpu()
    g = torch.Generator().manual_seed(seed)
    sub = train[torch.randperm(len(train), generator=g)[:n]]
    out = sequence_report(sub, test, synth, seed, steps)
    out["predictive_trtr"] = predictive_score(sub, test, seed, steps)
    return {"n": n, "n_test": len(test), "step": model.step, "recipe": model.config.recipe, **out}


def evaluate_sequence_real(data: str, n: int = 0, seed: int = 0, steps: int = 1000) -> dict:
    """Reference points: real training windows scored as if synthetic, and a 'shuffled time'
    baseline (each real window's steps permuted: right marginals, no dynamics)."""
    from ..config import DataConfig

    train, test = _windows(DataConfig(name=data))
    n = n or len(test)
    g = torch.Generator().manual_seed(seed)
    real = train[torch.randperm(len(train), generator=g)[:n]]
    shuffled = torch.stack([w[torch.randperm(len(w), generator=g)] for w in real])
    out = {"n": n, "n_test": len(test), "data": data}
    out.update({f"real/{k}": v for k, v in sequence_report(real, test, real, seed, steps).items()})
    out.update({f"shuffled/{k}": v for k, v in sequence_report(real, test, shuffled, seed, steps).items()})
    return out
