"""The hinge-loss GAN (Lim & Ye 2017; Tran et al. 2017)."""
from __future__ import annotations

from ..registry import RECIPES
from .adversarial import AdversarialRecipe


@RECIPES.register("hinge")
class HingeGAN(AdversarialRecipe):
    """D: E relu(1 - D(x)) + E relu(1 + D(G z)); G: -E D(G z) (the ``hinge`` loss), on the
    MLP / DCGAN nets; SNGAN, SAGAN and projection use it on ResNets.

    Lim & Ye published no code in wide use, so this is compared with the paper: the losses are
    its SVM hinge for D and its G step along the hyperplane's normal, -E D(G z) (sec. 4); the
    rest is not taken from it. The digits preset is the dcgan-digits setting of
    :class:`gankit.recipes.classic.DCGAN` (half-width DCGAN nets at 32 px, Adam 2e-4 betas
    (0.5, 0.999), batch 64, one D step, G on the D step's fakes, G_ema 0.999, instance noise on everything D sees (``augment.name: noise``, std 0.7 annealed linearly to 0; a generic aid, not in the paper: without it the unconditional DCGAN nets stalled near FID 13 on the 1,437 digits, docs/results/families.md));
    the points preset
    uses MLPs at lr 1e-3. The paper's own nets and optimiser settings were not checked against
    these (not yet measured)."""

    name = "hinge"
    description = "Lim & Ye 2017: hinge loss for D, -D(G(z)) for G, on MLP/DCGAN nets"
