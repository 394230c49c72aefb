"""Multivariate time series: the ``"sequence"`` data kind, its data, and its output files.

An example is a window of ``seq_len`` time steps of F features, float32 ``[N, T, F]``,
standardised per feature with the training split's mean and standard deviation (kept in
``info["mean"]`` / ``info["std"]`` with the feature names, so samples are written back in the
data's units). Windows overlap (stride 1 by default), as in TimeGAN's experiments (Yoon et al.
2019, sec. 5); the series is split in time (the first 80 % of steps train, the last 20 %
test), so no test window shares a step with a training one.

* ``regime-prices`` (generated in code, seeded): a market that switches between three hidden
  regimes (bull / bear / crisis; a persistent Markov chain) which set the drift, volatility
  and correlation of two assets' daily log-returns and the level of a mean-reverting log
  trading volume. Features: ``ret_a``, ``ret_b`` (percent), ``log_volume``. Returns are nearly
  uncorrelated in time, but their size is not (volatility clustering via the regimes), and the
  volume is autocorrelated: a generator has to get the dynamics, not just the marginals.
* a user's CSV (``--set data.kwargs.layout=series``): one row per time step, one numeric
  column per feature (:func:`load_csv_series`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from .base import Data, register_dataset

SEQ_LEN = 24
TEST_FRACTION = 0.2

# bull, bear, crisis: transition matrix (rows sum to 1), per-asset drift and volatility
# (daily, in percent), the two assets' correlation, and the regime's log-volume level.
TRANSITIONS = np.array([[0.985, 0.010, 0.005],
                        [0.020, 0.970, 0.010],
                        [0.030, 0.030, 0.940]])
DRIFT = np.array([[0.08, 0.06], [-0.06, -0.04], [-0.20, -0.25]])
VOL = np.array([[0.8, 0.6], [1.4, 1.2], [3.0, 2.8]])
CORR = np.array([0.3, 0.5, 0.85])
VOLUME = np.array([0.0, 0.4, 1.2])


def regime_series(steps: int = 20000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(features [steps, 3]: ret_a, ret_b, log_volume; regimes [steps]) of the synthetic market."""
    rng = np.random.default_rng(seed)
    s = np.empty(steps, np.int64)
    s[0] = 0
    cum = TRANSITIONS.cumsum(1)
    u = rng.random(steps)
    for t in range(1, steps):
        s[t] = int(np.searchsorted(cum[s[t - 1]], u[t]))
    e1, e2 = rng.standard_normal(steps), rng.standard_normal(steps)
    rho = CORR[s]
    e2 = rho * e1 + np.sqrt(1 - rho ** 2) * e2  # correlated shocks per regime
    ret = DRIFT[s] + VOL[s] * np.stack([e1, e2], 1)
    vol = np.empty(steps)
    v, noise = 0.0, rng.standard_normal(steps)
    for t in range(steps):  # AR(1) around the regime's level, pushed up by the day's move
        v = 0.9 * v + 0.1 * VOLUME[s[t]] + 0.05 * abs(ret[t, 0]) + 0.1 * noise[t]
        vol[t] = v
    return np.column_stack([ret, vol]).astype(np.float64), s


def window_split(series: np.ndarray, split: str, seq_len: int, stride: int = 1) -> np.ndarray:
    """Windows [N, T, F] of the split's part of ``series`` (the first 80 % of steps train)."""
    if seq_len < 2 or stride < 1:
        raise UserError(f"data.kwargs.seq_len must be >= 2 and stride >= 1, got {seq_len}, {stride}")
    cut = int(len(series) * (1 - TEST_FRACTION))
    part = series[:cut] if split == "train" else series[cut:]
    if len(part) < seq_len:
        return np.zeros((0, seq_len, series.shape[1]))
    starts = np.arange(0, len(part) - seq_len + 1, stride)
    return part[starts[:, None] + np.arange(seq_len)[None, :]]


def sequence_data(name: str, series: np.ndarray, features: list[str], split: str, seq_len: int, stride: int,
                  info: dict) -> Data:
    """Data of kind "sequence": standardised windows (statistics of the training part)."""
    cut = int(len(series) * (1 - TEST_FRACTION))
    mean, std = series[:cut].mean(0), series[:cut].std(0)
    std = np.where(std > 1e-12, std, 1.0)
    w = window_split(series, split, seq_len, stride)
    if len(w) < 2:
        raise UserError(f"{name}: {len(series)} time steps give fewer than two {split} windows of "
                        f"{seq_len} steps (the last {TEST_FRACTION:.0%} is the test split); use a longer "
                        f"series or a smaller data.kwargs.seq_len")
    x = torch.from_numpy(((w - mean) / std).astype(np.float32))
    return Data(name, "sequence", x, info={**info, "features": list(features), "mean": mean.tolist(),
                                           "std": std.tolist(), "seq_len": seq_len, "split": split,
                                           "steps": len(series)})


@register_dataset("regime-prices", "3 hidden market regimes driving 2 asset returns + volume, 24-step windows",
                  recipe="rgan")
def regime_prices(resolution: int = 0, split: str = "train", steps: int = 20000, seq_len: int = SEQ_LEN,
                  stride: int = 1, seed: int = 0) -> Data:
    series, s = regime_series(steps, seed)
    info = {"source": f"regime-switching market generated in code (seed {seed})",
            "regime_share": (np.bincount(s, minlength=3) / len(s)).round(3).tolist()}
    return sequence_data("regime-prices", series, ["ret_a", "ret_b", "log_volume"], split, seq_len, stride, info)


def load_csv_series(path: Path, split: str = "train", seq_len: int = SEQ_LEN, stride: int = 1,
                    columns=None) -> Data:
    """A user's CSV time series: a header (optional), one row per time step, every kept column
    numeric (``data.kwargs.columns`` picks columns by name or index, e.g. to drop a date)."""
    from .tabular import numeric_matrix, read_csv_rows, select_columns

    header, rows, first = read_csv_rows(path)
    header, rows = select_columns(path, header, rows, columns)
    series = numeric_matrix(path, header, rows, first)
    return sequence_data(str(path), series, header, split, seq_len, stride, {"source": str(path), "format": "csv"})
