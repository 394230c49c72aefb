"""The hinge-loss GAN (Lim & Ye 2017; Tran et al. 2017)."""
from __future__ import annotations

from ..registry import RECIPES
from .adversarial import AdversarialRecipe


@RECIPES.register("hinge")
class HingeGAN(AdversarialRecipe):
    """D: E relu(1 - D(x)) + E relu(1 + D(G z)); G: -E D(G z) (the ``hinge`` loss), on the
    MLP / DCGAN nets; SNGAN, SAGAN and projection use it on ResNets."""

    name = "hinge"
    description = "Lim & Ye 2017: hinge loss for D, -D(G(z)) for G, on MLP/DCGAN nets"
