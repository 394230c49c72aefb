"""The U-Net generator of pix2pix (Isola et al. 2017, sec. 3.2.1 and appendix 6.1.1).

An encoder-decoder whose layer ``i`` is concatenated to layer ``n - i`` ("skip connections"),
so low-level structure the input and output share (edges, layout) bypasses the bottleneck.
Encoder ``C64-C128-C256-C512-C512-...`` (4x4 stride-2 convs, LeakyReLU 0.2, BatchNorm except on
the first and innermost layers), decoder ``CD512-CD512-CD512-C512-...-C64`` (4x4 stride-2
transposed convs, ReLU, BatchNorm, dropout 0.5), then a transposed conv to the output channels
and tanh. Dropout sits where the authors' code puts it (junyanz/pytorch-CycleGAN-and-pix2pix,
``UnetGenerator``): on the ``num_downs - 5`` decoder levels just above the innermost one, which
has none: three at 256 px (the paper's ``CD512`` x 3), one at 64 px, none at 32 px.
``dropout_levels`` overrides that count. ``depth`` downsamplings (default: down to 1x1, as 8 are for
256 px); resolution and width are arguments.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..registry import NETS
from .dcgan import init_dcgan_weights
from .patchgan import norm_layer


@NETS.register("unet_g")
class UNet(nn.Module):
    """``x [N, in_channels, R, R]`` in [-1, 1] -> ``[N, channels, R, R]`` in [-1, 1]."""

    def __init__(self, in_channels: int = 3, channels: int = 3, resolution: int = 256, ngf: int = 64,
                 depth: int = 0, max_mult: int = 8, dropout: float = 0.5, norm: str = "batch",
                 dropout_levels: int = -1):
        super().__init__()
        full = int(math.log2(resolution)) if resolution >= 2 else 0
        if 2 ** full != resolution:
            raise ValueError(f"unet_g resolution must be a power of two, got {resolution}")
        depth = depth or full
        if not 1 <= depth <= full:
            raise ValueError(f"unet_g depth must be in 1..{full} for resolution {resolution}, got {depth}")
        self.in_channels, self.channels, self.resolution = in_channels, channels, resolution
        widths = [ngf * min(2 ** i, max_mult) for i in range(depth)]  # encoder outputs, outer -> inner
        bias = norm != "batch"
        self.down = nn.ModuleList()
        w_in = in_channels
        for i, w in enumerate(widths):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2, True)]
            layers.append(nn.Conv2d(w_in, w, 4, 2, 1, bias=bias or i in (0, depth - 1)))
            if 0 < i < depth - 1:  # no norm on the first layer nor on the 1x1 bottleneck
                layers.append(norm_layer(norm, w))
            self.down.append(nn.Sequential(*layers))
            w_in = w
        # Decoder level i (inner -> outer) maps to the size of encoder level depth-2-i and is
        # concatenated with it; the innermost takes the bottleneck alone.
        self.up = nn.ModuleList()
        n_drop = depth - 5 if dropout_levels < 0 else dropout_levels  # the authors' num_downs - 5
        for j in range(depth - 1):
            i = depth - 1 - j  # the encoder level whose output this decoder level consumes
            w_cat = widths[i] if j == 0 else 2 * widths[i]
            w_out = widths[i - 1]
            layers = [nn.ReLU(True), nn.ConvTranspose2d(w_cat, w_out, 4, 2, 1, bias=bias), norm_layer(norm, w_out)]
            if dropout > 0 and 1 <= j <= n_drop:  # j = 0, the innermost, has none
                layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))
        last_in = widths[0] if depth == 1 else 2 * widths[0]
        self.out = nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(last_in, channels, 4, 2, 1), nn.Tanh())
        self.apply(init_dcgan_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for d in self.down:
            x = d(x)
            skips.append(x)  # [N, w_i, R / 2^(i+1), R / 2^(i+1)]
        h = skips[-1]
        for j, u in enumerate(self.up):
            h = u(h)  # up to the size of encoder level depth-2-j
            h = torch.cat([h, skips[-2 - j]], 1)
        return self.out(h)  # [N, channels, R, R]
