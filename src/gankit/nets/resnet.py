"""SNGAN ResNet G and D (Miyato et al. 2018, appendix B, Table 4; after Gulrajani et al. 2017).

G: z -> Linear -> [ngf, 4, 4] -> up-ResBlocks (BN, ReLU, 2x nearest upsample, conv3x3, BN,
ReLU, conv3x3; 1x1 conv shortcut) to the resolution -> BN, ReLU, conv3x3, tanh.
D: an "optimized" first down-block, down-ResBlocks to 8x8, two plain ResBlocks, ReLU, global
sum pooling, Linear -> logit; spectral norm on every layer (``sn``).

Options on the same two classes (resolution and width are constructor arguments):

* ``attention_res``: a SAGAN self-attention block (Zhang et al. 2019) after the block whose
  output is ``attention_res`` pixels wide (G and D);
* ``num_classes`` (G): conditional batch norm in every block (Miyato & Koyama 2018);
* ``num_classes`` (D): projection head ``+ <embed(y), phi(x)>`` (Miyato & Koyama 2018, sec. 3);
* ``aux_classes`` (D): auxiliary classifier head (ACGAN, Odena et al. 2017);
* ``q_cat`` / ``q_cont`` (D): InfoGAN's Q head (Chen et al. 2016) on D's features;
* ``pack`` (D): PacGAN packing (Lin et al. 2018).

``D(x, y)`` returns logits [N / pack]; ``D(x, y, heads=True)`` returns a dict with
``logit``, ``features`` [N, ndf] and the optional heads (``aux``, ``q_cat``, ``q_mean``,
``q_logstd``), so recipes get every head from one forward pass.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import NETS
from .layers import ConditionalBatchNorm2d, SelfAttention, maybe_sn, split_code_heads
from .layers import pack as pack_samples


def _check_resolution(resolution: int) -> int:
    n = math.log2(resolution / 4) if resolution > 0 else -1
    if resolution < 8 or not float(n).is_integer():
        raise ValueError(f"ResNet resolution must be a power of two >= 8, got {resolution}")
    return int(n)


def _init(m: nn.Module, gain: float = 1.0) -> nn.Module:
    """Xavier-uniform init as in the SNGAN code (gain sqrt(2) inside residual branches)."""
    nn.init.xavier_uniform_(m.weight, gain)
    if getattr(m, "bias", None) is not None:
        nn.init.zeros_(m.bias)
    return m


def _conv(a: int, b: int, k: int, sn: bool, gain: float = 1.0) -> nn.Module:
    return maybe_sn(_init(nn.Conv2d(a, b, k, 1, k // 2), gain), sn)


class _BN(nn.Module):
    """BatchNorm2d, or its conditional version when the block is class-conditional."""

    def __init__(self, c: int, num_classes: int):
        super().__init__()
        self.bn = ConditionalBatchNorm2d(c, num_classes) if num_classes else nn.BatchNorm2d(c)
        self.cond = num_classes > 0

    def forward(self, x, y):
        return self.bn(x, y) if self.cond else self.bn(x)


class GBlock(nn.Module):
    """Up-ResBlock: [N, a, H, W] -> [N, b, 2H, 2W]."""

    def __init__(self, a: int, b: int, num_classes: int = 0, sn: bool = False):
        super().__init__()
        self.bn1, self.bn2 = _BN(a, num_classes), _BN(b, num_classes)
        self.c1, self.c2 = _conv(a, b, 3, sn, math.sqrt(2)), _conv(b, b, 3, sn, math.sqrt(2))
        self.sc = _conv(a, b, 1, sn)

    def forward(self, x, y=None):
        h = F.interpolate(F.relu(self.bn1(x, y)), scale_factor=2.0, mode="nearest")
        h = self.c2(F.relu(self.bn2(self.c1(h), y)))
        return h + self.sc(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DBlock(nn.Module):
    """Down-ResBlock: [N, a, H, W] -> [N, b, H/2, W/2] (or same size when ``down`` is False).

    The ``first`` ("optimized") block takes the image: no ReLU before its first conv, and
    its shortcut pools before the 1x1 conv (SNGAN's OptimizedDisBlock).
    """

    def __init__(self, a: int, b: int, down: bool = True, first: bool = False, sn: bool = True):
        super().__init__()
        self.down, self.first = down, first
        self.c1, self.c2 = _conv(a, b, 3, sn, math.sqrt(2)), _conv(b, b, 3, sn, math.sqrt(2))
        self.sc = _conv(a, b, 1, sn) if (down or a != b) else None

    def forward(self, x):
        h = x if self.first else F.relu(x)
        h = self.c2(F.relu(self.c1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.first:
            s = self.sc(F.avg_pool2d(x, 2))
        elif self.sc is not None:
            s = self.sc(x)
            if self.down:
                s = F.avg_pool2d(s, 2)
        return h + s


@NETS.register("resnet_g")
class ResNetGenerator(nn.Module):
    """SNGAN ResNet generator: z [N, z_dim] (+ labels y [N]) -> images [N, channels, R, R] in [-1, 1].

    Args:
        z_dim: noise size (128 in the paper).
        resolution: output size R, a power of two >= 8 (one up-block per doubling from 4).
        channels: image channels.
        ngf: width of every block (256 for CIFAR-10 in the paper).
        num_classes: > 0 makes every BN class-conditional (Miyato & Koyama 2018).
        attention_res: add a self-attention block at this feature size (0: none; SAGAN).
        sn: spectral norm on G's layers too (SAGAN; off in SNGAN).
    """

    def __init__(self, z_dim: int = 128, resolution: int = 32, channels: int = 3, ngf: int = 256,
                 num_classes: int = 0, attention_res: int = 0, sn: bool = False):
        super().__init__()
        n_up = _check_resolution(resolution)
        sizes = [8 * 2**i for i in range(n_up)]  # output size of each up-block
        if attention_res and attention_res not in sizes:
            raise ValueError(f"attention_res must be one of {sizes} (G feature sizes at resolution "
                             f"{resolution}), got {attention_res}")
        self.z_dim, self.num_classes, self.ngf = z_dim, num_classes, ngf
        self.fc = maybe_sn(_init(nn.Linear(z_dim, 4 * 4 * ngf)), sn)
        self.blocks = nn.ModuleList(GBlock(ngf, ngf, num_classes, sn) for _ in sizes)
        self.attn = nn.ModuleDict({str(s): SelfAttention(ngf, sn=sn) for s in sizes if s == attention_res})
        self.sizes = sizes
        self.bn = nn.BatchNorm2d(ngf)
        self.out = _conv(ngf, channels, 3, sn)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes and y is None:
            raise ValueError("this generator is class-conditional: pass labels y")
        h = self.fc(z).view(len(z), self.ngf, 4, 4)  # [N, ngf, 4, 4]
        for size, block in zip(self.sizes, self.blocks):
            h = block(h, y)  # [N, ngf, size, size]
            if str(size) in self.attn:
                h = self.attn[str(size)](h)
        return torch.tanh(self.out(F.relu(self.bn(h))))  # [N, C, R, R]


@NETS.register("resnet_d")
class ResNetDiscriminator(nn.Module):
    """SNGAN ResNet discriminator: images [N, channels, R, R] (+ labels y [N]) -> logits [N / pack].

    Args:
        resolution: input size R (a power of two >= 8); down-blocks run to 8x8 (4x4 at R = 8),
            then two plain blocks, as SNGAN's CIFAR-10 D at R = 32.
        channels: image channels.
        ndf: width of every block (128 for CIFAR-10 in the paper).
        sn: spectral norm on every layer (off for WGAN-GP, whose critic is constrained by GP).
        num_classes: > 0 adds the projection head (Miyato & Koyama 2018).
        aux_classes: > 0 adds an auxiliary classifier head with that many classes (ACGAN).
        q_cat: InfoGAN categorical code sizes, e.g. [10]; q_cont: continuous code count.
        attention_res: add a self-attention block at this feature size (0: none; SAGAN).
        pack: PacGAN packing degree (consecutive ``pack`` images are scored together).
    """

    projection = True  # num_classes > 0 conditions D by projection (the `projection` recipe checks)

    def __init__(self, resolution: int = 32, channels: int = 3, ndf: int = 128, sn: bool = True,
                 num_classes: int = 0, aux_classes: int = 0, q_cat: list[int] = (), q_cont: int = 0,
                 attention_res: int = 0, pack: int = 1):
        super().__init__()
        n = _check_resolution(resolution)
        n_down = max(n - 1, 1)  # 32 -> 16 -> 8 at R = 32
        sizes = [resolution // 2 ** (i + 1) for i in range(n_down)] + [resolution // 2**n_down] * 2
        if attention_res and attention_res not in sizes[:n_down]:
            raise ValueError(f"attention_res must be one of {sorted(set(sizes[:n_down]))} (D feature "
                             f"sizes at resolution {resolution}), got {attention_res}")
        if pack > 1 and (num_classes or aux_classes or q_cat or q_cont):
            raise ValueError("pack > 1 cannot be combined with class or code heads")
        if pack < 1:
            raise ValueError(f"pack must be >= 1, got {pack}")
        self.num_classes, self.aux_classes, self.pack, self.ndf = num_classes, aux_classes, pack, ndf
        self.q_cat, self.q_cont = [int(k) for k in q_cat], int(q_cont)
        blocks = [DBlock(channels * pack, ndf, down=True, first=True, sn=sn)]
        blocks += [DBlock(ndf, ndf, down=True, sn=sn) for _ in range(n_down - 1)]
        blocks += [DBlock(ndf, ndf, down=False, sn=sn) for _ in range(2)]
        self.blocks = nn.ModuleList(blocks)
        self.sizes = sizes
        self.attn_after = sizes.index(attention_res) if attention_res else -1
        self.attn = SelfAttention(ndf, sn=sn) if attention_res else None
        self.fc = maybe_sn(_init(nn.Linear(ndf, 1)), sn)
        self.embed = maybe_sn(_init(nn.Embedding(num_classes, ndf)), sn) if num_classes else None
        self.aux = maybe_sn(_init(nn.Linear(ndf, aux_classes)), sn) if aux_classes else None
        q_out = sum(self.q_cat) + 2 * self.q_cont  # categorical logits, then means and log-stds
        # InfoGAN's Q (Chen et al. 2016, appendix C.1: FC - BN - leaky ReLU - FC); BN also tames
        # the scale of the sum-pooled features, which would otherwise saturate the log-stds.
        self.q = nn.Sequential(nn.Linear(ndf, ndf), nn.BatchNorm1d(ndf), nn.LeakyReLU(0.1),
                               nn.Linear(ndf, q_out)) if q_out else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, heads: bool = False):
        h = pack_samples(x, self.pack)  # [N / pack, pack * C, R, R]
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attn_after:
                h = self.attn(h)
        feat = F.relu(h).sum(dim=(2, 3))  # [N', ndf]  global sum pooling
        logit = self.fc(feat).squeeze(1)  # [N']
        if self.embed is not None:
            if y is None:
                raise ValueError("this discriminator has a projection head: pass labels y")
            logit = logit + (self.embed(y) * feat).sum(1)  # + y^T V phi(x)  (Miyato & Koyama 2018)
        if not heads:
            return logit
        out = {"logit": logit, "features": feat}
        if self.aux is not None:
            out["aux"] = self.aux(feat)  # [N, aux_classes] class logits
        if self.q is not None:
            out.update(split_code_heads(self.q(feat), self.q_cat, self.q_cont))
        return out
