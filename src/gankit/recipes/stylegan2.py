"""StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN")."""
from __future__ import annotations

import math

import torch

from ..checkpoint import unwrap
from ..errors import UserError
from ..nets.stylegan2 import NOISE_MODES, StyleGAN2Generator, style_mix  # noqa: F401  (re-exported)
from ..registry import NETS, RECIPES
from .adversarial import AdversarialRecipe
from .base import Phase, StepContext


@RECIPES.register("stylegan2")
class StyleGAN2(AdversarialRecipe):
    """StyleGAN2 "config F" on the shared loop (nets: :mod:`gankit.nets.stylegan2`).

    * Loss: non-saturating logistic (sec. 2 / appendix B), set in the preset's ``loss.name``.
    * Lazy R1 on D (Mescheder et al. 2018; StyleGAN2 sec. 3.1): the ``r1`` regularizer of
      ``loss.kwargs`` (gamma = ``weight``, ``interval`` 16) runs as phase ``D_reg`` every 16
      steps with its loss multiplied by 16.
    * Path-length regularization (sec. 3.2, eq. 4): phase ``G_reg`` every ``pl_interval``
      steps, ``pl_weight * pl_interval * E_{w, y}(||J_w^T y||_2 - a)^2``, y ~ N(0, I) / sqrt(HW),
      a = exponential moving average of the lengths (decay ``pl_decay``), kept in ``G.pl_mean``;
      on a batch ``pl_batch_shrink`` times smaller (appendix B).
    * Style mixing regularization (StyleGAN sec. 3.1): with probability ``mixing_prob`` a
      batch takes its ws after a random crossover layer from a second z.
    * Adam (0.0025, betas (0, 0.99)) with the lazy-regularization correction
      ``lr * c, beta ** c``, ``c = interval / (interval + 1)`` (appendix B): the loop builds the
      optimizers from ``optim_g`` / ``optim_d``, so the preset holds the corrected numbers.
    * G_ema via ``loop.ema``; ``sample(..., truncation=psi)`` truncates towards the tracked
      mean of w (``G.mapping.w_avg``); :func:`gankit.nets.stylegan2.style_mix` makes mixing grids.

    Where the digits preset departs from NVlabs/stylegan2-ada-pytorch's ``cifar`` config, and why:
    no ADA (theirs: target 0.6), an 8-layer mapping net (theirs: 2) and R1 gamma 0.05 (theirs:
    0.01). Their settings, tried on digits for 2,000 steps (seed 0, 2026-12-06), gave FID 35.7
    against the preset's 29.5 (docs/results/quality.md); ``augment.name=ada`` and the kwargs are
    one ``--set`` away. D's lr is a quarter of theirs (0.00059 with their beta2; G keeps 0.002):
    at their lr D leaves G's digit mix uneven (too few 1s and 7s) on 1,437 digits; seeds 0-2 at
    6,000 steps, FID 10.42 -> 8.79 (docs/results/families.md). G trains on its own fresh z
    (``loop.g_fresh``, as their per-phase z) and the mapping network runs in fp32 under bf16
    autocast (theirs is never fp16), and so does the R1 pass (``r1.fp32``, default: bf16
    penalties cost r3gan 0.4 FID on digits); path length keeps the autocast, as their fp16 layers
    run in that pass too.
    """

    name = "stylegan2"
    description = ("Karras et al. 2020: mapping net, modulated/demodulated convs, skip G, residual D, "
                   "lazy R1 + path length, style mixing")
    kinds = ("images",)
    options = {"mixing_prob": 0.9, "pl_weight": 2.0, "pl_interval": 4, "pl_decay": 0.01, "pl_batch_shrink": 2}

    @classmethod
    def resolve(cls, cfg, meta):
        cfg = super().resolve(cfg, meta)
        builder = NETS.get(cfg.G.name)
        if not (isinstance(builder, type) and issubclass(builder, StyleGAN2Generator)):
            raise UserError(f"recipe 'stylegan2' needs a StyleGAN2 generator (G.name=stylegan2_g); "
                            f"G.name={cfg.G.name!r} has no mapping network")
        o = cls.read_options(cfg)
        if not 0.0 <= o["mixing_prob"] <= 1.0:
            raise UserError(f"options.mixing_prob must be in [0, 1], got {o['mixing_prob']}")
        for key in ("pl_interval", "pl_batch_shrink"):
            if o[key] < 1:
                raise UserError(f"options.{key} must be >= 1, got {o[key]}")
        if o["pl_weight"] < 0 or not 0.0 < o["pl_decay"] <= 1.0:
            raise UserError(f"options.pl_weight must be >= 0 and options.pl_decay in (0, 1], "
                            f"got {o['pl_weight']} and {o['pl_decay']}")
        return cfg

    def phases(self) -> list[Phase]:
        phases = super().phases()  # D, D_reg (lazy R1), G
        if self.opts["pl_weight"] > 0:
            name = "G_reg" if all(p.name != "G_reg" for p in phases) else "G_reg_pl"
            phases.append(Phase(name, "G", self.pl_step, interval=self.opts["pl_interval"]))
        return phases

    # --- latents -------------------------------------------------------------
    def mapped(self, ctx: StepContext, n: int, update_w_avg: bool) -> torch.Tensor:
        """ws [n, num_ws, w_dim] for n fresh z, with style mixing regularization."""
        G = unwrap(ctx.nets["G"])
        ws = G.mapping(ctx.randn(n, G.z_dim), update_w_avg=update_w_avg)
        # One coin and one crossover per batch, as the official code; drawn every time so the
        # noise stream does not depend on the coin.
        coin = float(torch.rand((), generator=ctx.rng))
        cutoff = int(torch.randint(1, G.num_ws, (), generator=ctx.rng)) if G.num_ws > 1 else 1
        if coin < self.opts["mixing_prob"]:
            ws2 = G.mapping(ctx.randn(n, G.z_dim))
            ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], 1)  # [n, num_ws, w_dim]
        return ws

    def generate(self, ctx: StepContext) -> dict:
        G = unwrap(ctx.nets["G"])
        ws = self.mapped(ctx, len(ctx.batch["real"]), update_w_avg=True)
        return {"fake": G.synthesis(ws), "y": None}  # per-layer noise from torch's per-step seed

    # --- path-length regularization ------------------------------------------
    def pl_step(self, ctx: StepContext) -> dict:
        """StyleGAN2 sec. 3.2, eq. 4 (lazy: every ``pl_interval`` steps, loss x interval)."""
        G = unwrap(ctx.nets["G"])
        n = max(1, len(ctx.batch["real"]) // self.opts["pl_batch_shrink"])
        ws = self.mapped(ctx, n, update_w_avg=False)  # [n, num_ws, w_dim]
        img = G.synthesis(ws)  # [n, C, H, W]
        h, w = img.shape[-2:]
        y = ctx.randn(*img.shape) / math.sqrt(h * w)  # y ~ N(0, I), scaled to the image size
        (jty,) = torch.autograd.grad((img.float() * y).sum(), ws, create_graph=True)  # J_w^T y [n, num_ws, w_dim]
        lengths = jty.float().pow(2).sum(2).mean(1).sqrt()  # [n] ||J_w^T y||, averaged over the ws
        with torch.no_grad():  # a: long-running average of the lengths
            G.pl_mean.copy_(G.pl_mean.lerp(lengths.mean(), self.opts["pl_decay"]))
        penalty = (lengths - G.pl_mean).pow(2).mean()
        loss = penalty * self.opts["pl_weight"] * self.opts["pl_interval"]
        return {"loss": loss, "reg/pl": penalty.detach(), "reg/pl_mean": G.pl_mean.detach().clone()}

    # --- sampling ------------------------------------------------------------
    @torch.no_grad()
    def sample(self, G, n: int, seed: int, y: torch.Tensor | None = None, truncation: float | None = None,
               noise_mode: str = "const", **kw) -> torch.Tensor:
        """n images from seeded z; ``truncation`` psi pulls w towards ``w_avg`` (0: the mean-w
        image for every seed; None or 1: none); ``noise_mode``: const (fixed per-layer noise,
        the default, so a seed always gives the same image), random (seeded) or none."""
        if noise_mode not in NOISE_MODES:
            raise UserError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, got {noise_mode!r}")
        G = unwrap(G)
        g = torch.Generator().manual_seed(seed)
        dev = next(G.parameters()).device
        ws = G.mapping(torch.randn(n, G.z_dim, generator=g).to(dev), truncation)
        return G.synthesis(ws, noise_mode=noise_mode, noise_gen=g)
