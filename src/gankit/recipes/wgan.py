"""Wasserstein GANs: wgan (weight clipping, Arjovsky et al. 2017) and wgan-gp (gradient
penalty, Gulrajani et al. 2017). Both train a critic ``loop.d_steps`` (5) times per G step
on the Wasserstein loss ``E D(G z) - E D(x)``."""
from __future__ import annotations

import dataclasses

import torch

from ..registry import RECIPES
from .adversarial import AdversarialRecipe


def critic_steps(step: int, n_critic: int) -> int:
    """Critic steps before G step ``step`` in Arjovsky et al.'s code: 100 in the first 25 G steps
    and every 500th, else ``n_critic``."""
    return 100 if step < 25 or step % 500 == 0 else n_critic


@RECIPES.register("wgan")
class WGAN(AdversarialRecipe):
    """Arjovsky et al. 2017, Alg. 1: RMSprop 5e-5, n_critic 5, critic weights clipped to
    [-c, c] (c = ``options.clip`` = 0.01) after every critic step: a constraint on the weights,
    so it runs as the D phase's ``after_step``, not as a loss. The critic trains 100 steps
    instead of n_critic in the first 25 G steps and every 500th (``options.critic_bursts``,
    on: martinarjovsky/WassersteinGAN main.py's ``Diters``, which keeps the critic near its
    optimum, the premise of the Wasserstein estimate; ``false``: n_critic always).

    Where it departs from martinarjovsky/WassersteinGAN (main.py): we clip
    after each critic step, they before each (so their G step sees the last update unclipped);
    the digits preset runs 32 px (theirs 64 px) with half widths (ngf = ndf = 32, theirs 64) and
    a G_ema 0.999 (a generic aid; theirs none), sized for a CPU budget; it also raises RMSprop's lr
    to 2e-4 (theirs 5e-5, for 100k+ G steps; ours are 8,000) and adds instance noise on all the
    critic sees (std 0.7 annealed to 0; theirs none): 25.5 -> 16.0 FID on seed 0. G trains on fresh
    z (``loop.g_fresh``) as theirs; the DCGAN nets' layout (BN in G and critic, N(0, 0.02) init),
    batch 64, z of 100 and RMSprop match (the ring8 / grid25 presets keep 5e-5)."""

    name = "wgan"
    description = "Arjovsky et al. 2017: Wasserstein critic, weight clipping 0.01, RMSprop 5e-5, 5 critic steps"
    options = {"clip": 0.01, "critic_bursts": True}

    def phases(self):
        phases = super().phases()
        if self.opts["critic_bursts"]:
            n = self.cfg.loop.d_steps
            phases[0] = dataclasses.replace(phases[0], repeats_at=lambda step: critic_steps(step, n))
        return phases

    @torch.no_grad()
    def d_after_step(self, ctx) -> None:
        c = self.opts["clip"]
        for p in ctx.nets["D"].parameters():
            p.clamp_(-c, c)


@RECIPES.register("wgan-gp")
class WGANGP(AdversarialRecipe):
    """Gulrajani et al. 2017, Alg. 1: Wasserstein loss + ``loss.kwargs.gp`` (lambda = 10) on
    random interpolates, Adam 1e-4 betas (0, 0.9), n_critic 5. The critic should have no batch
    norm (the penalty is per sample; sec. 4), hence resnet_d with sn=false on images.

    Where the digits preset departs from igul222/improved_wgan_training (gan_cifar_resnet.py, its
    unconditional setting): its lr, 2e-4 decayed linearly to 0, is the digits preset's, but
    over a run of hundreds of G steps (theirs 100,000; the 2D preset keeps Alg. 1's 1e-4); widths cut for a
    CPU (theirs 128); G's batch is the critic's 64 (theirs 128);
    the critic sums its last features over positions (SNGAN's resnet_d) where theirs averages
    them (x64 at 8x8, on the last layer's scale); no dequantisation noise on reals; a G_ema 0.999
    (theirs none). G trains on fresh z (``loop.g_fresh``); the ResNets, their He-uniform init,
    the penalty, n_critic 5 and batch 64 match.

    The digits preset trains a DCGAN-like critic without normalisation instead of the ResNets
    (a G step of those costs ~2.1 CPU-s at width 32, 500 in 20 CPU-minutes): the 7-conv critic of
    Miyato et al.'s WGAN-GP baseline (chainer-gan-lib WGANDiscriminator: ``sndcgan_d`` with
    ``sn: false``) at ndf 16 and the standard-CNN G at ngf 32, 1,600 G steps. Gulrajani et al.'s
    own DCGAN-like script (gan_cifar.py) has a 3-conv 5x5 critic, DIM 128, BN in G, 200,000 steps."""

    name = "wgan-gp"
    description = "Gulrajani et al. 2017: Wasserstein critic + gradient penalty 10, Adam 1e-4 (0, 0.9), 5 critic steps"

    @classmethod
    def resolve(cls, cfg, meta):
        cfg.loss.kwargs.setdefault("gp", 10.0)
        return super().resolve(cfg, meta)
