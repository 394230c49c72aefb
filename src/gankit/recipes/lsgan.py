"""Least squares GAN (Mao et al. 2017)."""
from __future__ import annotations

from ..registry import RECIPES
from .adversarial import AdversarialRecipe


@RECIPES.register("lsgan")
class LSGAN(AdversarialRecipe):
    """Mao et al. 2017, eq. 2 with a=0, b=c=1 (the ``lsgan`` loss): D regresses real to 1 and
    fake to 0, G pushes fakes to 1; the quadratic loss keeps gradients for fakes far on the
    correct side of the boundary. Adam 2e-4, beta1 0.5 as in the paper."""

    name = "lsgan"
    description = "Mao et al. 2017: least-squares loss for D and G (a=0, b=c=1)"
