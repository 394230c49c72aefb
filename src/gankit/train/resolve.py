"""From what a user typed to what the trainer needs: ``resolve_run(...) -> Run``.

The one path from ``gankit train --data X`` to a step:

1. the data's kind: a built-in name says it; a user path is looked at once (no decoding);
2. the recipe: ``--recipe``, else the dataset's recommended one, else the default of the kind
   (:mod:`gankit.modality`);
3. the config: defaults -> presets -> ``--config`` -> flags -> ``--set`` (``presets.build_config``);
4. the data, loaded once at the config's resolution (the other splits on first use, through
   :class:`~gankit.data.splits.DataSplits`);
5. the recipe's own checks and the net kwargs the data decides (``resolve_config``).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from ..config import Config
from ..data import Data
from ..data.splits import DataSplits
from ..registry import RECIPES
from .setup import data_meta


@dataclass
class Run:
    """A resolved run: the complete config, the loaded training data, and its description."""

    cfg: Config
    data: Data
    meta: dict
    splits: DataSplits


def resolve_config(cfg: Config, meta: dict) -> Config:
    """The recipe checks the data (kind, augmentation) and fills what the data decides."""
    recipe_cls = RECIPES.get(cfg.recipe)
    recipe_cls.check_data(cfg, meta)
    return recipe_cls.resolve(copy.deepcopy(cfg), meta)


def resolve_loaded(cfg: Config, data: Data | None = None) -> Run:
    """A :class:`Run` for a config whose data is loaded (``data``) or still to load."""
    from ..data import load_data

    data = load_data(cfg.data) if data is None else data
    meta = data_meta(data)
    return Run(resolve_config(cfg, meta), data, meta, DataSplits(cfg.data, data))


def resolve_run(recipe: str | None = None, data: str | None = None, config_file: str | None = None,
                steps: int | None = None, overrides: list[str] = ()) -> Run:
    """Resolve a run from the CLI's words (``gankit train``'s flags)."""
    from ..presets import build_config

    cfg = build_config(recipe=recipe, data=data, config_file=config_file, steps=steps, overrides=overrides)
    return resolve_loaded(cfg)
