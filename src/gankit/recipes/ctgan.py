"""CTGAN (Xu et al. 2019): a conditional WGAN-GP for table rows, on the ``"tabular"`` data kind.

What makes tables hard for a GAN, and CTGAN's answer to each (section numbers of the paper):

* multi-modal, non-Gaussian continuous columns -> *mode-specific normalisation* (4.2): each
  value is ``[alpha, one_hot(mode)]`` under a per-column Gaussian mixture (done by the data,
  :mod:`gankit.data.tabular`); G's scalar outputs go through tanh, its one-hot groups through
  Gumbel-softmax with tau = 0.2 (``options.tau``; Jang et al. 2017) so D sees near one-hot
  vectors it cannot tell apart from real ones by their softness alone;
* imbalanced discrete columns -> the *conditional vector* and *training-by-sampling* (4.3):
  each batch row is conditioned on one category of one discrete column, drawn with log-frequency
  weights, and the real row shown beside it has that category (the data's batches do this,
  :class:`~gankit.data.tabular.TabularData`); G is told the condition and pays a cross-entropy
  when its output for that column disagrees (``options.cond_weight``);
* mode collapse -> PacGAN (Lin et al. 2018): D scores packs of ``D.kwargs.pack`` rows (the
  batch must be a multiple), with WGAN-GP (``loss: wasserstein``, ``gp: 10``).

Samples are conditioned on categories drawn with their *real* frequencies (4.3, "at test
time"), so the generated marginals follow the data. ``gankit sample`` writes ``samples.csv``.
"""
from __future__ import annotations

import dataclasses
import inspect

import torch
import torch.nn.functional as F

from ..data import tabular as _tabular  # noqa: F401  (registers the tables, writer and preview)
from ..errors import UserError
from ..registry import NETS, RECIPES
from .adversarial import AdversarialRecipe
from .base import StepContext, fill_kwargs


def activate(raw: torch.Tensor, spans: list, u: torch.Tensor, tau: float, hard: bool = False) -> torch.Tensor:
    """G's pre-activations -> an encoded row: tanh on scalars, Gumbel-softmax (noise from the
    uniforms ``u``, same shape as ``raw``) on one-hot groups; ``hard``: exact one-hots (sampling)."""
    out, off = [], 0
    g = -torch.log(-torch.log(u.clamp(1e-10, 1 - 1e-7)))
    for size, act in spans:
        x = raw[:, off: off + size]
        if act == "tanh":
            out.append(torch.tanh(x))
        else:
            y = torch.softmax((x.float() + g[:, off: off + size]) / tau, -1)
            out.append(F.one_hot(y.argmax(-1), size).to(y) if hard else y)
        off += size
    return torch.cat(out, 1)


@RECIPES.register("ctgan")
class CTGAN(AdversarialRecipe):
    """Xu et al. 2019: conditional generator, training-by-sampling, PacGAN WGAN-GP critic."""

    name = "ctgan"
    description = "Xu et al. 2019: tables by mode-specific normalisation, conditional vector, training-by-sampling"
    kinds = ("tabular",)
    data_hint = "e.g. wine, or a .csv file"
    options = {"tau": 0.2, "cond_weight": 1.0}

    @classmethod
    def resolve(cls, cfg, meta):
        width = int(meta["shape"][0])
        cond = sum(size for _, size in meta["info"]["cond_spans"])
        for role, net, key in (("G", cfg.G, "out_dim"), ("D", cfg.D, "in_dim")):
            params = inspect.signature(NETS.get(net.name)).parameters if net.name else {}
            if key not in params or "cond_dim" not in params:
                raise UserError(f"{role}.name={net.name!r} is not a table network; use ctgan_g / ctgan_d")
            fill_kwargs(net, {key: width, "cond_dim": cond})
        pack = cfg.D.kwargs.get("pack", inspect.signature(NETS.get(cfg.D.name)).parameters["pack"].default)
        if pack < 1 or cfg.data.batch_size % pack:
            raise UserError(f"data.batch_size={cfg.data.batch_size} must be a multiple of D.kwargs.pack={pack} "
                            f"(PacGAN scores packs of rows)")
        cls.read_options(cfg)
        return cfg

    def generate(self, ctx: StepContext) -> dict:
        G, cond = ctx.nets["G"], ctx.batch["cond"]
        n = len(cond)
        raw = G(ctx.randn(n, G.z_dim), cond)
        u = torch.rand(raw.shape, generator=ctx.rng).to(ctx.device)
        return {"fake": activate(raw, self.meta["info"]["spans"], u, self.opts["tau"]), "y": cond, "raw": raw}

    def discriminate(self, ctx: StepContext, x, y, features: bool = False) -> dict:
        # real rows and fakes share the batch's conditional vectors (training-by-sampling)
        return {"logit": ctx.nets["D"](x, ctx.batch["cond"])}

    def reg_inputs(self, ctx, *args, **kw):
        inp = super().reg_inputs(ctx, *args, **kw)
        D, cond = ctx.nets["D"], ctx.batch["cond"]
        return dataclasses.replace(inp, D=lambda x, y: D(x, cond))

    def g_extra_loss(self, ctx: StepContext, o_fake: dict, f: dict):
        """The conditional loss: cross-entropy of G's output for the conditioned column against
        the condition (Xu et al. 2019, sec. 4.3), averaged over the batch."""
        cond, raw = f["y"], f["raw"]
        if cond.shape[1] == 0 or self.opts["cond_weight"] == 0:
            return None, {}
        loss, c_off = raw.new_zeros(()), 0
        for off, size in self.meta["info"]["cond_spans"]:
            seg = cond[:, c_off: c_off + size]
            rows = seg.sum(1) > 0
            if rows.any():
                loss = loss + F.cross_entropy(raw[rows, off: off + size].float(), seg[rows].argmax(1),
                                              reduction="sum")
            c_off += size
        loss = loss / len(cond)
        return self.opts["cond_weight"] * loss, {"G/cond_ce": loss.detach()}

    def sample_cond(self, n: int, g: torch.Generator) -> torch.Tensor:
        """Conditional vectors for sampling: a discrete column uniformly, one of its categories
        with its real frequency (one-hot in that column's group)."""
        spec = [s for s in self.meta["info"]["transform"] if s["type"] == "discrete"]
        sizes = [len(s["categories"]) for s in spec]
        cond = torch.zeros(n, sum(sizes))
        if not spec:
            return cond
        col = torch.randint(len(spec), (n,), generator=g)
        offs = [sum(sizes[:j]) for j in range(len(sizes))]
        for j, s in enumerate(spec):
            rows = (col == j).nonzero()[:, 0]
            if len(rows):
                cat = torch.multinomial(torch.tensor(s["freq"], dtype=torch.double), len(rows), True, generator=g)
                cond[rows, offs[j] + cat] = 1.0
        return cond

    @torch.no_grad()
    def sample(self, G, n: int, seed: int, y=None, **kw) -> torch.Tensor:
        """n encoded rows [n, D_enc] (exact one-hots; decode with ``gankit.data.tabular.decode``)."""
        g = torch.Generator().manual_seed(seed)
        dev = next(G.parameters()).device
        z = torch.randn(n, G.z_dim, generator=g)
        cond = self.sample_cond(n, g)
        raw = G(z.to(dev), cond.to(dev))
        u = torch.rand(raw.shape, generator=g).to(dev)
        return activate(raw, self.meta["info"]["spans"], u, self.opts["tau"], hard=True)
