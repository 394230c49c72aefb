"""DCGAN (Radford et al. 2015): all-convolutional G and D; resolution is an argument.

G: z -> 4x4 by a transposed conv, then doubling blocks (ConvT 4/2/1, BN, ReLU) to the
resolution, tanh. D mirrors it: strided convs (4/2/1) with LeakyReLU(0.2) and BN (none on
the first), then a 4x4 valid conv to one logit. Width halves/doubles at each scale, as in
the pytorch/examples DCGAN (ngf = ndf = 64 there). With ``num_classes > 0`` both become
conditional (Mirza & Osindero 2014): G gets a one-hot label concatenated to z, D gets it as
constant extra input channels.

D's options for the families that ran DCGAN-style nets: ``aux_classes`` (ACGAN's auxiliary
classifier, a linear layer on the 4x4 features beside the source logit, as the final FC with
1 + K outputs of Odena et al. 2017, appendix), ``dropout`` (their D drops 0.5 after every
leaky ReLU; 0 keeps the pytorch/examples layout, and the state-dict keys of older checkpoints),
``q_cat`` / ``q_cont`` (InfoGAN's Q head).

``sndcgan_d``: the "standard CNN" discriminator of SNGAN (Miyato et al. 2018, table 3b; the
authors' chainer-gan-lib ``SNDCGANDiscriminator``): a 3x3 conv, then per scale a 4x4 stride-2
conv and a 3x3 conv, leaky ReLU 0.1 after each, no batch norm, spectral norm on every layer,
a linear layer on the 4x4 features. With ``dcgan_g(out_conv=True)`` it is the paper's
standard-CNN SNGAN, as cheap per width as DCGAN's nets up to the extra 3x3 convs.
"""
from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from ..registry import NETS
from .layers import (
    ConditionalBatchNorm2d,
    SelfAttention,
    maybe_sn,
    mixture_groups,
    mixture_onehot,
    spectral_norm,
    split_code_heads,
)


def _levels(resolution: int) -> int:
    n = math.log2(resolution / 4)
    if resolution < 8 or not n.is_integer():
        raise ValueError(f"DCGAN resolution must be a power of two >= 8, got {resolution}")
    return int(n)


def init_dcgan_weights(m: nn.Module) -> None:
    """N(0, 0.02) conv weights, N(1, 0.02) BN scales, as in the DCGAN paper."""
    if hasattr(m, "parametrizations"):  # spectrally normalised already (self-attention): keeps its init
        return
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d) and m.affine:  # conditional BN: its embeddings set scale / shift
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


@NETS.register("dcgan_g")
class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int = 100, resolution: int = 32, channels: int = 3, ngf: int = 64,
                 num_classes: int = 0, max_channels: int = 512, mixture: int | list[int] = 0,
                 out_conv: bool = False, cbn: bool = False, sn: bool = False, attention_res: int = 0):
        """``mixture``: K or group sizes [K1, K2, ...]: a mixture of generators sharing all but
        the first layer, the components picked from z's first coordinates
        (:func:`gankit.nets.layers.mixture_onehot`; not in DCGAN, off by default).
        ``out_conv``: the last transposed conv keeps ``ngf / 2`` channels (BN, ReLU) and a 3x3
        conv makes the image, as the "standard CNN" generator of Miyato et al. 2018 (table 3a;
        chainer-gan-lib's DCGANGenerator); off: the pytorch/examples layout and its keys.
        ``cbn``: with ``num_classes``, the label sets every batch norm's scale and shift
        (conditional BN, Miyato & Koyama 2018's G) instead of being concatenated to z.
        ``sn``: spectral norm on every conv (SAGAN normalises G too); ``attention_res``: a
        self-attention block after the layer of that size (SAGAN; 0: none)."""
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        self.cbn = bool(cbn and num_classes)
        self.mixture_groups = mixture_groups(mixture, z_dim)
        n = _levels(resolution)
        widths = [min(ngf * 2 ** (n - 1 - i), max_channels) for i in range(n)]  # 4x4 ... R/2

        sizes = [4 * 2**i for i in range(n + bool(out_conv))]  # hidden layer sizes: 4 ... R/2 (R with out_conv)
        if attention_res and attention_res not in sizes[1:]:
            raise ValueError(f"attention_res must be one of {sizes[1:]} (G's layer sizes at resolution "
                             f"{resolution}), got {attention_res}")

        def bn(c: int) -> nn.Module:
            return ConditionalBatchNorm2d(c, num_classes) if self.cbn else nn.BatchNorm2d(c)

        def attn(size: int, c: int) -> list[nn.Module]:
            return [SelfAttention(c, sn=sn)] if size == attention_res else []

        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim + (0 if self.cbn else num_classes), widths[0], 4, 1, 0, bias=False),
            bn(widths[0]),
            nn.ReLU(True),
        ]
        for i, (a, b) in enumerate(itertools.pairwise(widths)):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), bn(b), nn.ReLU(True), *attn(sizes[i + 1], b)]
        if out_conv:
            last = max(widths[-1] // 2, 1)
            layers += [nn.ConvTranspose2d(widths[-1], last, 4, 2, 1, bias=False), bn(last), nn.ReLU(True),
                       *attn(resolution, last), nn.Conv2d(last, channels, 3, 1, 1), nn.Tanh()]
        else:
            layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)
        if sn:  # after the init: it draws the raw weights that spectral norm then divides
            for m in self.net:
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                    spectral_norm(m)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.mixture_groups:
            z, _ = mixture_onehot(z, self.mixture_groups)
        if self.cbn:
            h = z[:, :, None, None]
            for m in self.net:
                h = m(h, y) if isinstance(m, ConditionalBatchNorm2d) else m(h)
            return h  # [N, C, R, R]
        if self.num_classes:
            z = torch.cat([z, nn.functional.one_hot(y, self.num_classes).to(z.dtype)], 1)
        return self.net(z[:, :, None, None])  # [N, C, R, R]


