"""Regularizers: the math as plain functions, and small objects with a weight and an interval.

Functions (each returns the *unweighted* penalty, a scalar tensor):

* :func:`gradient_penalty`  WGAN-GP (Gulrajani et al. 2017)
* :func:`r1_penalty`        R1 (Mescheder et al. 2018); on fakes it is R2 (R3GAN, Huang et al. 2024)
* :func:`consistency_penalty` + :func:`consistency_transform`  bCR (Zhao et al. 2020)
* :func:`orthogonal_penalty`  BigGAN's orthogonal regularization (Brock et al. 2019)
* :func:`feature_matching`    Salimans et al. 2016

Objects (registered in :data:`REGULARIZERS`, configured in ``loss.kwargs``)::

    loss: {name: wasserstein, kwargs: {gp: 10}}                   # a number is the weight
    loss: {name: hinge, kwargs: {r1: {weight: 10, interval: 16}}}  # or the object's fields

Each object says whose loss it joins (``player``: "D" or "G") and how often it runs
(``interval``). With ``interval == 1`` it is added to that player's loss every step; with
``interval > 1`` it is *lazy* (Karras et al. 2020, StyleGAN2 sec. 3.1 / appendix B): the
recipe runs it as its own phase (``D_reg`` / ``G_reg``) every ``interval`` steps, with the
loss multiplied by ``interval`` so its average strength is unchanged.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from .errors import UserError
from .nets.layers import fp32, to_fp32
from .registry import Registry, check_kwargs

REGULARIZERS = Registry("regularizer")

DFn = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]  # (x, y) -> logits [N / pack]


# ---------------------------------------------------------------------------- the math


def _sq_norms(grad: torch.Tensor, pack: int = 1) -> torch.Tensor:
    """Squared L2 norms of per-input gradients [N, ...] -> [N / pack].

    With PacGAN packing D's input is ``pack`` samples together, so the norm is taken over
    each packed group (the actual input of D), not over single samples.
    """
    return grad.float().reshape(len(grad) // pack, -1).pow(2).sum(1)


def gradient_penalty(D: DFn, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor | None = None,
                     alpha: torch.Tensor | None = None, center: float = 1.0, pack: int = 1,
                     rng: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017, eq. 3 and Alg. 1, lines 6-8).

    ``E[(||grad_x D(x_hat)||_2 - center)^2]`` at ``x_hat = alpha * real + (1 - alpha) * fake``,
    alpha ~ U[0, 1] per sample [N] (drawn from ``rng`` unless given). ``y`` (labels of a
    conditional D) is passed with the interpolates. Gradients are kept (``create_graph``) so
    the penalty trains D. For a linear D(x) = w.x the gradient is w everywhere: GP = (||w|| - 1)^2.
    D's forward and backward here run in fp32 even inside a bf16 / fp16 autocast region.
    """
    n = len(real)
    real, fake = to_fp32(real.detach()), to_fp32(fake.detach())
    if alpha is None:
        alpha = torch.rand(n, generator=rng).to(real.device)
    alpha = alpha.to(real.dtype).view(n, *[1] * (real.dim() - 1))  # [N, 1, ...]
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    with fp32(x_hat):  # fp32 under autocast too, as the authors' code
        out = D(x_hat, y)
        (grad,) = torch.autograd.grad(out.float().sum(), x_hat, create_graph=True)  # [N, ...]
    norms = (_sq_norms(grad, pack) + 1e-12).sqrt()  # [N / pack]; eps keeps sqrt' finite at 0
    return ((norms - center) ** 2).mean()


def r1_penalty(D: DFn, real: torch.Tensor, y: torch.Tensor | None = None, pack: int = 1,
               full: bool = False) -> torch.Tensor:
    """R1 (Mescheder et al. 2018, eq. 9) without its gamma/2: ``E_x ||grad_x D(x)||^2`` on reals.

    For a linear D(x) = w.x this is ||w||^2. ``full``: D's forward and double backward run in
    fp32 even inside a bf16 / fp16 autocast region.
    """
    x = (to_fp32(real.detach()) if full else real.detach()).requires_grad_(True)
    with fp32(x) if full else contextlib.nullcontext():
        return input_grad_penalty(D(x, y), x, pack)


