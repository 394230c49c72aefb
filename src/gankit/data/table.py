"""A table's raw values and column specs (:class:`Table`), below both the tabular datasets
(:mod:`gankit.data.tabular`, which builds them) and CTGAN's column transform
(:mod:`gankit.data.tabular_transform`, which fits on them), so neither imports the other.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TEST_FRACTION = 0.2


@dataclass
class Table:
    """Raw values ``[N, C]`` (discrete columns hold category indices) and column specs."""

    name: str
    values: np.ndarray  # float64 [N, C]
    columns: list[dict]  # {"name", "type": "continuous" | "discrete", "categories": [...]}
    target: str | None = None
    source: str = ""

    def split(self, split: str, seed: int = 0) -> np.ndarray:
        """Row indices of the fixed ``train`` / ``test`` split (a seeded permutation)."""
        n = len(self.values)
        perm = np.random.default_rng(seed).permutation(n)
        n_test = max(1, round(n * TEST_FRACTION)) if n >= 5 else 0
        return np.sort(perm[n_test:] if split == "train" else perm[:n_test])
