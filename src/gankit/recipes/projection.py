"""The projection discriminator (Miyato & Koyama 2018), class-conditional."""
from __future__ import annotations

from ..errors import UserError
from ..registry import NETS, RECIPES
from .adversarial import AdversarialRecipe


@RECIPES.register("projection")
class Projection(AdversarialRecipe):
    """Miyato & Koyama 2018: D(x, y) = psi(phi(x)) + y^T V phi(x) (sec. 3) instead of
    concatenating the label; G has class-conditional batch norm. ResNets with spectral norm,
    hinge loss, Adam 2e-4 betas (0, 0.9), n_dis 5 (sec. 5), lr decayed linearly to 0 over the
    run (the authors' sngan_projection code). Sample a class with --class.

    G trains on fresh z and labels (``loop.g_fresh``) as theirs. Where it departs from
    pfnet-research/sngan_projection (configs/sn_cifar10_conditional.yml): widths cut for a CPU
    (theirs G 256, D 128) and a run of hundreds to thousands of G steps with the lr decay spread
    over it (theirs 50,000); G's batch is the D batch (64) where theirs draws ``n_gen_samples``
    = 128; the digits preset samples a G_ema 0.999 (theirs none); D's last linear layer has a
    bias (theirs none). Hinge loss, Adam 2e-4 (0, 0.9), n_dis 5, batch 64, z of 128, the Glorot
    init and spectral norm on D only match.

    The digits preset keeps the projection D, conditional-BN G and hinge loss but on SNGAN's
    standard CNN (``sndcgan_d`` with ``num_classes``, ``dcgan_g`` with ``cbn``) and its authors'
    optimiser (n_dis 1, betas (0.5, 0.999)), since the ResNet step is ~15x the cost, and adds ADA
    (target 0.6), which theirs does not have: on 1,437 digits (144 a class) the conditional D
    memorises each class and G collapses to a few digits per class (recall 0.26 without it,
    0.77 with it on seed 0)."""

    name = "projection"
    description = "Miyato & Koyama 2018: class-conditional, projection D + conditional-BN G, SN ResNets, hinge"
    conditional = True

    @classmethod
    def resolve(cls, cfg, meta):
        cfg = super().resolve(cfg, meta)
        if not getattr(NETS.get(cfg.D.name), "projection", False):
            raise UserError(f"recipe 'projection' needs a projection discriminator (e.g. resnet_d); "
                            f"D.name={cfg.D.name!r} is not one")
        return cfg