def input_grad_penalty(out: torch.Tensor, x: torch.Tensor, pack: int = 1) -> torch.Tensor:
    """``E ||grad_x out||^2`` for D's scores ``out`` [N / pack] already computed from ``x`` (which
    requires grad): R1 / R2 without a second forward pass through D."""
    (grad,) = torch.autograd.grad(out.float().sum(), x, create_graph=True)  # [N, ...]
    return _sq_norms(grad, pack).mean()


def _zero_centred(inp: RegInputs, on_fakes: bool, full: bool = False) -> torch.Tensor:
    """R1 (reals) or R2 (fakes), reusing the phase's D scores when its inputs carry a graph
    (unless ``full``: then a D pass of its own in fp32, see :func:`r1_penalty`)."""
    x, y, scores = (inp.fake, inp.y_fake, inp.d_fake) if on_fakes else (inp.real, inp.y_real, inp.d_real)
    if scores is not None and x.requires_grad and not (full and scores.dtype != torch.float32):
        return input_grad_penalty(scores, x, inp.pack)
    return r1_penalty(inp.D, x, y, pack=inp.pack, full=full)


def consistency_penalty(d_x: torch.Tensor, d_tx: torch.Tensor) -> torch.Tensor:
    """``E ||D(x) - D(T(x))||^2`` (Zhang et al. 2020, CR-GAN; Zhao et al. 2020, bCR, Alg. 1).

    Gradients flow through both terms, as in the papers' algorithms.
    """
    diff = (d_x.float() - d_tx.float()).reshape(len(d_x), -1)  # [N, K]
    return diff.pow(2).sum(1).mean()


def consistency_transform(x: torch.Tensor, rng: torch.Generator | None = None, translate: float = 0.125,
                          flip: bool = True, noise: float = 0.05) -> torch.Tensor:
    """The semantics-preserving T of bCR (Zhao et al. 2020, sec. 4: flip + translation).

    Images [N, C, H, W]: a random horizontal flip per sample and a random shift by up to
    ``translate * H`` pixels (reflection padding). Points [N, D]: Gaussian jitter of std
    ``noise`` (a 2D analogue; the papers only treat images).
    """
    n = len(x)
    if x.dim() != 4:
        return x + noise * torch.randn(x.shape, generator=rng).to(x.device, x.dtype)
    _, _, h, w = x.shape
    if flip:
        do = (torch.rand(n, generator=rng) < 0.5).to(x.device)[:, None, None, None]
        x = torch.where(do, x.flip(3), x)
    s = min(round(translate * h), h - 1, w - 1)
    if s > 0:
        xp = F.pad(x, (s, s, s, s), mode="reflect")  # [N, C, H + 2s, W + 2s]
        dy = torch.randint(-s, s + 1, (n,), generator=rng).to(x.device)
        dx = torch.randint(-s, s + 1, (n,), generator=rng).to(x.device)
        rows = torch.arange(h, device=x.device)[None] + s + dy[:, None]  # [N, H]
        cols = torch.arange(w, device=x.device)[None] + s + dx[:, None]  # [N, W]
        idx_n = torch.arange(n, device=x.device)[:, None, None, None]
        idx_c = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
        x = xp[idx_n, idx_c, rows[:, None, :, None], cols[:, None, None, :]]  # [N, C, H, W]
    return x


