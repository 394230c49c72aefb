"""Multilayer perceptrons: the G and D of Goodfellow et al. (2014), for points or flat images."""
from __future__ import annotations

import math

import torch
from torch import nn

from ..registry import NETS


def _mlp(dims: list[int], act: nn.Module, norm: bool = False, dropout: float = 0.0) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers.append(nn.Linear(a, b))
        if norm:
            layers.append(nn.BatchNorm1d(b))
        layers.append(act)
        if dropout:
            layers.append(nn.Dropout(dropout))
    return layers


@NETS.register("mlp_g")
class MLPGenerator(nn.Module):
    """z [N, z_dim] (+ class y) -> x [N, *out_shape].

    ``out_shape`` is (D,) for points or (C, H, W) for images (then a tanh keeps pixels in
    [-1, 1]). With ``num_classes > 0`` the one-hot label is concatenated to z (Mirza &
    Osindero 2014).
    """

    def __init__(self, z_dim: int = 16, out_shape: list[int] = (2,), hidden: int = 256,
                 depth: int = 3, num_classes: int = 0, tanh: bool = False, batchnorm: bool = False):
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        self.out_shape = tuple(out_shape)
        out = math.prod(self.out_shape)
        dims = [z_dim + num_classes] + [hidden] * depth
        self.body = nn.Sequential(*_mlp(dims, nn.ReLU(), norm=batchnorm), nn.Linear(hidden, out))
        self.tanh = tanh

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, nn.functional.one_hot(y, self.num_classes).to(z.dtype)], 1)
        x = self.body(z)
        if self.tanh:
            x = torch.tanh(x)
        return x.view(len(z), *self.out_shape)


@NETS.register("mlp_d")
class MLPDiscriminator(nn.Module):
    """x [N, *in_shape] (+ class y) -> logit [N].

    ``pack`` > 1 makes it a PacGAN discriminator (Lin et al. 2018): it sees ``pack`` samples
    concatenated and the batch it scores has N / pack rows.
    """

    def __init__(self, in_shape: list[int] = (2,), hidden: int = 256, depth: int = 3,
                 num_classes: int = 0, pack: int = 1, dropout: float = 0.0):
        super().__init__()
        self.num_classes, self.pack = num_classes, pack
        d_in = (math.prod(in_shape) + num_classes) * pack
        dims = [d_in] + [hidden] * depth
        self.body = nn.Sequential(*_mlp(dims, nn.LeakyReLU(0.2), dropout=dropout), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = x.flatten(1)
        if self.num_classes:
            x = torch.cat([x, nn.functional.one_hot(y, self.num_classes).to(x.dtype)], 1)
        x = x.reshape(len(x) // self.pack, -1)
        return self.body(x).squeeze(1)
