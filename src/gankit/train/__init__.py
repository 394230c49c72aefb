"""THE training loop (one for every recipe): :class:`Trainer`, its hooks, and ``train()``."""
from .hooks import Hook, TrainState
from .setup import data_meta
from .trainer import Trainer, train

__all__ = ["Hook", "TrainState", "Trainer", "data_meta", "train"]
