"""THE training loop (one for every recipe)."""
from .loop import train

__all__ = ["train"]
