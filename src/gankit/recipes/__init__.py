"""Recipes: one short file per GAN family, registered by name (``gankit recipes``)."""
from . import classic  # noqa: F401  (registers built-ins)
from .base import Phase, Recipe, StepContext

__all__ = ["Phase", "Recipe", "StepContext"]
