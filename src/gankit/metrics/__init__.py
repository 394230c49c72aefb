"""Metrics (registered by name; the same functions serve training callbacks and ``gankit eval``).

Library functions on feature arrays (numpy or torch)::

    from gankit.metrics import fid_from_features, kid_from_features, prdc_from_features, inception_score
    fid_from_features(real, fake)                    # Heusel et al. 2017
    kid_from_features(real, fake)                    # Bińkowski et al. 2018
    prdc_from_features(real, fake, k=5)              # Kynkäänniemi et al. 2019; Naeem et al. 2020
    inception_score(probs, splits=10)                # Salimans et al. 2016 -> (mean, std)

Registered metrics (``gankit.registry.METRICS``): fid, kid, prdc, is, modes, class_acc; see
``core.py``. ``evaluate.evaluate(model, ...)`` is ``gankit eval``; ``training.make_eval_hook``
the in-training evaluation.
"""
from . import cas, core  # noqa: F401  (importing them registers the metrics)
from .fid import fid_from_features, fid_from_stats
from .inception_score import inception_score
from .kid import kid_from_features
from .modes import class_mode_metrics, mode_metrics_2d
from .prdc import prdc_from_features

__all__ = [
           "class_mode_metrics",
           "fid_from_features",
           "fid_from_stats",
           "inception_score",
           "kid_from_features",
           "mode_metrics_2d",
           "prdc_from_features",
]
