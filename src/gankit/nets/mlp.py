"""Multilayer perceptrons: the G and D of Goodfellow et al. (2014), for points or flat images."""
from __future__ import annotations

import math

import torch
from torch import nn

from ..registry import NETS
from .layers import mixture_groups, mixture_onehot


class Maxout(nn.Module):
    """Maxout units (Goodfellow et al. 2013): [N, units * pieces] -> [N, units], the max over each
    unit's ``pieces`` consecutive inputs."""

    def __init__(self, pieces: int):
        super().__init__()
        self.pieces = int(pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(len(x), -1, self.pieces).amax(-1)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


def _mlp(dims: list[int], act: nn.Module, norm: bool = False, dropout: float = 0.0,
         maxout: int = 0) -> list[nn.Module]:
    """Linear (+ batch norm) + activation (+ dropout) per layer; ``maxout = k > 1`` makes each
    layer ``Linear(a, b * k)`` + :class:`Maxout` (k pieces per unit) instead of ``act``."""
    layers: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        width = b * maxout if maxout > 1 else b  # maxout: k pieces per unit, normed before the max
        layers.append(nn.Linear(a, width))
        if norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(Maxout(maxout) if maxout > 1 else act)
        if dropout:
            layers.append(nn.Dropout(dropout))
    return layers


@NETS.register("mlp_g")
class MLPGenerator(nn.Module):
    """z [N, z_dim] (+ class y) -> x [N, *out_shape].

    ``out_shape`` is (D,) for points or (C, H, W) for images (then a tanh keeps pixels in
    [-1, 1]). With ``num_classes > 0`` the one-hot label is concatenated to z (Mirza &
    Osindero 2014). ``out_scale`` multiplies the output: G starts spread over the data's
    range (e.g. 4 for grid25's [-4, 4] square) rather than within about one unit of the origin,
    the G-side twin of the D's ``in_scale``.

    ``mixture = K > 0`` makes G a mixture of K generators that share every layer but the first
    (MGAN, Hoang et al. 2018, without its classifier term): the component is ``argmax`` of z's
    first K coordinates (uniform over K for a standard-normal z, so the prior stays the plain
    Gaussian the sampler draws) and its one-hot replaces those K coordinates. A continuous G
    must string samples between separated modes (the image of a connected z-space is
    connected); the jump between components lets it place them apart. Needs ``z_dim > K``.
    """

    def __init__(self, z_dim: int = 16, out_shape: list[int] = (2,), hidden: int = 256,
                 depth: int = 3, num_classes: int = 0, tanh: bool = False, batchnorm: bool = False,
                 out_scale: float = 1.0, mixture: int | list[int] = 0):
        super().__init__()
        self.mixture_groups = mixture_groups(mixture, z_dim)
        self.z_dim, self.num_classes, self.out_scale = z_dim, num_classes, float(out_scale)
        self.out_shape = tuple(out_shape)
        out = math.prod(self.out_shape)
        dims = [z_dim + num_classes] + [hidden] * depth
        self.body = nn.Sequential(*_mlp(dims, nn.ReLU(), norm=batchnorm), nn.Linear(hidden, out))
        self.tanh = tanh

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.mixture_groups:  # component k = argmax z[:, :K], as a one-hot in place of those K inputs
            z, _ = mixture_onehot(z, self.mixture_groups)
        if self.num_classes:
            z = torch.cat([z, nn.functional.one_hot(y, self.num_classes).to(z.dtype)], 1)
        x = self.body(z)
        if self.tanh:
            x = torch.tanh(x)
        if self.out_scale != 1.0:
            x = x * self.out_scale
        return x.view(len(z), *self.out_shape)


class InputFeatures(nn.Module):
    """Coordinates a D can resolve fine detail in: ``x * in_scale``, optionally followed by
    random Fourier features ``[x, sin(2 pi B x), cos(2 pi B x)]`` (Tancik et al. 2020).

    Why: an MLP on raw 2D coordinates places its ReLU kinks within about one unit of the
    origin at init (PyTorch's default init), so over grid25's 8-wide square it sees mostly
    linear regions and learns the 0.1-wide modes coarse to fine. Scaling the input into about
    [-1, 1] spreads the kinks over the data; Fourier features give every unit oscillations of
    period ~1 / fourier_scale from the first step. ``B`` [fourier, d] ~ N(0, fourier_scale^2)
    is drawn from a fixed seed (a buffer, so it is saved and identical across runs).
    """

    def __init__(self, d_in: int, in_scale: float = 1.0, fourier: int = 0, fourier_scale: float = 1.0,
                 seed: int = 0):
        super().__init__()
        if not (math.isfinite(in_scale) and in_scale > 0):
            raise ValueError(f"in_scale must be a number > 0, got {in_scale!r}")
        if fourier < 0 or not (math.isfinite(fourier_scale) and fourier_scale > 0):
            raise ValueError(f"fourier must be >= 0 and fourier_scale > 0, got {fourier!r}, {fourier_scale!r}")
        self.in_scale, self.fourier = float(in_scale), int(fourier)
        # no buffer without features, so checkpoints of plain MLPs keep their keys
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("B", torch.randn(self.fourier, d_in, generator=g) * fourier_scale
                             if self.fourier else None)  # [F, d]
        self.out_dim = d_in + 2 * self.fourier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.in_scale  # [N, d]
        if not self.fourier:
            return x
        proj = 2 * math.pi * x @ self.B.t().to(x.dtype)  # [N, F]
        return torch.cat([x, proj.sin(), proj.cos()], 1)  # [N, d + 2F]


@NETS.register("mlp_d")
class MLPDiscriminator(nn.Module):
    """x [N, *in_shape] (+ class y) -> logit [N].

    ``pack`` > 1 makes it a PacGAN discriminator (Lin et al. 2018): it sees ``pack`` samples
    concatenated and the batch it scores has N / pack rows. ``in_scale`` / ``fourier`` /
    ``fourier_scale``: see :class:`InputFeatures` (applied to each sample before packing;
    the defaults leave the input as it is). ``q_cat = K > 0`` adds a K-way classifier head on
    the last hidden layer (MGAN's classifier sharing D's trunk, r3gan ``mixture_weight``);
    ``D(x, y, heads=True)`` returns ``{"logit", "features", "q_cat"}``.

    Goodfellow et al.'s MNIST D (goodfeli/adversarial ``mnist.yaml``) is ``hidden=240, depth=2,
    maxout=5, dropout=0.5, in_dropout=0.2``: two layers of 240 maxout units of 5 pieces, dropout on
    every layer's input (keep 0.8 on the image, 0.5 after). ``maxout = k > 1`` replaces the
    LeakyReLU by maxout units of k pieces; ``in_dropout`` drops input features (after packing
    and the class one-hot, so it also drops label bits), ``dropout`` each hidden layer's output.
    """

    def __init__(self, in_shape: list[int] = (2,), hidden: int = 256, depth: int = 3,
                 num_classes: int = 0, pack: int = 1, dropout: float = 0.0, in_scale: float = 1.0,
                 fourier: int = 0, fourier_scale: float = 1.0, q_cat: int | list[int] = 0,
                 maxout: int = 0, in_dropout: float = 0.0):
        super().__init__()
        q_cat = sum(q_cat) if isinstance(q_cat, (list, tuple)) else int(q_cat)
        if q_cat < 0 or (q_cat and pack > 1):
            raise ValueError(f"q_cat must be >= 0 and needs pack = 1, got q_cat={q_cat}, pack={pack}")
        if maxout < 0 or not (0 <= in_dropout < 1) or not (0 <= dropout < 1):
            raise ValueError(f"maxout must be >= 0 and dropouts in [0, 1), got maxout={maxout}, "
                             f"dropout={dropout}, in_dropout={in_dropout}")
        self.num_classes, self.pack = num_classes, pack
        self.features = InputFeatures(math.prod(in_shape), in_scale, fourier, fourier_scale)
        d_in = (self.features.out_dim + num_classes) * pack
        dims = [d_in] + [hidden] * depth
        head = [nn.Dropout(in_dropout)] if in_dropout else []  # no module without it: checkpoint keys stay
        self.body = nn.Sequential(*head, *_mlp(dims, nn.LeakyReLU(0.2), dropout=dropout, maxout=maxout),
                                  nn.Linear(hidden, 1))
        self.q = nn.Linear(hidden, q_cat) if q_cat else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, heads: bool = False):
        x = self.features(x.flatten(1))
        if self.num_classes:
            x = torch.cat([x, nn.functional.one_hot(y, self.num_classes).to(x.dtype)], 1)
        x = x.reshape(len(x) // self.pack, -1)
        if not heads:
            return self.body(x).squeeze(1)
        feat = self.body[:-1](x)  # [N / pack, hidden]
        out = {"logit": self.body[-1](feat).squeeze(1), "features": feat}
        if self.q is not None:
            out["q_cat"] = self.q(feat)  # [N, K]
        return out
