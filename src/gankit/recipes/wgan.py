"""Wasserstein GANs: wgan (weight clipping, Arjovsky et al. 2017) and wgan-gp (gradient
penalty, Gulrajani et al. 2017). Both train a critic ``loop.d_steps`` (5) times per G step
on the Wasserstein loss ``E D(G z) - E D(x)``."""
from __future__ import annotations

import torch

from ..registry import RECIPES
from .adversarial import AdversarialRecipe


@RECIPES.register("wgan")
class WGAN(AdversarialRecipe):
    """Arjovsky et al. 2017, Alg. 1: RMSprop 5e-5, n_critic 5, critic weights clipped to
    [-c, c] (c = ``options.clip`` = 0.01) after every critic step: a constraint on the weights,
    so it runs as the D phase's ``after_step``, not as a loss. (The paper's extra 100-step
    critic bursts in the first 25 and every 500th G step are not reproduced.)"""

    name = "wgan"
    description = "Arjovsky et al. 2017: Wasserstein critic, weight clipping 0.01, RMSprop 5e-5, 5 critic steps"
    options = {"clip": 0.01}

    @torch.no_grad()
    def d_after_step(self, ctx) -> None:
        c = self.opts["clip"]
        for p in ctx.nets["D"].parameters():
            p.clamp_(-c, c)


@RECIPES.register("wgan-gp")
class WGANGP(AdversarialRecipe):
    """Gulrajani et al. 2017, Alg. 1: Wasserstein loss + ``loss.kwargs.gp`` (lambda = 10) on
    random interpolates, Adam 1e-4 betas (0, 0.9), n_critic 5. The critic should have no batch
    norm (the penalty is per sample; sec. 4), hence resnet_d with sn=false on images."""

    name = "wgan-gp"
    description = "Gulrajani et al. 2017: Wasserstein critic + gradient penalty 10, Adam 1e-4 (0, 0.9), 5 critic steps"

    @classmethod
    def resolve(cls, cfg, meta):
        cfg.loss.kwargs.setdefault("gp", 10.0)
        return super().resolve(cfg, meta)
