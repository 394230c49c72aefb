"""``gankit data list``: every registered dataset with size, shape, classes and description."""
from __future__ import annotations

from ..registry import DATASETS


def catalog(resolution: int = 32) -> list[dict]:
    rows = []
    for name, spec in DATASETS.items():
        data = spec(resolution=resolution, split="train")
        rows.append({**data.describe(), "name": name, "description": spec.description,
                     "recipe": spec.recipe})
    return rows
