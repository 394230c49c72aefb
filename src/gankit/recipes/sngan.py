"""SNGAN (Miyato et al. 2018): spectral normalization of D, on the ResNet of its appendix B."""
from __future__ import annotations

from ..registry import RECIPES
from .adversarial import AdversarialRecipe


@RECIPES.register("sngan")
class SNGAN(AdversarialRecipe):
    """ResNet G (resnet_g) and spectrally normalised ResNet D (resnet_d, sn=true), hinge loss,
    Adam 2e-4 betas (0, 0.9), n_dis 5: the CIFAR-10 ResNet setting of Miyato et al. 2018
    (Table 4 / sec. 4; hinge as in their best CIFAR-10 results), with the lr decayed linearly
    to 0 over the run as the authors' code does (pfnet-research/sngan_projection, ``LinearShift``
    from ``iteration_decay_start: 0``).

    G trains on fresh z (``loop.g_fresh``) as theirs. Where it departs from the authors' code:
    widths 64 (theirs: G 256, D 128) for a CPU; G's batch is the D batch (64) where theirs
    draws ``n_gen_samples`` = 2 x batch."""

    name = "sngan"
    description = "Miyato et al. 2018: ResNet G/D, spectral norm on D, hinge loss, Adam 2e-4 (0, 0.9), 5 D steps"
