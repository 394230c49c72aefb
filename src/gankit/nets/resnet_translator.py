"""ResNet-block translators (Johnson et al. 2016; CycleGAN, Zhu et al. 2017, appendix 7.2;
StarGAN, Choi et al. 2018, appendix) and StarGAN's discriminator with a domain classifier.

Translator: ``c7s1-k, d2k, d4k, R4k x n_blocks, u2k, uk, c7s1-C`` with reflection padding,
instance norm and tanh (CycleGAN uses 9 blocks at 256 px, 6 at 128 px; StarGAN 6). With
``num_classes > 0`` the target domain is one-hot encoded, spatially replicated and stacked onto
the input image (StarGAN sec. 3.1, "c is spatially replicated and concatenated with the input").
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import NETS
from .patchgan import norm_layer


class ResBlock(nn.Module):
    """Two 3x3 convs (reflection padding, norm, ReLU between) plus the identity."""

    def __init__(self, w: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(w, w, 3, bias=False), norm_layer(norm, w), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(w, w, 3, bias=False), norm_layer(norm, w))

    def forward(self, x):
        return x + self.body(x)


@NETS.register("resnet_translator_g")
class ResnetTranslator(nn.Module):
    """``x [N, in_channels, R, R]`` (+ domain ``c [N]`` when ``num_classes``) -> ``[N, channels, R, R]``.

    ``n_down`` stride-2 convs (capped so the bottleneck is at least 4x4) keep the work at a
    quarter of the resolution; ``num_classes`` is the number of domains (0: one-way translator).
    """

    def __init__(self, in_channels: int = 3, channels: int = 3, resolution: int = 256, ngf: int = 64,
                 n_blocks: int = 9, n_down: int = 2, num_classes: int = 0, norm: str = "instance"):
        super().__init__()
        self.in_channels, self.channels, self.resolution = in_channels, channels, resolution
        self.num_classes = num_classes
        n_down = max(0, min(n_down, int(math.log2(max(resolution, 4))) - 2))
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels + num_classes, ngf, 7, bias=False),
                                   norm_layer(norm, ngf), nn.ReLU(True)]
        w = ngf
        for _ in range(n_down):
            layers += [nn.Conv2d(w, 2 * w, 3, 2, 1, bias=False), norm_layer(norm, 2 * w), nn.ReLU(True)]
            w *= 2
        layers += [ResBlock(w, norm) for _ in range(n_blocks)]
        for _ in range(n_down):
            layers += [nn.ConvTranspose2d(w, w // 2, 3, 2, 1, output_padding=1, bias=False),
                       norm_layer(norm, w // 2), nn.ReLU(True)]
            w //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        for m in self.modules():  # N(0, 0.02), as CycleGAN's reference code initialises
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            if c is None:
                raise ValueError("this translator needs a target domain c [N]")
            code = F.one_hot(c.long(), self.num_classes).to(x.dtype)  # [N, K]
            x = torch.cat([x, code[:, :, None, None].expand(-1, -1, *x.shape[-2:])], 1)
        return self.net(x)


@NETS.register("stargan_d")
class StarGANDiscriminator(nn.Module):
    """StarGAN's D (Choi et al. 2018, appendix, Table 5): ``n_layers`` 4x4 stride-2 convs with
    LeakyReLU(0.01) and no normalisation, then two heads on the shared trunk:

    * ``src``: a 3x3 conv -> a PatchGAN map of real/fake scores ``[N, 1, h, w]``;
    * ``cls``: an ``h x w`` conv -> domain logits ``[N, num_classes]`` (D_cls of eq. 2).

    ``n_layers`` is capped so the trunk ends at 2x2 or larger.
    """

    def __init__(self, channels: int = 3, resolution: int = 128, ndf: int = 64, num_classes: int = 5,
                 n_layers: int = 6, max_mult: int = 16):
        super().__init__()
        self.num_classes = num_classes
        n = max(1, min(n_layers, int(math.log2(max(resolution, 4))) - 1))
        layers: list[nn.Module] = []
        w_in, w = channels, ndf
        for i in range(n):
            w = ndf * min(2 ** i, max_mult)
            layers += [nn.Conv2d(w_in, w, 4, 2, 1), nn.LeakyReLU(0.01, True)]
            w_in = w
        self.trunk = nn.Sequential(*layers)
        side = resolution // 2 ** n
        self.src = nn.Conv2d(w, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(w, num_classes, side, bias=False)

    def forward(self, x: torch.Tensor) -> dict:
        h = self.trunk(x)
        return {"logit": self.src(h), "cls": self.cls(h).flatten(1)}  # [N, 1, h, w], [N, K]
