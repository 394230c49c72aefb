"""`gankit eval` for the kinds beyond images: text, tabular, sequence and video models.

Each kind has its own report (see ``text_metrics``, ``tabular_metrics``,
``timeseries_metrics``, ``video_metrics``), named by its :class:`~gankit.modality.Modality`;
this module only calls the one that matches, so ``gankit eval`` and
``benchmarks/beyond_images.py`` share it.
"""
from __future__ import annotations

import inspect

from ..errors import UserError
from ..modality import modality


def has_report(kind) -> bool:
    """True for kinds scored by a report of their own (not by feature metrics)."""
    return modality(kind).report is not None


def _call(fn, *args, n: int, **extra) -> dict:
    """Call a report with the keyword arguments its signature takes (``n``, ``temperature``)."""
    params = inspect.signature(fn).parameters
    if "n" in params:
        extra["n"] = n
    return fn(*args, **{k: v for k, v in extra.items() if k in params})


def evaluate_modality(model, n: int | None = None, seed: int = 0, temperature: float = 1.0) -> dict:
    """The report of a text/tabular/sequence/video model (``gankit.load``) on its held-out data."""
    m = modality(model.meta)
    if m.report is None:
        raise UserError(f"{model.path}: {m} data has no report of its own")
    return _call(m.report_fn(0), model, n=m.eval_n if n is None else n, seed=seed, temperature=temperature)


def evaluate_modality_real(data: str, kind: str, n: int | None = None, seed: int = 0) -> dict:
    """The same report for the real training split of dataset ``data`` (and its baselines)."""
    m = modality(kind)
    return _call(m.report_fn(1), data, n=m.eval_n if n is None else n, seed=seed)
