"""The splits of one run's dataset, each loaded at most once.

A run loads its training split once (``gankit.train.resolve_run``); recipes (held-out inputs,
captions, clips) and the in-training metrics ask this object for the other splits instead of
loading the dataset again.
"""
from __future__ import annotations

from ..config import DataConfig
from ..errors import UserError
from .base import Data


class DataSplits:
    """``get(split)`` loads ``split`` of the dataset ``cfg`` names on first use, then caches it."""

    def __init__(self, cfg: DataConfig, train: Data | None = None):
        self.cfg = cfg
        self._cache: dict[str, Data] = {} if train is None else {"train": train}

    def get(self, split: str) -> Data:
        if split not in self._cache:
            from . import load_data

            self._cache[split] = load_data(self.cfg, split=split)
        return self._cache[split]

    @property
    def train(self) -> Data:
        return self.get("train")

    def held_out(self, fallback: bool = True) -> Data:
        """The test split; with ``fallback`` the training split when the data has none."""
        try:
            return self.get("test")
        except (UserError, ValueError):
            if not fallback:
                raise
            return self.train
