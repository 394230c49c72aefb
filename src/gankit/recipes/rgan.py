"""RGAN (Esteban et al. 2017): recurrent G and D for multivariate time series (``"sequence"`` data).

G is a GRU driven by noise at every step and by its own previous output (``gru_seq_g``); D a
GRU reading the whole window (``gru_seq_d``); the adversarial loss is the configured one
(non-saturating by default). Adversarial feedback alone says *whether* a window looks real, not
how one step should follow the last, so ``options.supervised`` adds TimeGAN's supervised loss
(Yoon et al. 2019, eq. 5): G, fed the real previous steps, is also trained to predict each next
step (mean squared error, teacher forcing). TimeGAN applies it in a learned embedding space
with separate embedder/recovery/supervisor nets; here it is in data space on G itself, which
keeps one G and one D on the common loop. ``options.supervised=0`` (the default) is plain RGAN:
in data space the MSE pulls G towards the conditional mean of the next step (too little
variance, the time-series form of the "blurry average"), and on regime-prices it made every
score worse (docs/RESULTS.md). What helped there was a stronger D (``loop.d_steps=3``).

Evaluate with TimeGAN's discriminative and predictive scores and the autocorrelation match
(:mod:`gankit.metrics.timeseries_metrics`, ``benchmarks/beyond_images.py``).
"""
from __future__ import annotations

import inspect

import torch

from ..data import timeseries as _timeseries  # noqa: F401  (registers the data, writer and preview)
from ..errors import UserError
from ..registry import NETS, RECIPES
from .adversarial import AdversarialRecipe
from .base import StepContext, fill_kwargs


@RECIPES.register("rgan")
class RGAN(AdversarialRecipe):
    """Esteban et al. 2017 recurrent GAN, plus TimeGAN's (Yoon et al. 2019) supervised loss."""

    name = "rgan"
    description = "Esteban et al. 2017: GRU G and D for multivariate time series; TimeGAN's supervised loss option"
    kinds = ("sequence",)
    data_hint = "e.g. regime-prices; for a CSV time series add --set data.kwargs.layout=series"
    options = {"supervised": 0.0}

    @classmethod
    def resolve(cls, cfg, meta):
        seq_len, features = (int(v) for v in meta["shape"])
        for role, net in (("G", cfg.G), ("D", cfg.D)):
            params = inspect.signature(NETS.get(net.name)).parameters if net.name else {}
            if "features" not in params:
                raise UserError(f"{role}.name={net.name!r} is not a sequence network; use gru_seq_g / gru_seq_d")
            fill_kwargs(net, {"features": features, "seq_len": seq_len})
        cls.read_options(cfg)
        return cfg

    def generate(self, ctx: StepContext) -> dict:
        G = ctx.nets["G"]
        n = len(ctx.batch["real"])
        return {"fake": G(ctx.randn(n, G.seq_len, G.z_dim)), "y": None}

    def g_extra_loss(self, ctx: StepContext, o_fake: dict, f: dict):
        """TimeGAN's supervised loss in data space: MSE of G's one-step-ahead predictions of the
        real batch (teacher forcing), weighted by ``options.supervised``."""
        w = self.opts["supervised"]
        if w <= 0:
            return None, {}
        G, real = ctx.nets["G"], ctx.batch["real"]
        pred = G(ctx.randn(len(real), G.seq_len, G.z_dim), x_prev=real)
        mse = (pred.float() - real.float()).pow(2).mean()
        return w * mse, {"G/supervised_mse": mse.detach()}

    @torch.no_grad()
    def sample(self, G, n: int, seed: int, y=None, **kw) -> torch.Tensor:
        """n standardised sequences [n, T, F] from seeded noise."""
        g = torch.Generator().manual_seed(seed)
        dev = next(G.parameters()).device
        return G(torch.randn(n, G.seq_len, G.z_dim, generator=g).to(dev))
