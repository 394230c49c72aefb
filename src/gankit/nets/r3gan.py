"""R3GAN's modernised ResNet G and D (Huang et al. 2024, "The GAN is dead; long live the GAN!
A Modern GAN Baseline", sec. 3, config E), and a residual MLP pair for 2D points.

What makes them "modern" (paper sec. 3.2-3.4), all kept here:

* ResNeXt-style bottleneck blocks: 1x1 conv (widen by ``expansion``) -> grouped 3x3 conv
  (``cardinality`` groups) -> 1x1 conv back, LeakyReLU(0.2) between, added to the identity;
* no normalisation layers at all (no batch/instance norm, no equalised lr, no spectral norm);
* fix-up style initialisation (Zhang et al. 2019): the last layer of every residual branch
  starts at zero, the others are scaled by ``L ** (-1 / (2m - 2))`` for L blocks of m = 3
  layers, so the net starts as (almost) the identity and its output variance does not grow
  with depth;
* resampling with the [1, 3, 3, 1] low-pass of the authors' ``InterpolativeUpsampler`` /
  ``InterpolativeDownsampler`` (their default ``ResamplingFilter=[1, 2, 1]`` convolved with
  [1, 1]), with a 1x1 "transition" conv where the width changes. G's x2 upsample is
  ``F.interpolate(bilinear)``, which *is* that filter away from the border (the border pixel
  repeats the edge where the authors' transposed conv pads with zeros); D's x0.5 downsample is
  :func:`lowpass_down`, the authors' filter exactly (a 2x2 box, i.e. bilinear x0.5, until
  2026-12-07);
* a learned 4x4 constant basis modulated by z in G, and a 4x4 depthwise conv + linear head in D.

Widths are one number (``width``, every stage) or a list (one per stage, 4x4 first for G),
and the resolution is a constructor argument (a power of two >= 4). Our own code, after the
paper and the authors' public implementation (brownvc/R3GAN); smaller defaults for CPUs.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import NETS
from .mlp import InputFeatures

SLOPE = 0.2
ACT_GAIN = math.sqrt(2.0 / (1.0 + SLOPE ** 2))  # He gain of LeakyReLU(0.2)


def msr_init(layer: nn.Module, gain: float = 1.0) -> nn.Module:
    """He ("MSR") init: weights ~ N(0, (gain / sqrt(fan_in))^2), bias 0; gain 0 zeroes the layer."""
    w = layer.weight
    fan_in = w.shape[1] * w[0, 0].numel()  # in channels per group x kernel size
    with torch.no_grad():
        if gain == 0:
            w.zero_()
        else:
            w.normal_(0.0, gain / math.sqrt(fan_in))
        if layer.bias is not None:
            layer.bias.zero_()
    return layer


_LOWPASS = (0.125, 0.375, 0.375, 0.125)


def lowpass_down(x: torch.Tensor) -> torch.Tensor:
    """x0.5 downsample through the separable [1, 3, 3, 1] / 8 low-pass (zero padding 1, stride 2),
    as R3GAN's ``InterpolativeDownsamplerReference``: each output pixel averages a 4x4 window with
    weights (1, 3, 3, 1)^T (1, 3, 3, 1) / 64, which suppresses the aliasing a 2x2 box lets through.
    A depthwise conv, so any dtype (bf16 autocast included) works."""
    c = x.shape[1]
    k = x.new_tensor(_LOWPASS)
    k = (k[:, None] * k[None, :]).expand(c, 1, 4, 4)
    return F.conv2d(x, k, stride=2, padding=1, groups=c)


def _fixup_gain(num_blocks: int, layers_per_block: int = 3) -> float:
    """Fix-up scaling of the non-final layers of a residual branch: L ** (-1 / (2m - 2))."""
    return ACT_GAIN * num_blocks ** (-1.0 / (2 * layers_per_block - 2))


class ResBlock(nn.Module):
    """x + conv1x1(act(grouped conv3x3(act(conv1x1(x))))), the last conv zero-initialised."""

    def __init__(self, ch: int, cardinality: int, expansion: int, num_blocks: int):
        super().__init__()
        inner = ch * expansion
        if inner % cardinality:
            raise ValueError(f"width * expansion = {inner} is not divisible by cardinality = {cardinality}")
        g = _fixup_gain(num_blocks)
        self.conv1 = msr_init(nn.Conv2d(ch, inner, 1), g)
        self.conv2 = msr_init(nn.Conv2d(inner, inner, 3, padding=1, groups=cardinality), g)
        self.conv3 = msr_init(nn.Conv2d(inner, ch, 1), 0.0)

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), SLOPE)
        h = F.leaky_relu(self.conv2(h), SLOPE)
        return x + self.conv3(h)


def _widths(width: int | list[int], n: int) -> list[int]:
    ws = [int(width)] * n if isinstance(width, (int, float)) else [int(w) for w in width]
    if len(ws) != n:
        raise ValueError(f"width has {len(ws)} entries, the resolution needs {n} stages")
    return ws


def _num_stages(resolution: int) -> int:
    if resolution < 4 or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution}")
    return int(math.log2(resolution)) - 1  # stages at 4, 8, ..., resolution


def _stage(cin: int, cout: int, blocks: int, cardinality: int, expansion: int, total: int) -> list[nn.Module]:
    """A 1x1 transition conv (only where the width changes), then ``blocks`` residual blocks."""
    mods: list[nn.Module] = [msr_init(nn.Conv2d(cin, cout, 1))] if cin != cout else []
    return mods + [ResBlock(cout, cardinality, expansion, total) for _ in range(blocks)]


@NETS.register("r3gan_g")
class R3GANGenerator(nn.Module):
    """z [N, z_dim] (+ class y) -> image [N, channels, resolution, resolution].

    Stage 0 is a learned 4x4 basis modulated per sample by a linear map of z; each later stage
    upsamples x2 (bilinear) and runs ``blocks`` residual blocks; a 1x1 conv makes the channels.
    With ``num_classes`` a learned class embedding is concatenated to z (R3GAN conditions G so).
    """

    def __init__(self, z_dim: int = 64, resolution: int = 32, channels: int = 3, width: int | list[int] = 64,
                 blocks: int = 1, cardinality: int = 8, expansion: int = 2, num_classes: int = 0,
                 embed_dim: int = 32):
        super().__init__()
        n = _num_stages(resolution)
        ws = _widths(width, n)
        self.z_dim, self.num_classes, self.resolution = z_dim, num_classes, resolution
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        z_in = z_dim + (embed_dim if num_classes else 0)
        self.basis = nn.Parameter(torch.randn(ws[0], 4, 4))  # the learned constant
        self.modulate = msr_init(nn.Linear(z_in, ws[0]))
        total = blocks * n
        self.stages = nn.ModuleList()
        for i in range(n):
            self.stages.append(nn.Sequential(*_stage(ws[i - 1] if i else ws[0], ws[i], blocks, cardinality,
                                                     expansion, total)))
        self.to_rgb = msr_init(nn.Conv2d(ws[-1], channels, 1))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], 1)
        x = self.basis[None] * self.modulate(z)[:, :, None, None]  # [N, C0, 4, 4]
        for i, stage in enumerate(self.stages):
            if i:
                x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = stage(x)
        return self.to_rgb(x)


@NETS.register("r3gan_d")
class R3GANDiscriminator(nn.Module):
    """image [N, channels, resolution, resolution] (+ class y) -> logit [N].

    The mirror of :class:`R3GANGenerator`: a 1x1 conv from the channels, stages of residual
    blocks each followed by a x0.5 [1, 3, 3, 1] low-pass downsample (:func:`lowpass_down`),
    then a 4x4 depthwise conv and a linear layer to one logit. With ``num_classes`` the logit is
    a projection onto a class embedding (Miyato & Koyama 2018), as R3GAN's conditional D.
    """

    def __init__(self, resolution: int = 32, channels: int = 3, width: int | list[int] = 64, blocks: int = 1,
                 cardinality: int = 8, expansion: int = 2, num_classes: int = 0):
        super().__init__()
        n = _num_stages(resolution)
        ws = _widths(width, n)[::-1]  # highest resolution first
        self.num_classes = num_classes
        self.from_rgb = msr_init(nn.Conv2d(channels, ws[0], 1))
        total = blocks * n
        self.stages = nn.ModuleList(
            nn.Sequential(*_stage(ws[i - 1] if i else ws[0], ws[i], blocks, cardinality, expansion, total))
            for i in range(n))
        self.basis = msr_init(nn.Conv2d(ws[-1], ws[-1], 4, groups=ws[-1], bias=False))  # 4x4 -> 1x1
        self.out = msr_init(nn.Linear(ws[-1], 1 if not num_classes else ws[-1]))
        self.embed = nn.Embedding(num_classes, ws[-1]) if num_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = self.from_rgb(x)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i < len(self.stages) - 1:
                x = lowpass_down(x)
        h = self.out(self.basis(x).flatten(1))  # [N, 1] or [N, C]
        if self.embed is None:
            return h.squeeze(1)
        return (h * self.embed(y)).sum(1) / math.sqrt(h.shape[1])


# ------------------------------------------------------------------------------ 2D points


class ResMLPBlock(nn.Module):
    """x + Linear(act(Linear(x))), widened by ``expansion``, the last layer zero-initialised."""

    def __init__(self, dim: int, expansion: int, num_blocks: int):
        super().__init__()
        g = ACT_GAIN * num_blocks ** (-0.5)  # fix-up for m = 2 layers per branch: L ** (-1 / (2m - 2))
        self.fc1 = msr_init(nn.Linear(dim, dim * expansion), g)
        self.fc2 = msr_init(nn.Linear(dim * expansion, dim), 0.0)

    def forward(self, x):
        return x + self.fc2(F.leaky_relu(self.fc1(x), SLOPE))


def _res_mlp(d_in: int, hidden: int, depth: int, expansion: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(msr_init(nn.Linear(d_in, hidden)),
                         *[ResMLPBlock(hidden, expansion, depth) for _ in range(depth)],
                         nn.LeakyReLU(SLOPE), msr_init(nn.Linear(hidden, d_out)))


@NETS.register("r3gan_mlp_g")
class R3GANMLPGenerator(nn.Module):
    """z [N, z_dim] -> x [N, *out_shape]: the same recipe for points (residual MLP, no
    normalisation, fix-up init). ``out_scale`` multiplies the output, so G starts spread over
    the data's range (e.g. 4 for grid25's [-4, 4] square) instead of near the origin."""

    def __init__(self, z_dim: int = 16, out_shape: list[int] = (2,), hidden: int = 128, depth: int = 3,
                 expansion: int = 2, out_scale: float = 1.0, num_classes: int = 0):
        super().__init__()
        if num_classes:
            raise ValueError("r3gan_mlp_g is unconditional (num_classes must be 0)")
        self.z_dim, self.num_classes = z_dim, 0
        self.out_shape, self.out_scale = tuple(out_shape), float(out_scale)
        self.body = _res_mlp(z_dim, hidden, depth, expansion, math.prod(self.out_shape))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return (self.body(z) * self.out_scale).view(len(z), *self.out_shape)


@NETS.register("r3gan_mlp_d")
class R3GANMLPDiscriminator(nn.Module):
    """x [N, *in_shape] -> logit [N]: residual MLP D for points, with the input options of
    :class:`gankit.nets.mlp.InputFeatures` (``in_scale``, random Fourier ``fourier`` features)."""

    def __init__(self, in_shape: list[int] = (2,), hidden: int = 128, depth: int = 3, expansion: int = 2,
                 in_scale: float = 1.0, fourier: int = 0, fourier_scale: float = 1.0, num_classes: int = 0):
        super().__init__()
        if num_classes:
            raise ValueError("r3gan_mlp_d is unconditional (num_classes must be 0)")
        self.num_classes = 0
        self.features = InputFeatures(math.prod(in_shape), in_scale, fourier, fourier_scale)
        self.body = _res_mlp(self.features.out_dim, hidden, depth, expansion, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(self.features(x.flatten(1))).squeeze(1)
