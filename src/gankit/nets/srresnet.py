"""SRResNet / SRGAN networks (Ledig et al. 2017, fig. 4) and the offline content-loss features.

* ``srresnet_g``: 9x9 conv + PReLU; ``n_blocks`` residual blocks (3x3 conv, BN, PReLU, 3x3
  conv, BN, + identity); 3x3 conv + BN + the long skip; ``log2(scale)`` sub-pixel upsampling
  blocks (3x3 conv to 4x channels, PixelShuffle(2), PReLU; Shi et al. 2016); 9x9 conv to the
  image, tanh (images live in [-1, 1] here). The convs before each PixelShuffle start from ICNR
  (Aitken et al. 2017, :func:`icnr_`): the four sub-pixel filters of every output channel are
  equal, so the untrained net upsamples like nearest neighbour, with no checkerboard to unlearn.
  ``bicubic_skip`` (a departure from the paper, VDSR-style global residual learning, Kim et al.
  2016): the net adds its output to the bicubic upsampling of the input, so a short CPU run
  starts at bicubic quality and learns only the missing detail; the 1e6-iteration schedule of
  the paper does without it. ``norm="none"`` drops every batch norm (EDSR, Lim et al. 2017:
  BN normalises away the range flexibility SR needs and its running statistics differ between
  64 px training crops and whole photos), with ``res_scale`` multiplying each residual branch
  (EDSR's 0.1 for wide nets; 1 = the paper's). Low-res ``[N, C, R/s, R/s]`` -> ``[N, C, R, R]``.
* ``srgan_d``: eight 3x3 convs k64 .. k512 (strides 1, 2 alternating; BN from the second;
  LeakyReLU 0.2), dense 1024, LeakyReLU, dense 1 -> one logit per image ``[N]``.
* :class:`RandomFeatures`: a fixed, seeded random conv net whose activations stand in for VGG
  features in the content loss when no VGG weights are available offline.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..registry import NETS


def icnr_(conv: nn.Conv2d, r: int = 2) -> nn.Conv2d:
    """ICNR init (Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution") in place.

    A conv feeding ``PixelShuffle(r)`` has ``C * r^2`` outputs; PixelShuffle puts outputs
    ``c * r^2 .. c * r^2 + r^2 - 1`` on the r x r sub-pixel grid of channel ``c``. Drawing one
    Kaiming kernel per ``c`` and repeating it over those ``r^2`` makes the shuffled output
    constant on each r x r cell at step 0 (nearest-neighbour upsampling of a normal conv).
    """
    out_c = conv.out_channels
    if out_c % (r * r):
        raise ValueError(f"ICNR needs out_channels divisible by {r * r}, got {out_c}")
    base = torch.empty(out_c // (r * r), *conv.weight.shape[1:])
    nn.init.kaiming_normal_(base)  # the default of the SR code that uses ICNR (PReLU ~ ReLU)
    with torch.no_grad():
        conv.weight.copy_(base.repeat_interleave(r * r, dim=0))
        if conv.bias is not None:
            conv.bias.zero_()
    return conv


NORMS = ("batch", "none")


def _norm(kind: str, w: int) -> nn.Module:
    return nn.BatchNorm2d(w) if kind == "batch" else nn.Identity()


class _Residual(nn.Module):
    def __init__(self, w: int, norm: str = "batch", res_scale: float = 1.0):
        super().__init__()
        self.res_scale = res_scale
        self.body = nn.Sequential(nn.Conv2d(w, w, 3, 1, 1), _norm(norm, w), nn.PReLU(w),
                                  nn.Conv2d(w, w, 3, 1, 1), _norm(norm, w))

    def forward(self, x):
        return x + self.res_scale * self.body(x)


@NETS.register("srresnet_g")
class SRResNet(nn.Module):
    """``x [N, in_channels, R/scale, R/scale]`` -> ``[N, channels, R, R]`` (``resolution`` is the output size)."""

    def __init__(self, in_channels: int = 3, channels: int = 3, resolution: int = 96, scale: int = 4,
                 ngf: int = 64, n_blocks: int = 16, bicubic_skip: bool = False, norm: str = "batch",
                 res_scale: float = 1.0):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"srresnet_g norm must be one of {', '.join(NORMS)}, got {norm!r}")
        ups = int(math.log2(scale))
        if bicubic_skip and in_channels != channels:
            raise ValueError(f"srresnet_g bicubic_skip needs in_channels == channels, got {in_channels}, {channels}")
        self.bicubic_skip = bicubic_skip
        if scale < 2 or 2 ** ups != scale:
            raise ValueError(f"srresnet_g scale must be a power of two >= 2, got {scale}")
        if resolution % scale:
            raise ValueError(f"srresnet_g resolution {resolution} is not divisible by scale {scale}")
        self.in_channels, self.channels, self.resolution, self.scale = in_channels, channels, resolution, scale
        self.head = nn.Sequential(nn.Conv2d(in_channels, ngf, 9, 1, 4), nn.PReLU(ngf))
        self.blocks = nn.Sequential(*[_Residual(ngf, norm, res_scale) for _ in range(n_blocks)],
                                    nn.Conv2d(ngf, ngf, 3, 1, 1), _norm(norm, ngf))
        up: list[nn.Module] = []
        for _ in range(ups):
            up += [icnr_(nn.Conv2d(ngf, 4 * ngf, 3, 1, 1)), nn.PixelShuffle(2), nn.PReLU(ngf)]
        self.up = nn.Sequential(*up)
        if bicubic_skip:  # a residual over bicubic: start near it (small last conv), no tanh squashing
            last = nn.Conv2d(ngf, channels, 9, 1, 4)
            with torch.no_grad():
                last.weight.mul_(0.1)
                last.bias.zero_()
            self.tail = nn.Sequential(last)
        else:
            self.tail = nn.Sequential(nn.Conv2d(ngf, channels, 9, 1, 4), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)  # [N, ngf, r, r]
        h = h + self.blocks(h)  # the long skip of fig. 4
        y = self.tail(self.up(h))  # [N, channels, r * scale, r * scale]
        if self.bicubic_skip:
            up = nn.functional.interpolate(x.float(), scale_factor=self.scale, mode="bicubic", align_corners=False)
            y = (up.to(y.dtype) + y).clamp(-1, 1)
        return y


@NETS.register("srgan_d")
class SRGANDiscriminator(nn.Module):
    """``x [N, channels, R, R]`` -> logits ``[N]`` (fig. 4, lower half)."""

    def __init__(self, channels: int = 3, resolution: int = 96, ndf: int = 64, max_mult: int = 8):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 3, 1, 1), nn.LeakyReLU(0.2, True)]
        w, side = ndf, resolution
        for i in range(7):  # k64s2, k128s1, k128s2, k256s1, k256s2, k512s1, k512s2
            stride = 2 if i % 2 == 0 else 1
            wo = ndf * min(2 ** ((i + 1) // 2), max_mult)
            layers += [nn.Conv2d(w, wo, 3, stride, 1), nn.BatchNorm2d(wo), nn.LeakyReLU(0.2, True)]
            w, side = wo, (side + 1) // 2 if stride == 2 else side
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(w * side * side, 16 * ndf), nn.LeakyReLU(0.2, True),
                                  nn.Linear(16 * ndf, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)  # [N]


class RandomFeatures(nn.Module):
    """A frozen random conv net (3x3 convs with He-normal weights from a seeded numpy PCG64
    stream, ReLU, a stride-2 conv per stage): the same weights on every machine, no download.

    Random-weight conv features preserve much of the perceptual structure of trained ones for
    loss purposes (they respond to edges and texture at several scales; e.g. Ulyanov et al.
    2018 on untrained nets as priors), so they are the offline default of the SRGAN content
    loss. ``forward`` returns the activations of every stage, coarse last; with ``full_res``
    the first, stride-1 conv's activation at the input's own resolution comes first, so a
    period-2 pattern (PixelShuffle's checkerboard), which every strided stage aliases away, is
    still penalised.
    """

    def __init__(self, channels: int = 3, widths: tuple[int, ...] = (32, 64, 128), seed: int = 0,
                 full_res: bool = False):
        super().__init__()
        self.full_res = full_res
        rng = np.random.default_rng(seed)
        self.stages = nn.ModuleList()
        w_in = channels
        for w in widths:
            convs = []
            for stride in (1, 2):
                conv = nn.Conv2d(w_in, w, 3, stride, 1)
                conv.weight.data = torch.from_numpy(
                    (rng.standard_normal((w, w_in, 3, 3)) * np.sqrt(2.0 / (w_in * 9))).astype(np.float32))
                conv.bias.data.zero_()
                convs += [conv, nn.ReLU()]
                w_in = w
            self.stages.append(nn.Sequential(*convs))
        self.requires_grad_(False).eval()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, s in enumerate(self.stages):
            if i == 0 and self.full_res:
                x = s[1](s[0](x))  # [N, widths[0], H, W]: stride 1, full resolution
                out.append(x)
                x = s[3](s[2](x))
            else:
                x = s(x)
            out.append(x)
        return out
