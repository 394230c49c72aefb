"""StyleGAN2 G and D (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN").

G = mapping network (z -> w, MLP with learning-rate multiplier 0.01) + synthesis network:
a learned constant 4x4 input, then per resolution two 3x3 convolutions *modulated* by a style
``s = A(w)`` and *demodulated* (sec. 2.2, eq. 1-3), per-layer noise with a learned strength,
and the "skip" output architecture (sec. 4.1, Fig. 7b): a modulated 1x1 toRGB at every
resolution, summed with the upsampled RGB of the resolution below.
D = the "residual" architecture (Fig. 7c) with minibatch standard deviation at 4x4.
Every weight uses the equalized learning rate (Karras et al. 2018, sec. 4.1).

Resampling uses the [1, 3, 3, 1] low-pass filter of the official code: up by bilinear
interpolation (the same filter, with edge replication instead of zero padding), down by a
4x4 depthwise blur then stride 2.

Resolution and widths are constructor arguments: a resolution R gives log2(R) - 1 blocks and
``2 * (log2(R) - 1)`` ws; the width at resolution r is ``min(channel_base // r, channel_max)``
(the official 32768 / 512 at full size; 512 / 128 by default here, for CPUs).

:func:`style_mix` makes a style-mixing grid (Karras et al. 2019, StyleGAN sec. 3.1, Fig. 3).
"""
from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UserError
from ..registry import NETS
from .layers import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, fp32, to_fp32

