"""The three classic recipes: gan (2014), dcgan (2015), cgan (2014)."""
from __future__ import annotations

from ..registry import RECIPES
from .adversarial import AdversarialRecipe


@RECIPES.register("gan")
class GAN(AdversarialRecipe):
    name = "gan"
    description = ("Goodfellow et al. 2014: MLP G and D, minimax or non-saturating loss "
                   "(loss.name), k D-steps per G-step (loop.d_steps)")


@RECIPES.register("dcgan")
class DCGAN(AdversarialRecipe):
    name = "dcgan"
    description = "Radford et al. 2015: all-convolutional G/D with batch norm, Adam 2e-4 beta1 0.5"


@RECIPES.register("cgan")
class CGAN(AdversarialRecipe):
    name = "cgan"
    description = "Mirza & Osindero 2014: the class label is fed to both G and D (sample with --class)"
    conditional = True
