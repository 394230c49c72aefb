"""Presets: YAML layers over the dataclass defaults, per recipe and per (recipe, data).

``presets/<recipe>.yaml`` holds a recipe's nets and optimiser settings;
``presets/<recipe>-<data>.yaml`` what works best for that data (length included), so the
one-flag run ``gankit train --data NAME`` is the best gankit knows for it.
"""
from __future__ import annotations

from pathlib import Path

from ..config import Config, apply_overrides, merge, read_yaml
from ..errors import UserError
from ..registry import RECIPES

HERE = Path(__file__).parent
DEFAULT_RECIPE = "cgan"  # on digits (cgan.yaml + cgan-digits.yaml): the recommended run


def preset(stem: str) -> dict:
    """The preset ``presets/<stem>.yaml`` as a dict ({} when there is none)."""
    f = HERE / f"{stem}.yaml"
    return read_yaml(f) if f.is_file() else {}


def build_config(recipe: str | None = None, data: str | None = None, config_file: str | None = None,
                 steps: int | None = None, overrides: list[str] = ()) -> Config:
    """Resolve a run's config from defaults, presets, a config file, flags and ``--set``."""
    from ..data import dataset_spec

    user = read_yaml(config_file) if config_file else {}
    checked = Config.from_dict(merge(Config().to_dict(), user), where=config_file or "config")  # types first
    data_name = data or (checked.data.name if "name" in (user.get("data") or {}) else None)
    spec = dataset_spec(data_name) if data_name else None
    recipe = recipe or (checked.recipe if "recipe" in user else None) or (spec.recipe if spec is not None else None)
    if recipe is None and data_name and spec is None:  # a user path: the default recipe for its kind
        from ..data.user import recipe_for_path

        kwargs = dict(checked.data.kwargs)
        for o in overrides:  # `--set data.kwargs.layout=series` decides table vs series
            if o.startswith("data.kwargs.layout="):
                kwargs["layout"] = o.split("=", 1)[1]
        recipe = recipe_for_path(data_name, kwargs)
    recipe = recipe or DEFAULT_RECIPE
    RECIPES.get(recipe)  # unknown recipe -> UserError naming the choices
    base = Config(recipe=recipe).to_dict()
    d = merge(base, preset(recipe))
    data_name = data_name or d["data"]["name"]
    if dataset_spec(data_name) is not None:  # built-in data may have a tuned preset
        d = merge(d, preset(f"{recipe}-{data_name}"))
    d = merge(d, user)
    d["recipe"] = recipe
    d["data"]["name"] = data_name
    if spec is None and "resolution" not in (user.get("data") or {}):  # a prepared folder has one resolution
        from ..data.layouts import prepared_manifest

        m = prepared_manifest(Path(data_name)) if Path(data_name).is_dir() else None
        d["data"]["resolution"] = m["resolution"] if m else d["data"]["resolution"]
    if steps is not None:
        if steps < 0:
            raise UserError(f"--steps must be >= 0, got {steps}")
        d["loop"]["steps"] = steps
    cfg = Config.from_dict(d, where=config_file or "config")
    return apply_overrides(cfg, list(overrides))