def ortho_weights(module: nn.Module) -> Iterable[torch.Tensor]:
    """The weights BigGAN regularises: every parameter with >= 2 dims except embeddings."""
    skip = {id(p) for m in module.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    return [p for p in module.parameters() if p.dim() >= 2 and id(p) not in skip]


def orthogonal_penalty(weights: Iterable[torch.Tensor]) -> torch.Tensor:
    """BigGAN's orthogonal regularization (Brock et al. 2019, eq. 3) without its beta.

    ``sum_W ||W W^T ⊙ (1 - I)||_F^2`` with each W reshaped to [out, fan_in] (one row per
    filter): only the cosine-like similarity *between* filters is penalised, not their norms.
    E.g. W = [[1, 0], [1, 1]]: W W^T = [[1, 1], [1, 2]], penalty = 1^2 + 1^2 = 2.
    """
    total = None
    for w in weights:
        m = w.float().reshape(w.shape[0], -1)  # [out, fan_in]
        gram = m @ m.t()  # [out, out]
        off = gram * (1 - torch.eye(len(gram), device=gram.device))
        term = off.pow(2).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("orthogonal_penalty: no weight matrices given")
    return total


def feature_matching(f_real: torch.Tensor, f_fake: torch.Tensor) -> torch.Tensor:
    """Feature matching (Salimans et al. 2016, sec. 3.1): ``||E f(x) - E f(G(z))||_2^2``.

    f is an intermediate D layer, [N, ...] flattened per sample; the means are over the batch.
    """
    mr = f_real.float().reshape(len(f_real), -1).mean(0)  # [F]
    mf = f_fake.float().reshape(len(f_fake), -1).mean(0)  # [F]
    return (mr - mf).pow(2).sum()


# -------------------------------------------------------------------- the objects


@dataclass
class RegInputs:
    """What a phase hands its regularizers. ``D`` applies ``ctx.augment`` inside."""

    D: DFn
    real: torch.Tensor  # [N, ...]
    fake: torch.Tensor  # [N, ...]; detached in D phases, with the graph to G in G phases
    y_real: torch.Tensor | None = None
    y_fake: torch.Tensor | None = None
    d_real: torch.Tensor | None = None  # D(real) / D(fake) the phase already computed (reused)
    d_fake: torch.Tensor | None = None
    feat_real: torch.Tensor | None = None  # intermediate D features, when a reg needs them
    feat_fake: torch.Tensor | None = None
    G: nn.Module | None = None
    pack: int = 1
    rng: torch.Generator | None = None


class Regularizer:
    """Base of the registered regularizers: ``weight``, ``interval`` and :meth:`loss`."""

    key = ""  # config key in loss.kwargs; logs as reg/<key>
    player = "D"  # whose loss it joins: "D" or "G"
    needs_features = False  # needs RegInputs.feat_real / feat_fake

    def __post_init__(self):
        if not (isinstance(self.weight, (int, float)) and math.isfinite(self.weight) and self.weight >= 0):
            raise ValueError(f"weight must be a number >= 0, got {self.weight!r}")
        if not isinstance(self.interval, int) or self.interval < 1:
            raise ValueError(f"interval must be an integer >= 1, got {self.interval!r}")

    @property
    def lazy(self) -> bool:
        return self.interval > 1

    def penalty(self, inp: RegInputs) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, inp: RegInputs) -> tuple[torch.Tensor, dict]:
        """(weighted loss to add, logs). Lazy regularizers are scaled by their interval."""
        p = self.penalty(inp)
        return self.weight * self.interval * p, {f"reg/{self.key}": p.detach()}


@REGULARIZERS.register("gp")
@dataclass
class GradientPenalty(Regularizer):
    """WGAN-GP: ``weight * E(||grad D(x_hat)|| - center)^2`` (lambda = 10 in the paper)."""

    weight: float = 10.0
    interval: int = 1
    center: float = 1.0
    key = "gp"

    def penalty(self, inp):
        return gradient_penalty(inp.D, inp.real, inp.fake, inp.y_real, center=self.center, pack=inp.pack,
                                rng=inp.rng)


@REGULARIZERS.register("r1")
@dataclass
class R1(Regularizer):
    """R1: ``weight / 2 * E||grad D(x_real)||^2`` (weight is gamma; Mescheder et al. 2018 eq. 9).

    Lazy by default every 16 steps as in StyleGAN2 (its own ``D_reg`` phase, loss x 16).
    ``fp32`` (default on): the penalty's D pass and double backward in fp32 under a bf16 / fp16
    autocast. Measured on r3gan-digits (seed 0, one AVX512-BF16 machine, 2026-12-07): FID 4.98
    with the penalties in bf16, 4.57 with them in fp32 (4.58 all fp32), for 13 % more CPU than
    all-bf16. ``fp32: false`` runs them in the autocast's precision (as StyleGAN2-ADA's fp16
    layers do) and, every step, reuses the phase's scores instead of a D pass of its own.
    """

    weight: float = 10.0
    interval: int = 16
    fp32: bool = True
    key = "r1"

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.fp32, bool):
            raise ValueError(f"fp32 must be true or false, got {self.fp32!r}")

    def penalty(self, inp):
        return _zero_centred(inp, on_fakes=False, full=self.fp32)

    def loss(self, inp):
        p = self.penalty(inp)
        return 0.5 * self.weight * self.interval * p, {f"reg/{self.key}": p.detach()}