SQRT2 = math.sqrt(2.0)
NOISE_MODES = ("random", "const", "none")


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU (slope 0.2) times sqrt(2), which keeps the activations' second moment
    (the official ``bias_act`` 'lrelu' gain); weights then use gain 1."""
    return F.leaky_relu(x, 0.2) * SQRT2


def _fir(x: torch.Tensor, pad: int, stride: int) -> torch.Tensor:
    """Separable [1, 3, 3, 1] / 8 low-pass along H and W (zero padding ``pad``, then ``stride``):
    [N, C, H, W] -> [N, C, (H + 2 pad - 4) // stride + 1, ...]. Written as strided slices,
    whose backward is cheap on CPUs (a depthwise 4x4 conv's backward is not)."""
    x = F.pad(x, (pad, pad, pad, pad))
    for dim in (2, 3):
        n = (x.shape[dim] - 4) // stride + 1

        def tap(k, x=x, dim=dim, n=n):
            return x.narrow(dim, k, (n - 1) * stride + 1)[(slice(None),) * dim + (slice(None, None, stride),)]

        x = (tap(0) + tap(3) + 3.0 * (tap(1) + tap(2))) * 0.125
    return x


def upsample2(x: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, 2H, 2W], the [1, 3, 3, 1] filter (bilinear interpolation)."""
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def downsample2(x: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, H/2, W/2]: [1, 3, 3, 1] blur (zero padding), then stride 2."""
    return _fir(x, 1, 2)


def _check_resolution(resolution: int) -> int:
    n = math.log2(resolution) if resolution > 0 else -1
    if resolution < 8 or not float(n).is_integer():
        raise ValueError(f"StyleGAN2 resolution must be a power of two >= 8, got {resolution}")
    return int(n)


def _widths(channel_base: int, channel_max: int):
    if channel_base < 1 or channel_max < 1:
        raise ValueError(f"channel_base and channel_max must be >= 1, got {channel_base}, {channel_max}")
    return lambda r: max(1, min(channel_base // r, channel_max))


# ------------------------------------------------------------------ modulated convolution


class ModulatedConv2d(nn.Module):
    """Modulated (and demodulated) convolution, StyleGAN2 sec. 2.2.

    With the style ``s = A(w)`` [N, C_in] (an affine layer whose bias starts at 1):

    * eq. 1, modulation:   ``w'_ijk = s_i * w_ijk``
    * eq. 2-3, demodulation: ``w''_ijk = w'_ijk / sqrt(sum_{i,k} w'_ijk^2 + eps)``

    so that, for unit-variance i.i.d. inputs, each output map has unit variance whatever the
    style's scale. Implemented on the activations (scale the input by s, convolve with the
    shared weight, scale the output by the demodulation coefficient), which equals the
    per-sample weights of eq. 1-3 and is one ordinary batched convolution (the official
    code's non-fused path). ``up`` upsamples 2x before the convolution.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int,
                 demodulate: bool = True, up: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.affine = EqualizedLinear(w_dim, in_channels, gain=1.0, bias_init=1.0)  # A
        self.wscale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)  # equalized lr
        self.demodulate, self.up, self.padding = demodulate, up, kernel_size // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.affine(w)  # [N, C_in]  the style
        if not self.demodulate:
            s = s * self.wscale  # toRGB: the equalized-lr scale moves onto the style (official code)
        weight = self.weight * (self.wscale if self.demodulate else 1.0)  # [C_out, C_in, k, k]
        if self.up:
            x = upsample2(x)
        x = x * s.to(x.dtype)[:, :, None, None]  # eq. 1 on the activations
        x = F.conv2d(x, weight.to(x.dtype), padding=self.padding)  # [N, C_out, H, W]
        if self.demodulate:
            # eq. 3: sigma_j^2 = sum_{i,k} (s_i w_ijk)^2 = sum_i s_i^2 (sum_k w_ijk^2)
            wsq = weight.float().pow(2).sum(dim=(2, 3))  # [C_out, C_in]
            d = torch.rsqrt(s.float().pow(2) @ wsq.t() + 1e-8)  # [N, C_out]
            x = x * d.to(x.dtype)[:, :, None, None]
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv, + per-pixel noise times a learned strength (StyleGAN sec. 2,
    init 0), + bias, leaky ReLU. The ``noise_const`` buffer is the fixed noise used for
    reproducible sampling (``noise_mode="const"``)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))

    def forward(self, x, w, noise_mode: str = "random", noise_gen: torch.Generator | None = None):
        x = self.conv(x, w)  # [N, C_out, R, R]
        if noise_mode == "random":
            shape = (len(x), 1, *x.shape[2:])
            if noise_gen is None:  # training: the loop reseeds torch's RNG every step
                noise = torch.randn(shape, device=x.device, dtype=x.dtype)
            else:
                noise = torch.randn(shape, generator=noise_gen).to(x.device, x.dtype)
            x = x + noise * self.noise_strength.to(x.dtype)
        elif noise_mode == "const":
            x = x + self.noise_const.to(x.dtype) * self.noise_strength.to(x.dtype)
        return lrelu(x + self.bias.to(x.dtype)[None, :, None, None])


class ToRGB(nn.Module):
    """Modulated 1x1 conv without demodulation, + bias, linear (StyleGAN2 Fig. 7b)."""

    def __init__(self, in_channels: int, channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x, w):
        return self.conv(x, w) + self.bias.to(x.dtype)[None, :, None, None]


# -------------------------------------------------------------------------- generator


class MappingNetwork(nn.Module):
    """z [N, z_dim] -> ws [N, num_ws, w_dim] (StyleGAN sec. 2): normalise z's second moment,
    ``num_layers`` equalized-lr linear layers with lr multiplier ``lr_mul`` (0.01 in the
    paper) and leaky ReLU, then broadcast w to every layer.

    ``w_avg`` (a buffer, so it is checkpointed and copied into G_ema) tracks the mean of w,
    updated when training asks (``update_w_avg``) with decay ``w_avg_beta``; the truncation
    trick (StyleGAN sec. 5.1 / appendix B) is ``w' = w_avg + psi * (w - w_avg)``.
    """

    def __init__(self, z_dim: int, w_dim: int, num_ws: int, num_layers: int = 8, lr_mul: float = 0.01,
                 w_avg_beta: float = 0.995):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"mapping_layers must be >= 1, got {num_layers}")
        dims = [z_dim] + [w_dim] * num_layers
        self.fcs = nn.ModuleList(EqualizedLinear(a, b, gain=1.0, lr_mul=lr_mul) for a, b in itertools.pairwise(dims))
        self.num_ws, self.w_avg_beta = num_ws, w_avg_beta
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, truncation: float | None = None, update_w_avg: bool = False) -> torch.Tensor:
        with fp32(z):  # fp32 under autocast too: the official mapping network never runs in fp16
            x = to_fp32(z)
            x = x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)  # [N, z_dim]
            for fc in self.fcs:
                x = lrelu(fc(x))  # [N, w_dim]
        if update_w_avg:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))
        ws = x[:, None].expand(-1, self.num_ws, -1)  # [N, num_ws, w_dim]
        if truncation is not None and truncation != 1:
            ws = self.w_avg.to(ws.dtype).lerp(ws, float(truncation))  # w_avg + psi * (w - w_avg)
        return ws


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> images [N, channels, R, R] (skip architecture, Fig. 7b).

    Block 4x4: const -> conv (ws[0]) -> toRGB (ws[1]). Block r > 4: up-conv (ws[2b-1]) ->
    conv (ws[2b]) -> toRGB (ws[2b+1]); img = upsample(img) + toRGB. So toRGB of a block
    shares its w with the next block's first conv, as in the official code.
    """

    def __init__(self, w_dim: int, resolution: int, channels: int, channel_base: int, channel_max: int):
        super().__init__()
        log_r = _check_resolution(resolution)
        width = _widths(channel_base, channel_max)
        self.resolutions = [2**i for i in range(2, log_r + 1)]  # 4, 8, ..., R
        self.num_ws = 2 * len(self.resolutions)
        self.const = nn.Parameter(torch.randn(width(4), 4, 4))
        self.convs0 = nn.ModuleList(SynthesisLayer(width(r // 2), width(r), w_dim, r, up=True)
                                    for r in self.resolutions[1:])
        self.convs1 = nn.ModuleList(SynthesisLayer(width(r), width(r), w_dim, r) for r in self.resolutions)
        self.torgbs = nn.ModuleList(ToRGB(width(r), channels, w_dim) for r in self.resolutions)

    def forward(self, ws: torch.Tensor, noise_mode: str = "random", noise_gen: torch.Generator | None = None):
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, got {noise_mode!r}")
        if ws.shape[1] != self.num_ws:
            raise ValueError(f"expected ws of shape [N, {self.num_ws}, w_dim], got {list(ws.shape)}")
        x = self.const[None].expand(len(ws), -1, -1, -1)  # [N, C4, 4, 4]
        img = None
        for b in range(len(self.resolutions)):
            if b > 0:
                x = self.convs0[b - 1](x, ws[:, 2 * b - 1], noise_mode, noise_gen)  # [N, C_r, r, r]
            x = self.convs1[b](x, ws[:, 2 * b], noise_mode, noise_gen)
            y = self.torgbs[b](x, ws[:, 2 * b + 1])  # [N, channels, r, r]
            img = y if img is None else upsample2(img) + y
        return img


@NETS.register("stylegan2_g")
class StyleGAN2Generator(nn.Module):
    """StyleGAN2 generator: z [N, z_dim] -> images [N, channels, R, R] (about [-1, 1], no tanh).

    Args:
        resolution: output size R, a power of two >= 8.
        channels: image channels.
        z_dim, w_dim: latent sizes (512 in the paper).
        mapping_layers: depth of the mapping network (8 in the paper).
        mapping_lr_mul: its learning-rate multiplier (0.01).
        channel_base, channel_max: width ``min(channel_base // r, channel_max)`` at resolution r.
        w_avg_beta: decay of the tracked mean of w (for truncation).

    ``pl_mean`` is the running mean of path lengths of the path-length regularizer
    (sec. 3.2), kept here so the checkpoint holds it.
    """

    def __init__(self, resolution: int = 32, channels: int = 3, z_dim: int = 128, w_dim: int = 128,
                 mapping_layers: int = 8, mapping_lr_mul: float = 0.01, channel_base: int = 512,
                 channel_max: int = 128, w_avg_beta: float = 0.995):
        super().__init__()
        self.z_dim, self.w_dim, self.resolution, self.num_classes = z_dim, w_dim, resolution, 0
        self.synthesis = SynthesisNetwork(w_dim, resolution, channels, channel_base, channel_max)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, w_dim, self.num_ws, mapping_layers, mapping_lr_mul, w_avg_beta)
        self.register_buffer("pl_mean", torch.zeros(()))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None, truncation: float | None = None,
                noise_mode: str = "random", noise_gen: torch.Generator | None = None) -> torch.Tensor:
        return self.synthesis(self.mapping(z, truncation), noise_mode, noise_gen)


# ---------------------------------------------------------------------- discriminator


class DBlock(nn.Module):
    """Residual D block (Fig. 7c): [N, a, r, r] -> [N, b, r/2, r/2];
    ``(conv3x3 -> lrelu -> blur + stride-2 conv3x3 -> lrelu  +  blur/2 -> conv1x1) / sqrt(2)``."""

    def __init__(self, a: int, b: int):
        super().__init__()
        self.conv0 = EqualizedConv2d(a, a, 3, padding=1, gain=1.0)
        self.conv1 = EqualizedConv2d(a, b, 3, stride=2, gain=1.0)
        self.skip = EqualizedConv2d(a, b, 1, bias=False, gain=1.0)

    def forward(self, x):
        s = self.skip(downsample2(x))  # [N, b, r/2, r/2]
        h = lrelu(self.conv0(x))
        h = _fir(h, 2, 1)  # blur: [N, a, r + 1, r + 1]
        h = lrelu(self.conv1(h))  # 3x3 stride 2, no padding: [N, b, r/2, r/2]
        return (s + h) * math.sqrt(0.5)


@NETS.register("stylegan2_d")
class StyleGAN2Discriminator(nn.Module):
    """StyleGAN2 residual discriminator: images [N, channels, R, R] -> logits [N].

    fromRGB (1x1) at R, residual blocks down to 4x4, then the epilogue: minibatch stddev
    (groups of ``mbstd_group``, ``mbstd_channels`` maps), conv3x3, fully connected, logit.
    """

    def __init__(self, resolution: int = 32, channels: int = 3, channel_base: int = 512, channel_max: int = 128,
                 mbstd_group: int = 4, mbstd_channels: int = 1):
        super().__init__()
        log_r = _check_resolution(resolution)
        width = _widths(channel_base, channel_max)
        self.resolution = resolution
        self.from_rgb = EqualizedConv2d(channels, width(resolution), 1, gain=1.0)
        self.blocks = nn.Sequential(*(DBlock(width(2**i), width(2 ** (i - 1))) for i in range(log_r, 2, -1)))
        c = width(4)
        self.mbstd = MinibatchStdDev(mbstd_group, mbstd_channels)
        self.conv = EqualizedConv2d(c + mbstd_channels, c, 3, padding=1, gain=1.0)
        self.fc = EqualizedLinear(c * 16, c, gain=1.0)
        self.out = EqualizedLinear(c, 1, gain=1.0)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.blocks(lrelu(self.from_rgb(x)))  # [N, C4, 4, 4]
        h = lrelu(self.conv(self.mbstd(h)))  # [N, C4, 4, 4]
        h = lrelu(self.fc(h.flatten(1)))  # [N, C4]
        return self.out(h).squeeze(1)  # [N]


# ------------------------------------------------------------------------- style mixing


def seed_z(G: nn.Module, seeds) -> torch.Tensor:
    """One z per seed [len(seeds), z_dim]: the first z of ``recipe.sample(G, n, seed)``."""
    return torch.cat([torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds])


@torch.no_grad()
def is_style_based(G: nn.Module) -> bool:
    """True for a style-based generator: a mapping and a synthesis network with ``num_ws`` style
    inputs (this module's generator, or anything shaped like it; DDP wrappers are looked through)."""
    G = getattr(G, "module", G)
    return all(hasattr(G, a) for a in ("mapping", "synthesis", "num_ws", "z_dim"))


def style_mix(G: nn.Module, seeds_coarse, seeds_fine, crossover_layer: int, truncation: float | None = None,
              noise_mode: str = "const") -> torch.Tensor:
    """A style-mixing grid (StyleGAN, Karras et al. 2019, sec. 3.1 and Fig. 3).

    Image [i, j] takes ws[:crossover_layer] (coarse styles: pose, shape) from
    ``seeds_coarse[i]`` and ws[crossover_layer:] (fine styles: colour, texture) from
    ``seeds_fine[j]``. Returns [len(seeds_coarse), len(seeds_fine), C, R, R]. With
    ``crossover_layer == G.num_ws`` row i is the plain image of seed ``seeds_coarse[i]``.
    """
    num_ws = G.num_ws
    if not isinstance(crossover_layer, int) or not 0 <= crossover_layer <= num_ws:
        raise UserError(f"crossover_layer must be an integer in 0..{num_ws} (this G has {num_ws} ws), "
                        f"got {crossover_layer!r}")
    if not len(seeds_coarse) or not len(seeds_fine):
        raise UserError("style_mix: give at least one coarse and one fine seed")
    dev = next(G.parameters()).device
    wc = G.mapping(seed_z(G, seeds_coarse).to(dev), truncation)  # [A, num_ws, w_dim]
    wf = G.mapping(seed_z(G, seeds_fine).to(dev), truncation)  # [B, num_ws, w_dim]
    a, b = len(wc), len(wf)
    ws = wc[:, None].repeat(1, b, 1, 1)  # [A, B, num_ws, w_dim]
    ws[:, :, crossover_layer:] = wf[None, :, crossover_layer:]
    img = G.synthesis(ws.flatten(0, 1), noise_mode=noise_mode)  # [A * B, C, R, R]
    return img.view(a, b, *img.shape[1:])
