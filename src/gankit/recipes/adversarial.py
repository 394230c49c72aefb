"""The plain adversarial game of one G and one D, which most recipes specialise.

D phase (k times per step): ``loss_d`` of the configured loss on D(real) and D(fake.detach()),
plus the D-side regularizers of ``loss.kwargs`` (:mod:`gankit.regularizers`) and the
recipe's :meth:`AdversarialRecipe.d_extra_loss` (e.g. ACGAN's class loss).
G phase: ``loss_g`` on D(fake) (on its top ``schedule.topk`` fraction: :func:`top_k_fakes`),
reusing the step's fake batch, plus the G-side regularizers and :meth:`AdversarialRecipe.g_extra_loss`.
Lazy regularizers (``interval > 1``) run as their own ``D_reg`` / ``G_reg`` phases.

Every image D sees, real or fake, goes through ``ctx.augment`` (DiffAugment / ADA).
"""
from __future__ import annotations

import inspect
import math
from functools import partial

import torch
from torch import nn

from ..checkpoint import unwrap
from ..config import Config
from ..errors import UserError
from ..losses import d_accuracy, g_needs_real
from ..modality import modality
from ..registry import NETS
from ..regularizers import RegInputs, Regularizer, build_regularizers
from .base import Phase, Recipe, StepContext, fill_kwargs


