"""Recipes: one short file per GAN family, registered by name (``gankit recipes``)."""
from . import acgan, classic, hinge, infogan, lsgan, pacgan, projection, sagan, sngan, wgan  # noqa: F401
from . import cyclegan, pix2pix, spade, srgan, stargan  # noqa: F401  (image-to-image)
from . import biggan, progan, r3gan, stylegan2  # noqa: F401  (the GAN family catalog)
from . import ctgan, musegan, next_frame, rgan, text_gan  # noqa: F401  (beyond images)
from . import text2image  # noqa: F401  (text-to-image)
from .base import Phase, Recipe, StepContext

__all__ = ["Phase", "Recipe", "StepContext"]
