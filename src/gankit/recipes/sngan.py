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
    draws ``n_gen_samples`` = 2 x batch.

    The digits preset (``presets/sngan-digits.yaml``) trains the paper's other net instead, its
    "standard CNN" (table 3: ``dcgan_g(out_conv=True)`` and ``sndcgan_d``), with the optimiser
    of the authors' standard-CNN run (chainer-gan-lib ``example.sh``: n_dis 1, Adam 2e-4 betas
    (0.5, 0.999)): the ResNet's step costs ~15x more, too much for 20 CPU-minutes. Departures
    there: D at a quarter of their width (ndf 16), G at half (ngf 32), 12,000 G steps (theirs
    100,000), D's lr 2.5e-5 against G's 2e-4 (theirs equal: a faster D leaves G's class mix
    uneven, too few 1s and 7s, which is most of the digits FID at this budget), hinge loss
    (their standard-CNN script trains the plain GAN loss; the paper reports both), the lr decayed to 0 (theirs constant), G_ema 0.999 (theirs none), z ~ N(0, I) (their
    DCGANGenerator draws U(-1, 1)), leaky ReLU 0.1 as the paper's table (their code: chainer's
    default 0.2)."""

    name = "sngan"
    description = "Miyato et al. 2018: ResNet G/D, spectral norm on D, hinge loss, Adam 2e-4 (0, 0.9), 5 D steps"