class AdversarialRecipe(Recipe):
    """One G against one D. Subclasses set class attributes and override hooks:

    * ``conditional`` / ``d_conditional``: labels into G / into D's input;
    * ``d_heads``: D returns a dict of heads (``D(x, y, heads=True)``), passed to the hooks;
    * ``d_extra_loss`` / ``g_extra_loss``: losses added to the D / G phase (ACGAN, InfoGAN);
    * ``d_after_step``: a weight constraint after each D step (WGAN clipping);
    * ``options``: ``cfg.options`` keys and defaults (read as ``self.opts``);
    * ``generate`` / ``sample``: how noise (and codes) become a fake batch.

    Regularizers come from ``cfg.loss.kwargs`` (:func:`gankit.regularizers.build_regularizers`).
    """

    conditional = False  # feed class labels to G and D (cGAN); needs labelled data
    d_conditional: bool | None = None  # labels into D's input; None: same as ``conditional``
    d_heads = False  # call D(x, y, heads=True) for its extra heads (ACGAN, InfoGAN)
    d_after_step = None  # method(ctx) run after each D optimizer step (WGAN weight clipping)
    d_input_grads = False  # D phase inputs require grad, so R1/R2 reuse its D scores (one pass)
    options: dict = {}  # recipe options (``cfg.options``) and their defaults

    def __init__(self, cfg: Config, meta: dict):
        super().__init__(cfg, meta)
        self.opts = self.read_options(cfg)
        self.regs: list[Regularizer] = build_regularizers(cfg.loss.kwargs)

    @classmethod
    def uses_d_labels(cls) -> bool:
        return cls.conditional if cls.d_conditional is None else cls.d_conditional

    @classmethod
    def resolve(cls, cfg: Config, meta: dict) -> Config:
        shape = list(meta["shape"])
        ncls = meta.get("num_classes", 0)
        if cls.conditional and ncls < 2:
            raise UserError(f"recipe {cfg.recipe!r} needs labelled data; {cfg.data.name!r} has no classes")
        data_kind = modality(meta)
        if data_kind.points:
            for role, net in (("G", cfg.G), ("D", cfg.D)):
                params = inspect.signature(NETS.get(net.name)).parameters
                if "resolution" in params and not {"out_shape", "in_shape"} & set(params):
                    raise UserError(f"{role}.name={net.name!r} is an image network but data {cfg.data.name!r} "
                                    f"is {meta['shape'][0]}D points; use a points net such as mlp_{role.lower()}")
        common = {}
        if data_kind.images:
            common.update(resolution=shape[-1], channels=shape[0])
        fill_kwargs(cfg.G, {**common, "num_classes": ncls if cls.conditional else 0, "out_shape": shape,
                            "tanh": data_kind.images})
        fill_kwargs(cfg.D, {**common, "num_classes": ncls if cls.uses_d_labels() else 0, "in_shape": shape})
        cls.read_options(cfg)  # fail early on bad options
        build_regularizers(cfg.loss.kwargs)  # ... and bad regularizers
        return cfg

    def build_nets(self):
        return {"G": self.build(self.cfg.G), "D": self.build(self.cfg.D)}

    def phases(self) -> list[Phase]:
        return [
            Phase("D", "D", self.d_step, repeats=self.cfg.loop.d_steps, after_step=self.d_after_step),
            *self._lazy_phases("D"),
            Phase("G", "G", self.g_step),
            *self._lazy_phases("G"),
        ]

    def _lazy_phases(self, player: str) -> list[Phase]:
        """Lazy regularization (StyleGAN2): one phase per regularizer with interval > 1."""
        lazy = [r for r in self.regs if r.player == player and r.lazy]
        return [Phase(f"{player}_reg" if len(lazy) == 1 else f"{player}_reg_{r.key}", player,
                      partial(self.reg_step, r), interval=r.interval) for r in lazy]

    # --- hooks for subclasses ----------------------------------------------
    def d_extra_loss(self, ctx: StepContext, o_real: dict, o_fake: dict, f: dict):
        """Extra D-phase loss from D's outputs on real and (detached) fake: (loss or None, logs)."""
        return None, {}

    def g_extra_loss(self, ctx: StepContext, o_fake: dict, f: dict):
        """Extra G-phase loss from D's outputs on the fake batch (with the graph to G)."""
        return None, {}

    # --- the game ----------------------------------------------------------
    def labels(self, ctx: StepContext, n: int):
        """Class labels for a fake batch: uniform over classes (None when unconditional)."""
        return ctx.randint(self.meta["num_classes"], n) if self.conditional else None

    def d_labels(self, y):
        """The labels D's input gets (None when D is unconditional)."""
        return y if self.uses_d_labels() else None

    def generate(self, ctx: StepContext) -> dict:
        G = ctx.nets["G"]
        n = len(ctx.batch["real"])
        y = self.labels(ctx, n)
        return {"fake": G(ctx.randn(n, G.z_dim), y), "y": y}

    def discriminate(self, ctx: StepContext, x: torch.Tensor, y, features: bool = False) -> dict:
        """D on ``ctx.augment(x)``: ``{"logit": [N / pack], ...}`` with D's heads (``d_heads``)
        and, when asked, ``"features"`` (D's last hidden layer, for feature matching)."""
        D = ctx.nets["D"]
        x = ctx.augment(x)
        if self.d_heads or (features and _has_heads(D)):
            return D(x, y, heads=True)
        if features:
            return _with_hooked_features(D, x, y)
        return {"logit": D(x, y)}

    def reg_inputs(self, ctx: StepContext, real, y_real, fake, y_fake, o_real=None, o_fake=None) -> RegInputs:
        D = ctx.nets["D"]
        o_real, o_fake = o_real or {}, o_fake or {}
        return RegInputs(
            D=lambda x, y: D(ctx.augment(x), y), real=real, fake=fake, y_real=y_real, y_fake=y_fake,
            d_real=o_real.get("logit"), d_fake=o_fake.get("logit"), feat_real=o_real.get("features"),
            feat_fake=o_fake.get("features"), G=ctx.nets["G"], pack=getattr(unwrap(D), "pack", 1), rng=ctx.rng)

    def d_step(self, ctx: StepContext) -> dict:
        real, y_real = ctx.batch["real"], self.d_labels(ctx.batch.get("y"))
        f = ctx.fake()
        fake, y_fake = f["fake"].detach(), self.d_labels(f["y"])
        if self.d_input_grads:
            real, fake = real.detach().requires_grad_(True), fake.requires_grad_(True)
        o_real = self.discriminate(ctx, real, y_real)
        o_fake = self.discriminate(ctx, fake, y_fake)
        d_real, d_fake = o_real["logit"], o_fake["logit"]
        ctx.report_real_logits(d_real)  # for ADA
        loss_d, _ = self.loss_fn(d_real, d_fake)
        logs = {
            "D/real_score": d_real.detach().float().mean(),
            "D/fake_score": d_fake.detach().float().mean(),
            "D/accuracy": d_accuracy(d_real.detach(), d_fake.detach()),
        }
        extra, extra_logs = self.d_extra_loss(ctx, o_real, o_fake, f)
        if extra is not None:
            loss_d = loss_d + extra
        logs.update(extra_logs)
        regs = [r for r in self.regs if r.player == "D" and not r.lazy]
        if regs:
            inp = self.reg_inputs(ctx, real, y_real, fake, y_fake, o_real, o_fake)
            for r in regs:
                term, reg_logs = r.loss(inp)
                loss_d = loss_d + ctx.reg_scale * term
                logs.update(reg_logs)
        return {"loss": loss_d, **logs}

    def g_step(self, ctx: StepContext) -> dict:
        f = ctx.fresh_fake_with_graph()
        regs = [r for r in self.regs if r.player == "G" and not r.lazy]
        feats = any(r.needs_features for r in regs)
        y_fake = self.d_labels(f["y"])
        o_fake = self.discriminate(ctx, f["fake"], y_fake, features=feats)
        o_real = None
        if g_needs_real(self.loss_fn) or feats:
            with torch.no_grad():
                o_real = self.discriminate(ctx, ctx.batch["real"], self.d_labels(ctx.batch.get("y")),
                                           features=feats)
        d_real = o_real["logit"] if g_needs_real(self.loss_fn) else None
        _, loss_g = self.loss_fn(*top_k_fakes(d_real, o_fake["logit"], ctx.g_topk))
        extra, logs = self.g_extra_loss(ctx, o_fake, f)
        if extra is not None:
            loss_g = loss_g + extra
        if regs:
            inp = self.reg_inputs(ctx, ctx.batch["real"], self.d_labels(ctx.batch.get("y")), f["fake"], y_fake,
                                  o_real, o_fake)
            for r in regs:
                term, reg_logs = r.loss(inp)
                loss_g = loss_g + ctx.reg_scale * term
                logs.update(reg_logs)
        return {"loss": loss_g, **logs}

    def reg_step(self, reg: Regularizer, ctx: StepContext) -> dict:
        """A lazy regularization phase (D_reg / G_reg): the regularizer's loss alone."""
        real, y_real = ctx.batch["real"], self.d_labels(ctx.batch.get("y"))
        if reg.player == "D":
            f = ctx.fake()
            fake = f["fake"].detach()
        else:
            f = ctx.fresh_fake_with_graph()
            fake = f["fake"]
        o_real = o_fake = None
        if reg.needs_features:
            with torch.no_grad():
                o_real = self.discriminate(ctx, real, y_real, features=True)
            o_fake = self.discriminate(ctx, fake, self.d_labels(f["y"]), features=True)
        loss, logs = reg.loss(self.reg_inputs(ctx, real, y_real, fake, self.d_labels(f["y"]), o_real, o_fake))
        return {"loss": ctx.reg_scale * loss, **logs}

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


