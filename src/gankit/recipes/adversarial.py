"""The plain adversarial game of one G and one D, which gan, dcgan and cgan specialise.

D phase (k times per step): ``loss_d`` of the configured loss on D(real) and D(fake.detach()).
G phase: ``loss_g`` on D(fake), reusing the step's fake batch.
"""
from __future__ import annotations

import torch

from ..config import Config
from ..errors import UserError
from ..losses import d_accuracy, g_needs_real
from .base import Phase, Recipe, StepContext, fill_kwargs


class AdversarialRecipe(Recipe):
    conditional = False  # feed class labels to G and D (cGAN)

    @classmethod
    def resolve(cls, cfg: Config, meta: dict) -> Config:
        shape = list(meta["shape"])
        ncls = meta.get("num_classes", 0)
        if cls.conditional and ncls < 2:
            raise UserError(f"recipe {cfg.recipe!r} needs labelled data; {cfg.data.name!r} has no classes")
        common = {"num_classes": ncls if cls.conditional else 0}
        if meta["kind"] == "images":
            common.update(resolution=shape[-1], channels=shape[0])
        fill_kwargs(cfg.G, {**common, "out_shape": shape, "tanh": meta["kind"] == "images"})
        fill_kwargs(cfg.D, {**common, "in_shape": shape})
        return cfg

    def build_nets(self):
        return {"G": self.build(self.cfg.G), "D": self.build(self.cfg.D)}

    def phases(self) -> list[Phase]:
        return [
            Phase("D", "D", self.d_step, repeats=self.cfg.loop.d_steps),
            Phase("G", "G", self.g_step),
        ]

    # --- the game ----------------------------------------------------------
    def labels(self, ctx: StepContext, n: int):
        """Class labels for a fake batch: uniform over classes (None when unconditional)."""
        return ctx.randint(self.meta["num_classes"], n) if self.conditional else None

    def generate(self, ctx: StepContext) -> dict:
        G = ctx.nets["G"]
        n = len(ctx.batch["real"])
        y = self.labels(ctx, n)
        return {"fake": G(ctx.randn(n, G.z_dim), y), "y": y}

    def d_step(self, ctx: StepContext) -> dict:
        D = ctx.nets["D"]
        real, y_real = ctx.batch["real"], ctx.batch.get("y") if self.conditional else None
        f = ctx.fake()
        d_real = D(ctx.augment(real), y_real)
        d_fake = D(ctx.augment(f["fake"].detach()), f["y"])
        ctx.stats["real_sign"] = d_real.detach().float().sign().mean()  # for ADA
        loss_d, _ = self.loss_fn(d_real, d_fake)
        return {
            "loss": loss_d,
            "D/real_score": d_real.detach().float().mean(),
            "D/fake_score": d_fake.detach().float().mean(),
            "D/accuracy": d_accuracy(d_real.detach(), d_fake.detach()),
        }

    def g_step(self, ctx: StepContext) -> dict:
        D = ctx.nets["D"]
        f = ctx.fresh_fake_with_graph()
        d_fake = D(ctx.augment(f["fake"]), f["y"])
        d_real = None
        if g_needs_real(self.loss_fn):
            with torch.no_grad():
                d_real = D(ctx.augment(ctx.batch["real"]), ctx.batch.get("y") if self.conditional else None)
        _, loss_g = self.loss_fn(d_real, d_fake)
        return {"loss": loss_g}

    @torch.no_grad()
    def sample(self, G, n: int, seed: int, y: torch.Tensor | None = None, **kw) -> torch.Tensor:
        """n outputs from fixed noise (seeded); for conditional G, labels cycle 0..K-1 unless given."""
        g = torch.Generator().manual_seed(seed)
        dev = next(G.parameters()).device
        z = torch.randn(n, G.z_dim, generator=g).to(dev)
        trunc = kw.get("truncation")
        if trunc is not None and trunc < 1.0:
            z = truncated_noise(n, G.z_dim, trunc, g).to(dev)
        if getattr(G, "num_classes", 0):
            if y is None:
                y = torch.arange(n) % G.num_classes
            y = y.to(dev)
        else:
            y = None
        return G(z, y)


def truncated_noise(n: int, dim: int, threshold: float, g: torch.Generator) -> torch.Tensor:
    """The truncation trick (Brock et al. 2019): resample |z| > threshold."""
    z = torch.randn(n, dim, generator=g)
    for _ in range(100):
        bad = z.abs() > threshold
        if not bad.any():
            break
        z[bad] = torch.randn(int(bad.sum()), generator=g)
    return z.clamp_(-threshold, threshold)
