"""Input handling shared by the metric functions: numpy or torch in, float64 numpy out."""
from __future__ import annotations

import numpy as np


def as_features(x, name: str = "features", min_rows: int = 1) -> np.ndarray:
    """A 2-D float64 array [N, D] from a numpy array or a torch tensor (any device/dtype)."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().cpu().double().numpy()
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array [N, D], got shape {a.shape}")
    if len(a) < min_rows:
        raise ValueError(f"{name}: needs at least {min_rows} rows, got {len(a)}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or Inf")
    return a
