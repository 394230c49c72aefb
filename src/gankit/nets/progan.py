"""ProGAN G and D (Karras et al. 2018, "Progressive Growing of GANs", sec. 2-4, Table 2).

Both nets hold the layers of every resolution from the start (so a checkpoint always has the
same set of weights) and a ``growth`` buffer that says how far they have grown:
``growth = g`` in [0, L] (L = log2(R / 4)) means the top level is ``ceil(g)`` (resolution
``4 * 2**ceil(g)``) faded in by ``alpha = g - ceil(g) + 1``; an integer g is a stable level.
The recipe sets ``growth`` from the global step (:func:`gankit.recipes.progan.growth_at`).

Fade-in (sec. 2, Fig. 2): G's output is ``(1 - alpha) * up(toRGB_{l-1}(h)) + alpha *
toRGB_l(block_l(h))``; D's input path is ``(1 - alpha) * fromRGB_{l-1}(avgpool(x)) + alpha *
block_l(fromRGB_l(x))``. Equalized learning rate (sec. 4.1), pixel norm in G after every
conv (sec. 4.2), minibatch stddev in D at 4x4 (sec. 3), leaky ReLU 0.2, nearest-neighbour
upsampling and average-pool downsampling.

Width at resolution r: ``min(channel_base // r, channel_max)`` (8192 / 512 in the paper;
512 / 128 by default here, for CPUs).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import NETS
from .layers import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm


def _levels(resolution: int) -> int:
    n = math.log2(resolution / 4) if resolution > 0 else -1
    if resolution < 8 or not float(n).is_integer():
        raise ValueError(f"ProGAN resolution must be a power of two >= 8, got {resolution}")
    return int(n)


def _widths(channel_base: int, channel_max: int):
    if channel_base < 1 or channel_max < 1:
        raise ValueError(f"channel_base and channel_max must be >= 1, got {channel_base}, {channel_max}")
    return lambda r: max(1, min(channel_base // r, channel_max))


def split_growth(growth: float, levels: int) -> tuple[int, float]:
    """``growth`` in [0, levels] -> (top level, alpha in (0, 1]); 0 is 4x4."""
    g = min(max(float(growth), 0.0), float(levels))
    level = math.ceil(g)
    return level, (1.0 if level == 0 else g - level + 1.0)


class _Growing(nn.Module):
    """The ``growth`` buffer shared by G and D (fully grown at construction)."""

    def _init_growth(self, resolution: int) -> None:
        self.levels = _levels(resolution)
        self.register_buffer("growth", torch.tensor(float(self.levels)))

    def set_growth(self, growth: float) -> None:
        """Set how far the net has grown (done by the recipe at every step, no grad)."""
        self.growth.fill_(min(max(float(growth), 0.0), float(self.levels)))

    @property
    def current(self) -> tuple[int, float]:
        """(top level, alpha) now."""
        return split_growth(float(self.growth), self.levels)

    @property
    def current_resolution(self) -> int:
        return 4 * 2 ** self.current[0]


def _lrelu(x):
    return F.leaky_relu(x, 0.2)


@NETS.register("progan_g")
class ProGANGenerator(_Growing):
    """ProGAN generator: z [N, z_dim] -> images [N, channels, R, R] (linear output).

    ``G(z)`` is always at the final resolution R (nearest-neighbour upsampled from the current
    one while growing); ``G(z, full_res=False)`` gives the current resolution, which is what
    D sees during training.

    Args:
        resolution: final size R (power of two >= 8); channels: image channels.
        z_dim: latent size (512 in the paper).
        channel_base, channel_max: width ``min(channel_base // r, channel_max)`` at resolution r.
    """

    def __init__(self, resolution: int = 32, channels: int = 3, z_dim: int = 128, channel_base: int = 512,
                 channel_max: int = 128):
        super().__init__()
        self._init_growth(resolution)
        width = _widths(channel_base, channel_max)
        self.z_dim, self.resolution, self.num_classes = z_dim, resolution, 0
        self.pn = PixelNorm()
        c4 = width(4)
        # Table 2: latent -> "conv 4x4" (a dense layer to 4x4, gain sqrt(2)/4 as in the official
        # code) -> conv 3x3; pixel norm after each.
        self.fc = EqualizedLinear(z_dim, c4 * 16, gain=math.sqrt(2) / 4)
        self.conv4 = EqualizedConv2d(c4, c4, 3, padding=1)
        res = [4 * 2**i for i in range(1, self.levels + 1)]
        self.blocks = nn.ModuleList(
            nn.ModuleList([EqualizedConv2d(width(r // 2), width(r), 3, padding=1),
                           EqualizedConv2d(width(r), width(r), 3, padding=1)]) for r in res)
        self.to_rgb = nn.ModuleList(EqualizedConv2d(width(r), channels, 1, gain=1.0) for r in [4, *res])

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None, full_res: bool = True) -> torch.Tensor:
        level, alpha = self.current
        x = self.pn(z)  # normalise the latent (sec. 4.2)
        h = self.pn(_lrelu(self.fc(x).view(len(z), -1, 4, 4)))  # [N, C4, 4, 4]
        h = self.pn(_lrelu(self.conv4(h)))
        low = None
        for lv in range(1, level + 1):
            if lv == level and alpha < 1.0:
                low = self.to_rgb[lv - 1](h)  # [N, C, r/2, r/2]: the previous top level's image
            c1, c2 = self.blocks[lv - 1]
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            h = self.pn(_lrelu(c2(self.pn(_lrelu(c1(h))))))  # [N, C_r, r, r]
        img = self.to_rgb[level](h)  # [N, C, r, r]
        if low is not None:  # fade-in (sec. 2): blend with the upsampled lower-resolution image
            img = F.interpolate(low, scale_factor=2.0, mode="nearest").lerp(img, alpha)
        if full_res and img.shape[-1] != self.resolution:
            img = F.interpolate(img, size=(self.resolution, self.resolution), mode="nearest")
        return img


@NETS.register("progan_d")
class ProGANDiscriminator(_Growing):
    """ProGAN discriminator: images [N, channels, r, r] -> logits [N].

    Takes images at the current resolution, or larger (average-pooled down to it).

    Args:
        resolution: final size R; channels: image channels.
        channel_base, channel_max: widths as in the generator.
        mbstd_group: minibatch-stddev group size (4 in the official code).
    """

    def __init__(self, resolution: int = 32, channels: int = 3, channel_base: int = 512, channel_max: int = 128,
                 mbstd_group: int = 4):
        super().__init__()
        self._init_growth(resolution)
        width = _widths(channel_base, channel_max)
        self.resolution = resolution
        res = [4 * 2**i for i in range(1, self.levels + 1)]
        self.from_rgb = nn.ModuleList(EqualizedConv2d(channels, width(r), 1) for r in [4, *res])
        self.blocks = nn.ModuleList(
            nn.ModuleList([EqualizedConv2d(width(r), width(r), 3, padding=1),
                           EqualizedConv2d(width(r), width(r // 2), 3, padding=1)]) for r in res)
        c4 = width(4)
        self.mbstd = MinibatchStdDev(mbstd_group)
        self.conv4 = EqualizedConv2d(c4 + 1, c4, 3, padding=1)
        self.fc = EqualizedLinear(c4 * 16, c4)  # Table 2's "conv 4x4" on a 4x4 map = dense
        self.out = EqualizedLinear(c4, 1, gain=1.0)

    def _block(self, lv: int, h):
        c1, c2 = self.blocks[lv - 1]
        return F.avg_pool2d(_lrelu(c2(_lrelu(c1(h)))), 2)  # [N, C_{r/2}, r/2, r/2]

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        level, alpha = self.current
        r = 4 * 2**level
        if x.shape[-1] < r or x.shape[-1] % r:
            raise ValueError(f"D at resolution {r} got {x.shape[-1]}-pixel images")
        if x.shape[-1] > r:
            x = F.avg_pool2d(x, x.shape[-1] // r)  # [N, C, r, r]
        h = _lrelu(self.from_rgb[level](x))  # [N, C_r, r, r]
        if level > 0:
            h = self._block(level, h)
            if alpha < 1.0:  # fade-in (sec. 2): blend with the lower resolution's fromRGB path
                low = _lrelu(self.from_rgb[level - 1](F.avg_pool2d(x, 2)))
                h = low.lerp(h, alpha)
            for lv in range(level - 1, 0, -1):
                h = self._block(lv, h)
        h = _lrelu(self.conv4(self.mbstd(h)))  # [N, C4, 4, 4]
        h = _lrelu(self.fc(h.flatten(1)))  # [N, C4]
        return self.out(h).squeeze(1)  # [N]
