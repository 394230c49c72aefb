"""Least squares GAN (Mao et al. 2017)."""
from __future__ import annotations

from ..registry import RECIPES
from .adversarial import AdversarialRecipe


@RECIPES.register("lsgan")
class LSGAN(AdversarialRecipe):
    """Mao et al. 2017, eq. 2 with a=0, b=c=1 (the ``lsgan`` loss): D regresses real to 1 and
    fake to 0, G pushes fakes to 1; the quadratic loss keeps gradients for fakes far on the
    correct side of the boundary. Adam 2e-4, beta1 0.5 as in the paper.

    Where it departs from xudonmao/LSGAN: their DCGAN-net code (stability_comparison/, 64 px, 5x5
    kernels, z uniform on [-1, 1]) runs at 2e-4 as here, but their scene models (train_lsun.py,
    112 px VGG-style nets, z of 1,024) at lr 1e-3. The digits preset runs our DCGAN nets at 32 px
    with 4x4 kernels, N(0, I) z of 100 and half widths (ngf = ndf = 32: in the same 60 CPU-s the
    full-width nets collapsed, FID 184 against 36.4), and samples a G_ema 0.999 (a generic aid;
    theirs none) and instance noise on everything D sees (``augment.name: noise``, std 0.5 annealed linearly to 0 over 20,000 steps; a generic aid, not in the paper: without it the unconditional DCGAN nets stalled near FID 13 on the 1,437 digits, docs/results/families.md). Their loss is summed, not averaged, over the batch (``tf.nn.l2_loss``), a scale
    Adam divides out. As theirs, G trains on the D step's z."""

    name = "lsgan"
    description = "Mao et al. 2017: least-squares loss for D and G (a=0, b=c=1)"
