"""Adversarial losses as plain functions ``(d_real, d_fake) -> (loss_d, loss_g)``.

``d_real`` / ``d_fake`` are raw discriminator outputs (logits, or critic values) of shape [N].
Either may be None: then the half of the loss that needs it is returned as None, so the D
phase can call ``loss(d_real, d_fake.detach())`` and the G phase ``loss(None, d_fake)``
without computing D on reals twice. Losses whose G half needs ``d_real`` (relativistic) set
``fn.g_needs_real = True``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .registry import LOSSES


def _mean(x):
    return None if x is None else x.float().mean()


@LOSSES.register("minimax")
def minimax(d_real, d_fake):
    """Goodfellow et al. 2014, eq. 1: D maximises log D(x) + log(1 - D(G(z))); G minimises
    log(1 - D(G(z))). With D = sigmoid(logit): -log D = softplus(-l), -log(1-D) = softplus(l).
    G's gradient vanishes when D confidently rejects fakes (the saturation problem)."""
    loss_d = None if d_real is None else _mean(F.softplus(-d_real.float())) + _mean(F.softplus(d_fake.float()))
    loss_g = -_mean(F.softplus(d_fake.float()))  # = E log(1 - D(G(z)))
    return loss_d, loss_g


@LOSSES.register("nonsaturating")
def nonsaturating(d_real, d_fake):
    """Goodfellow et al. 2014, sec. 3: same D loss, but G maximises log D(G(z)) instead,
    which gives strong gradients early in training."""
    loss_d = None if d_real is None else _mean(F.softplus(-d_real.float())) + _mean(F.softplus(d_fake.float()))
    loss_g = _mean(F.softplus(-d_fake.float()))
    return loss_d, loss_g


@LOSSES.register("hinge")
def hinge(d_real, d_fake):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018): D: relu(1 - D(x)) + relu(1 + D(G(z)));
    G: -D(G(z))."""
    loss_d = None if d_real is None else _mean(F.relu(1 - d_real.float())) + _mean(F.relu(1 + d_fake.float()))
    return loss_d, -_mean(d_fake)


@LOSSES.register("wasserstein")
def wasserstein(d_real, d_fake):
    """Wasserstein critic loss (Arjovsky et al. 2017): D maximises D(x) - D(G(z))."""
    loss_d = None if d_real is None else _mean(d_fake) - _mean(d_real)
    return loss_d, -_mean(d_fake)


@LOSSES.register("lsgan")
def lsgan(d_real, d_fake):
    """Least squares GAN (Mao et al. 2017, a=0, b=c=1): D: (D(x)-1)^2 + D(G(z))^2; G: (D(G(z))-1)^2, halved."""
    loss_d = None if d_real is None else 0.5 * (_mean((d_real.float() - 1) ** 2) + _mean(d_fake.float() ** 2))
    return loss_d, 0.5 * _mean((d_fake.float() - 1) ** 2)


def relativistic_average(d_real, d_fake):
    """Relativistic average GAN (Jolicoeur-Martineau 2018, RaSGAN): each side is judged
    relative to the mean of the other. Both halves need
    ``d_real`` (``g_needs_real``)."""
    if d_real is None:
        raise ValueError("relativistic loss: both halves need d_real (the loss sets g_needs_real)")
    r, f = d_real.float(), d_fake.float()
    loss_d = _mean(F.softplus(-(r - f.mean()))) + _mean(F.softplus(f - r.mean()))
    loss_g = _mean(F.softplus(r - f.mean())) + _mean(F.softplus(-(f - r.mean())))
    return loss_d, loss_g


relativistic_average.g_needs_real = True
LOSSES.register("relativistic", relativistic_average)


def rpgan(d_real, d_fake):
    """Relativistic pairing GAN, RpGAN (Jolicoeur-Martineau 2018; the loss of R3GAN, Huang et
    al. 2024, eq. 2): each real is paired with one fake (row i with row i) and judged against it.
    D: softplus(-(D(x_i) - D(G(z_i)))); G: softplus(-(D(G(z_i)) - D(x_i))). Unlike the
    average form, the pairing keeps D from separating all reals from all fakes by a single
    margin, which is what R3GAN credits with its mode coverage. Both halves need ``d_real``
    (``g_needs_real``); with zero-centred R1 + R2 it is locally convergent (R3GAN, sec. 2)."""
    if d_real is None:
        raise ValueError("rpgan loss: both halves need d_real (the loss sets g_needs_real)")
    r, f = d_real.float(), d_fake.float()
    if r.shape != f.shape:
        raise ValueError(f"rpgan pairs reals with fakes: D gave {tuple(r.shape)} and {tuple(f.shape)} scores")
    return _mean(F.softplus(f - r)), _mean(F.softplus(r - f))


rpgan.g_needs_real = True
LOSSES.register("rpgan", rpgan)


def g_needs_real(loss_fn) -> bool:
    return bool(getattr(loss_fn, "g_needs_real", False))


def d_accuracy(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Fraction of reals scored > 0 and fakes < 0 (a logit-sign accuracy, for logs)."""
    return 0.5 * ((d_real > 0).float().mean() + (d_fake < 0).float().mean())


def categorical_code_loss(logits: torch.Tensor, cats: torch.Tensor, sizes: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of categorical codes from their logits, one block per code.

    ``logits`` [N, sum(sizes)] (block i holds code i's ``sizes[i]`` logits), ``cats`` [N, len(sizes)]
    the true codes. Returns the CE summed over the codes and the accuracy averaged over them
    (InfoGAN's L_I for categorical codes; MGAN's classifier term for a mixture G's components).
    """
    ce, acc, off = 0.0, 0.0, 0
    for i, k in enumerate(sizes):
        block = logits[:, off:off + k].float()
        ce = ce + F.cross_entropy(block, cats[:, i])
        acc = acc + (block.detach().argmax(1) == cats[:, i]).float().mean()
        off += k
    return ce, acc / len(sizes)
