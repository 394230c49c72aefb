"""Input handling shared by the metric functions: numpy or torch in, float64 numpy out."""
from __future__ import annotations

import contextlib

import numpy as np


@contextlib.contextmanager
def blas_single_thread():
    """Run numpy's BLAS/LAPACK on one thread inside the block.

    Two reasons: the numbers then do not depend on the machine's thread count, and on a shared,
    busy CPU multi-threaded OpenBLAS threads wait on each other (a 384x384 ``eigh`` took 1.9 s
    on 2 threads vs 0.04 s on one here). The matrices of FID/KID are small enough that one
    thread loses little on an idle machine.
    """
    try:
        from threadpoolctl import threadpool_limits  # a dependency of scikit-learn
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


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