@NETS.register("dcgan_d")
class DCGANDiscriminator(nn.Module):
    def __init__(self, resolution: int = 32, channels: int = 3, ndf: int = 64, num_classes: int = 0,
                 max_channels: int = 512, pack: int = 1, q_cat: list[int] = (), q_cont: int = 0,
                 aux_classes: int = 0, dropout: float = 0.0):
        """``q_cat`` / ``q_cont``: InfoGAN's Q head (categorical code sizes, continuous code
        count) on the 4x4 features; ``aux_classes``: ACGAN's class logits [N, K] on the same
        features; both returned by ``D(x, heads=True)``. ``dropout``: the probability of the
        dropout after each leaky ReLU (ACGAN's D: 0.5; 0: none, the DCGAN layout)."""
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.num_classes, self.pack, self.aux_classes = num_classes, pack, int(aux_classes)
        self.q_cat, self.q_cont = [int(k) for k in q_cat], int(q_cont)
        if pack > 1 and (self.q_cat or self.q_cont or self.aux_classes):
            raise ValueError("pack > 1 cannot be combined with code or class heads")
        n = _levels(resolution)
        widths = [min(ndf * 2**i, max_channels) for i in range(n)]  # R/2 ... 4x4
        c_in = (channels + num_classes) * pack
        def drop() -> list[nn.Module]:  # none at 0: the module indices (state-dict keys) stay as before
            return [nn.Dropout(dropout)] if dropout > 0 else []

        layers: list[nn.Module] = [nn.Conv2d(c_in, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True), *drop()]
        for a, b in itertools.pairwise(widths):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, True), *drop()]
        layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)]
        self.net = nn.Sequential(*layers)
        q_out = sum(self.q_cat) + 2 * self.q_cont  # categorical logits, then means and log-stds
        # InfoGAN's Q (Chen et al. 2016, appendix C.1): FC - BN - leaky ReLU - FC on D's features
        hidden = min(4 * widths[-1], 256)
        self.q = nn.Sequential(nn.Flatten(), nn.Linear(widths[-1] * 16, hidden), nn.BatchNorm1d(hidden),
                               nn.LeakyReLU(0.1), nn.Linear(hidden, q_out)) if q_out else None
        # ACGAN: the class logits share D's last features with the source logit (one FC, 1 + K outputs)
        self.aux = nn.Sequential(nn.Flatten(), nn.Linear(widths[-1] * 16, self.aux_classes)) if self.aux_classes else None
        self.apply(init_dcgan_weights)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, heads: bool = False):
        if self.num_classes:
            onehot = nn.functional.one_hot(y, self.num_classes).to(x.dtype)
            x = torch.cat([x, onehot[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
        if self.pack > 1:  # PacGAN: stack `pack` samples along channels
            x = x.reshape(len(x) // self.pack, -1, *x.shape[2:])
        if not heads:
            return self.net(x).flatten()  # [N / pack] logits
        h = self.net[:-1](x)  # [N, C, 4, 4] features
        out = {"logit": self.net[-1](h).flatten(), "features": h}  # as the hooked last-layer input
        if self.q is not None:
            out.update(split_code_heads(self.q(h), self.q_cat, self.q_cont))
        if self.aux is not None:
            out["aux"] = self.aux(h)  # [N, aux_classes] class logits
        return out


def _normal(m: nn.Module, sn: bool) -> nn.Module:
    """N(0, 0.02) weights (the authors' initializer), zero bias, then spectral norm if ``sn``."""
    nn.init.normal_(m.weight, 0.0, 0.02)
    nn.init.zeros_(m.bias)
    return maybe_sn(m, sn)


@NETS.register("sndcgan_d")
class SNDCGANDiscriminator(nn.Module):
    projection = True  # num_classes > 0 conditions D by projection (the `projection` recipe checks)

    def __init__(self, resolution: int = 32, channels: int = 3, ndf: int = 64, max_channels: int = 512,
                 slope: float = 0.1, sn: bool = True, num_classes: int = 0, attention_res: int = 0):
        """Widths ``ndf * 2**i`` (capped at ``max_channels``) from full resolution down to 4x4:
        ndf = 64 at 32 px is the paper's 64-128-256-512. ``slope``: the leaky ReLU's (the
        paper's table: 0.1; chainer's default, which the authors' code leaves in place, is 0.2).
        ``sn=False``: the same layers without spectral norm (chainer-gan-lib's WGANDiscriminator,
        which its WGAN-GP, DRAGAN and Cramer GAN train). ``num_classes``: the projection head
        ``+ <embed(y), phi(x)>`` (Miyato & Koyama 2018, sec. 3) with phi the last features summed
        over positions, as the authors' ResNet D (an embedding of the flattened 4x4 features made
        D win outright on digits: class acc 0.998 but recall 0.07, FID 10.7 at 12,000 steps).
        ``attention_res``: a self-attention block after the scale of that size (SAGAN; 0: none)."""
        super().__init__()
        self.num_classes = num_classes
        n = _levels(resolution)
        widths = [min(ndf * 2**i, max_channels) for i in range(n + 1)]  # R ... 4x4
        act = lambda: nn.LeakyReLU(slope, True)
        norm = lambda m: _normal(m, sn)
        sizes = [resolution // 2**i for i in range(1, n + 1)]  # after each scale: R/2 ... 4
        if attention_res and attention_res not in sizes[:-1]:
            raise ValueError(f"attention_res must be one of {sizes[:-1]} (D's feature sizes at resolution "
                             f"{resolution}), got {attention_res}")
        layers: list[nn.Module] = [norm(nn.Conv2d(channels, widths[0], 3, 1, 1)), act()]
        for size, (a, b) in zip(sizes, itertools.pairwise(widths)):
            layers += [norm(nn.Conv2d(a, b, 4, 2, 1)), act(), norm(nn.Conv2d(b, b, 3, 1, 1)), act()]
            layers += [SelfAttention(b, sn=sn)] if size == attention_res else []
        self.net = nn.Sequential(*layers, nn.Flatten())
        self.fc = norm(nn.Linear(widths[-1] * 16, 1))
        self.embed = None
        if num_classes:
            embed = nn.Embedding(num_classes, widths[-1])
            nn.init.normal_(embed.weight, 0.0, 0.02)
            self.embed = maybe_sn(embed, sn)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, heads: bool = False):
        feat = self.net(x)  # [N, 16 * widths[-1]] phi(x)
        logit = self.fc(feat).flatten()  # [N]
        if self.embed is not None:
            if y is None:
                raise ValueError("this discriminator has a projection head: pass labels y")
            pooled = feat.view(len(feat), -1, 16).sum(2)  # [N, widths[-1]] summed over the 4x4 positions
            logit = logit + (self.embed(y) * pooled).sum(1)  # + y^T V phi(x)
        return {"logit": logit, "features": feat} if heads else logit  # features: for CR / feature matching
