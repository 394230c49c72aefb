"""THE training loop (one for every recipe): :class:`Trainer`, its hooks, and ``train()``."""
from .hooks import Hook, TrainState
from .resolve import Run, resolve_config, resolve_loaded, resolve_run
from .setup import data_meta
from .trainer import Trainer, train

__all__ = ["Hook", "Run", "TrainState", "Trainer", "data_meta", "resolve_config", "resolve_loaded", "resolve_run",
           "train"]
