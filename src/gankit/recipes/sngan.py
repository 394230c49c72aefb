"""SNGAN (Miyato et al. 2018): spectral normalization of D, on the ResNet of its appendix B."""
from __future__ import annotations

from ..registry import RECIPES
from .adversarial import AdversarialRecipe


@RECIPES.register("sngan")
class SNGAN(AdversarialRecipe):
    """ResNet G (resnet_g) and spectrally normalised ResNet D (resnet_d, sn=true), hinge loss,
    Adam 2e-4 betas (0, 0.9), n_dis 5: the CIFAR-10 ResNet setting of Miyato et al. 2018
    (Table 4 / sec. 4; hinge as in their best CIFAR-10 results)."""

    name = "sngan"
    description = "Miyato et al. 2018: ResNet G/D, spectral norm on D, hinge loss, Adam 2e-4 (0, 0.9), 5 D steps"
