"""`gankit eval` for the kinds beyond images: text, tabular, sequence and video models.

Each kind has its own report (see ``text_metrics``, ``tabular_metrics``,
``timeseries_metrics``, ``video_metrics``); this module only picks the one that matches a
checkpoint's data kind, so ``gankit eval`` and ``benchmarks/beyond_images.py`` share it.
"""
from __future__ import annotations

from importlib import import_module

from ..errors import UserError

# kind -> (module, model evaluator, real-data evaluator); the real one scores the training split
# (and the kind's no-model baselines) against the held-out split.
KINDS = {
    "text": ("text_metrics", "evaluate_text_model", "evaluate_text_real"),
    "tabular": ("tabular_metrics", "evaluate_tabular_model", "evaluate_tabular_real"),
    "sequence": ("timeseries_metrics", "evaluate_sequence_model", "evaluate_sequence_real"),
    "video": ("video_metrics", "evaluate_video_model", "evaluate_video_baselines"),
}
DEFAULT_N = {"text": 1000, "tabular": 0, "sequence": 0, "video": 0}  # 0: as many as the held-out split


def _fn(kind: str, which: int):
    mod, *names = KINDS[kind]
    return getattr(import_module(f".{mod}", __package__), names[which])


def evaluate_modality(model, n: int | None = None, seed: int = 0, temperature: float = 1.0) -> dict:
    """The report of a text/tabular/sequence/video model (``gankit.load``) on its held-out data."""
    kind = model.meta.get("kind")
    if kind not in KINDS:
        raise UserError(f"{model.path}: data kind {kind!r} is not one of {', '.join(KINDS)}")
    n = DEFAULT_N[kind] if n is None else n
    if kind == "text":
        return _fn(kind, 0)(model, n, seed, temperature)
    return _fn(kind, 0)(model, n, seed)


def evaluate_modality_real(data: str, kind: str, n: int | None = None, seed: int = 0) -> dict:
    """The same report for the real training split of dataset ``data`` (and its baselines)."""
    n = DEFAULT_N[kind] if n is None else n
    if kind == "tabular":
        return _fn(kind, 1)(data, seed)
    return _fn(kind, 1)(data, n, seed)
