"""ProGAN (Karras et al. 2018, "Progressive Growing of GANs for Improved Quality, Stability,
and Variation")."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..checkpoint import unwrap
from ..errors import UserError
from ..nets.progan import split_growth
from ..registry import NETS, RECIPES
from .adversarial import AdversarialRecipe
from .base import StepContext


def growth_at(step: int, steps_per_phase: int, levels: int) -> float:
    """The growth schedule (sec. 2 and A.1) as a pure function of the global step.

    Phases of ``steps_per_phase`` steps: stabilise 4x4; then, for every doubling, fade the new
    level in (alpha ramps linearly from 1/P to 1) and stabilise it; stay at the last level.
    Returns ``level - 1 + alpha`` (0: 4x4; ``levels``: fully grown), see
    :func:`gankit.nets.progan.split_growth`. Resuming at any step gives the same value.
    """
    k, i = divmod(int(step), int(steps_per_phase))
    grown = k // 2 + (i + 1) / steps_per_phase if k % 2 else k // 2
    return float(min(grown, levels))


def grown_step(steps_per_phase: int, levels: int) -> int:
    """The first step of the last phase (fully grown, no fade-in) of :func:`growth_at`: after
    the 4x4 phase and one fade-in and one stabilise phase per doubling, ``2 * levels`` phases."""
    return 2 * int(levels) * int(steps_per_phase)


@RECIPES.register("progan")
class ProGAN(AdversarialRecipe):
    """Progressive growing on the shared loop (nets: :mod:`gankit.nets.progan`).

    Every step, G's and D's ``growth`` is set from the step (:func:`growth_at`, ``options:
    {steps_per_phase: N}``). G makes fakes at the current resolution; D sees reals average-
    pooled to it and, during a fade-in, blended with their 2x-downsampled-then-upsampled
    version by the same alpha (as in the official code), so reals and fakes are faded alike.
    Samples (``G(z)``) are at the final resolution, upsampled while growing is unfinished.

    Loss: WGAN-GP (Gulrajani et al. 2017; ``loss: {name: wasserstein, kwargs: {gp: 10}}``)
    plus the drift term ``drift * E[D(x)^2]`` on reals (sec. A.1, epsilon_drift = 0.001),
    which keeps the critic's output near 0. n_critic = 1, Adam lr 0.001 betas (0, 0.99).
    Setting ``loss.name: nonsaturating`` (and ``loss.kwargs: {}``) gives the logistic variant.

    Where the preset departs from tkarras/progressive_growing_of_gans (config.py, train.py), for
    a CPU (the preset says more): widths min(512 // r, 128) (theirs min(8192 // r, 512)), z of 128
    (512), batch 32 at every level (theirs 128 up to 16 px, 64 at 32), 400-step phases (theirs
    600k images each), G_ema 0.995 from step 500 (0.999 throughout). Not yet measured: they reset
    Adam's state whenever a new level starts (``reset_opt_for_new_lod``), we never do. G trains
    on fresh latents (``loop.g_fresh``) as their G loss.
    The loss and drift, n_critic 1, lr 0.001, betas (0, 0.99) and the layers match.
    """

    name = "progan"
    description = ("Karras et al. 2018: progressive growing with fade-in, equalized lr, pixel norm, "
                   "minibatch stddev, WGAN-GP + drift")
    kinds = ("images",)
    options = {"steps_per_phase": 1000, "drift": 0.001}

    @classmethod
    def resolve(cls, cfg, meta):
        cfg = super().resolve(cfg, meta)
        for role, net in (("G", cfg.G), ("D", cfg.D)):
            if not hasattr(NETS.get(net.name), "set_growth"):
                raise UserError(f"recipe 'progan' needs growing nets (progan_g / progan_d); "
                                f"{role}.name={net.name!r} cannot grow")
        o = cls.read_options(cfg)
        if o["steps_per_phase"] < 1:
            raise UserError(f"options.steps_per_phase must be >= 1, got {o['steps_per_phase']}")
        if o["drift"] < 0:
            raise UserError(f"options.drift must be >= 0, got {o['drift']}")
        return cfg

    # --- growth --------------------------------------------------------------
    def grow(self, ctx: StepContext) -> tuple[int, float]:
        """Set G's and D's growth for ``ctx.step``; returns (level, alpha)."""
        levels = unwrap(ctx.nets["G"]).levels
        g = growth_at(ctx.step, self.opts["steps_per_phase"], levels)
        for name in ("G", "D"):
            unwrap(ctx.nets[name]).set_growth(g)
        return split_growth(g, levels)

    def at_current(self, ctx: StepContext, x: torch.Tensor) -> torch.Tensor:
        """Images [N, C, R, R] -> the current resolution r, faded like G's output (identity for
        images already at r, i.e. fakes)."""
        level, alpha = self.grow(ctx)
        r = 4 * 2**level
        if x.shape[-1] == r:
            return x
        x = F.avg_pool2d(x, x.shape[-1] // r)  # [N, C, r, r]
        if alpha < 1.0:
            low = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2.0, mode="nearest")
            x = low.lerp(x, alpha)
        return x

    # --- the game ------------------------------------------------------------
    def generate(self, ctx: StepContext) -> dict:
        self.grow(ctx)
        G = ctx.nets["G"]
        n = len(ctx.batch["real"])
        return {"fake": G(ctx.randn(n, unwrap(G).z_dim), None, full_res=False), "y": None}  # [N, C, r, r]

    def discriminate(self, ctx, x, y, features=False):
        return super().discriminate(ctx, self.at_current(ctx, x), y, features)

    def reg_inputs(self, ctx, real, y_real, fake, y_fake, o_real=None, o_fake=None):
        return super().reg_inputs(ctx, self.at_current(ctx, real), y_real, fake, y_fake, o_real, o_fake)

    def d_extra_loss(self, ctx, o_real, o_fake, f):
        level, alpha = self.grow(ctx)
        logs = {"progan/resolution": float(4 * 2**level), "progan/alpha": alpha}
        if not self.opts["drift"]:
            return None, logs
        drift = o_real["logit"].float().pow(2).mean()  # sec. A.1: keeps D(x) from drifting
        logs["reg/drift"] = drift.detach()
        return self.opts["drift"] * drift, logs