@REGULARIZERS.register("r2")
@dataclass
class R2(R1):
    """R2: ``weight / 2 * E||grad D(G(z))||^2``, the zero-centred gradient penalty on fakes
    (Mescheder et al. 2018, eq. 10). R3GAN (Huang et al. 2024, sec. 2.2) uses R1 + R2 with one
    gamma: R1 alone lets D's gradient grow on the fakes' side, which with the relativistic
    loss stops G from converging. Every step by default, as in R3GAN."""

    weight: float = 10.0
    interval: int = 1
    fp32: bool = True
    key = "r2"

    def penalty(self, inp):
        return _zero_centred(inp, on_fakes=True, full=self.fp32)


@REGULARIZERS.register("cr")
@dataclass
class Consistency(Regularizer):
    """Balanced consistency regularization, bCR (Zhao et al. 2020, Alg. 1):
    ``weight * E||D(x) - D(T x)||^2 + weight_fake * E||D(G z) - D(T G z)||^2`` (10 and 10 in
    the paper; ``weight_fake`` < 0 means "same as weight"). T: :func:`consistency_transform`."""

    weight: float = 10.0
    interval: int = 1
    weight_fake: float = -1.0
    translate: float = 0.125
    flip: bool = True
    noise: float = 0.05
    key = "cr"

    def _t(self, x, rng):
        return consistency_transform(x, rng, self.translate, self.flip, self.noise)

    def terms(self, inp: RegInputs) -> tuple[torch.Tensor, torch.Tensor]:
        d_real = inp.d_real if inp.d_real is not None else inp.D(inp.real, inp.y_real)
        d_fake = inp.d_fake if inp.d_fake is not None else inp.D(inp.fake, inp.y_fake)
        cr_real = consistency_penalty(d_real, inp.D(self._t(inp.real, inp.rng), inp.y_real))
        cr_fake = consistency_penalty(d_fake, inp.D(self._t(inp.fake, inp.rng), inp.y_fake))
        return cr_real, cr_fake

    def penalty(self, inp):
        return sum(self.terms(inp))

    def loss(self, inp):
        cr_real, cr_fake = self.terms(inp)
        wf = self.weight if self.weight_fake < 0 else self.weight_fake
        total = self.interval * (self.weight * cr_real + wf * cr_fake)
        return total, {"reg/cr_real": cr_real.detach(), "reg/cr_fake": cr_fake.detach()}


@REGULARIZERS.register("ortho")
@dataclass
class Orthogonal(Regularizer):
    """BigGAN orthogonal regularization of G's weights (beta = 1e-4 in Brock et al. 2019)."""

    weight: float = 1e-4
    interval: int = 1
    key = "ortho"
    player = "G"

    def penalty(self, inp):
        if inp.G is None:
            raise ValueError("orthogonal regularization needs G")
        return orthogonal_penalty(ortho_weights(inp.G))


@REGULARIZERS.register("fm")
@dataclass
class FeatureMatching(Regularizer):
    """Feature matching added to G's loss: ``weight * ||E f(x) - E f(G z)||^2`` (Salimans et al.
    2016), f = D's last hidden features."""

    weight: float = 1.0
    interval: int = 1
    key = "fm"
    player = "G"
    needs_features = True

    def penalty(self, inp):
        return feature_matching(inp.feat_real.detach(), inp.feat_fake)


def build_regularizers(spec: dict, where: str = "loss.kwargs") -> list[Regularizer]:
    """Regularizer objects from ``{key: weight}`` or ``{key: {field: value, ...}}``.

    Unknown keys or fields and bad values raise :class:`UserError` naming ``where``.
    Regularizers with weight 0 are left out.
    """
    regs = []
    for key, value in (spec or {}).items():
        try:
            cls = REGULARIZERS.get(str(key))
        except UserError as e:
            raise UserError(f"{where}: {e}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float, dict)):
            raise UserError(f"{where}.{key}: expected a weight or a mapping of "
                            f"{', '.join(f.name for f in fields(cls))}, got {value!r}")
        kwargs = dict(value) if isinstance(value, dict) else {"weight": float(value)}
        check_kwargs(cls, kwargs, f"{where}.{key}")
        try:
            reg = cls(**kwargs)
        except (TypeError, ValueError) as e:
            raise UserError(f"{where}.{key}: {e}") from None
        if reg.weight > 0:
            regs.append(reg)
    return regs