def top_k_fakes(d_real: torch.Tensor | None, d_fake: torch.Tensor, frac: float):
    """Top-k training (Sinha et al. 2020, "Top-k Training of GANs: Improving GAN Performance
    by Throwing Away Bad Samples"): G's loss sees only the ``ceil(frac * n)`` fakes D scores
    most realistic (the mean over any patch / head dims of the logit), so the samples D
    rejects outright, whose gradients point at the wrong modes, stop pulling G. Paired reals
    (RpGAN) keep their partners. ``frac >= 1`` returns the scores unchanged."""
    n = d_fake.shape[0]
    k = max(1, math.ceil(frac * n))
    if k >= n:
        return d_real, d_fake
    idx = d_fake.detach().float().reshape(n, -1).mean(1).topk(k).indices
    paired = d_real is not None and d_real.shape[0] == n
    return (d_real[idx] if paired else d_real), d_fake[idx]


def truncated_noise(n: int, dim: int, threshold: float, g: torch.Generator) -> torch.Tensor:
    """The truncation trick (Brock et al. 2019): resample |z| > threshold."""
    z = torch.randn(n, dim, generator=g)
    for _ in range(100):
        bad = z.abs() > threshold
        if not bad.any():
            break
        z[bad] = torch.randn(int(bad.sum()), generator=g)
    return z.clamp_(-threshold, threshold)


def set_net_kwargs(net_cfg, values: dict, recipe: str, role: str) -> None:
    """Set kwargs a recipe derives (e.g. a head's size) on a net config.

    UserError if the net's builder does not take one (the user picked a net without the needed
    head) or the user set a different value.
    """
    params = inspect.signature(NETS.get(net_cfg.name)).parameters
    for k, v in values.items():
        if k not in params:
            raise UserError(f"recipe {recipe!r} needs a {role} net with {k!r} (e.g. resnet_{role[0].lower()}); "
                            f"{role}.name={net_cfg.name!r} has none")
        if k in net_cfg.kwargs and net_cfg.kwargs[k] != v:
            raise UserError(f"{role}.kwargs.{k}={net_cfg.kwargs[k]!r} conflicts with recipe {recipe!r}, "
                            f"which sets it to {v!r}")
        net_cfg.kwargs[k] = v


def _has_heads(D: nn.Module) -> bool:
    return "heads" in inspect.signature(unwrap(D).forward).parameters


def _last_layer(D: nn.Module) -> nn.Module:
    """D's output layer: the last registered leaf module with parameters."""
    leaves = [m for m in unwrap(D).modules() if not list(m.children()) and list(m.parameters(recurse=False))]
    if not leaves:
        raise UserError(f"cannot find the output layer of D ({type(unwrap(D)).__name__}) for features")
    return leaves[-1]


def _with_hooked_features(D: nn.Module, x: torch.Tensor, y) -> dict:
    """D's logits and the input of its output layer (its last hidden features), in one pass."""
    got = {}
    handle = _last_layer(D).register_forward_pre_hook(lambda m, args: got.__setitem__("f", args[0]))
    try:
        logit = D(x, y)
    finally:
        handle.remove()
    return {"logit": logit, "features": got["f"]}
