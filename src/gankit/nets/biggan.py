"""BigGAN G and D (Brock et al. 2019, "Large Scale GAN Training for High Fidelity Natural Image
Synthesis", sec. 3 and appendix B, Fig. 15 / Tables 4-5).

G: hierarchical latent (sec. 3 / appendix B): z is split into one chunk per up-block plus one
for the first linear layer; every block's conditional batch norms get gains and biases from
``[shared class embedding (sec. 3: one embedding for all layers), its z chunk]``. ResNet
up-blocks (BN, ReLU, 2x nearest up, conv3x3, BN, ReLU, conv3x3; 1x1 shortcut), a
self-attention block (Zhang et al. 2019) at ``attention_res``, then BN, ReLU, conv3x3, tanh.
D: ResNet down-blocks to 4x4, one more block, ReLU, global sum pooling, linear + projection
``<embed(y), phi(x)>`` (Miyato & Koyama 2018). Spectral norm on every conv / linear of G and
D (sec. 4, after SAGAN); orthogonal initialisation (appendix B). The cBN gain / bias
projections are the plain linear layers of :class:`gankit.nets.layers.ConditionalBatchNorm2d`
(gain = 1 + Linear(c), bias = Linear(c)); the official code also spectrally normalises them.

Widths: ``ch * mult`` with per-block multipliers, halving towards the output in G and
doubling with depth in D, capped at 16 (BigGAN's 128 px G is ch x [16, 8, 4, 2, 1]); the
paper's ch is 96, the CPU default here is 32.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import NETS
from .layers import ConditionalBatchNorm2d, SelfAttention, spectral_norm
from .resnet import DBlock


def _blocks(resolution: int) -> int:
    n = math.log2(resolution / 4) if resolution > 0 else -1
    if resolution < 8 or not float(n).is_integer():
        raise ValueError(f"BigGAN resolution must be a power of two >= 8, got {resolution}")
    return int(n)


def _ortho_reinit(net: nn.Module) -> None:
    """Orthogonal init (appendix B; BigGAN-PyTorch ``init_weights`` with ``D_init='ortho'``) of
    every conv / linear weight of ``net`` built elsewhere (the SNGAN-style ``resnet.DBlock`` inits
    Xavier), biases zeroed; a spectral-normalised weight's raw ``original`` is re-drawn and its
    power-iteration vectors re-converged (15 steps, as at construction) to the new weight."""
    for m in net.modules():
        if not isinstance(m, (nn.Conv2d, nn.Linear)):
            continue
        sn = getattr(getattr(m, "parametrizations", None), "weight", None)
        with torch.no_grad():
            nn.init.orthogonal_(sn.original if sn is not None else m.weight)
            if m.bias is not None:
                m.bias.zero_()
            if sn is not None:
                was = m.training
                m.train()
                for _ in range(15):  # each training-mode read of .weight runs one power iteration
                    _ = m.weight
                m.train(was)


def _sn(m: nn.Module) -> nn.Module:
    """Orthogonal init (appendix B), then spectral norm."""
    nn.init.orthogonal_(m.weight)
    if getattr(m, "bias", None) is not None:
        nn.init.zeros_(m.bias)
    return spectral_norm(m)


def _check_mult(ch_mult, n: int, default: list[int]) -> list[int]:
    if ch_mult is None or not len(ch_mult):
        return default
    mult = [int(m) for m in ch_mult]
    if len(mult) != n or min(mult) < 1:
        raise ValueError(f"ch_mult must list {n} positive multipliers for this resolution, got {list(ch_mult)}")
    return mult


class GBlock(nn.Module):
    """BigGAN up-block: [N, a, H, W] + condition [N, cond_dim] -> [N, b, 2H, 2W] (Fig. 15b)."""

    def __init__(self, a: int, b: int, cond_dim: int):
        super().__init__()
        self.bn1, self.bn2 = ConditionalBatchNorm2d(a, cond_dim=cond_dim), ConditionalBatchNorm2d(b, cond_dim=cond_dim)
        self.conv1, self.conv2 = _sn(nn.Conv2d(a, b, 3, 1, 1)), _sn(nn.Conv2d(b, b, 3, 1, 1))
        self.sc = _sn(nn.Conv2d(a, b, 1))

    def forward(self, x, c):
        h = F.interpolate(F.relu(self.bn1(x, c)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), c)))
        return h + self.sc(F.interpolate(x, scale_factor=2.0, mode="nearest"))


@NETS.register("biggan_g")
class BigGANGenerator(nn.Module):
    """BigGAN generator: z [N, z_dim] + labels y [N] -> images [N, channels, R, R] in [-1, 1].

    Args:
        resolution: output size R, a power of two >= 8 (one up-block per doubling from 4).
        channels: image channels.
        z_dim: latent size, split into (blocks + 1) nearly equal chunks (120 at 128 px).
        num_classes: classes of the shared embedding (0: unconditional; cBN from z only).
        ch: base width; ch_mult: per-block width multipliers, 4x4 first (default halving to 1).
        shared_dim: size of the shared class embedding (128 in the paper).
        attention_res: self-attention after the block of this output size (0: none).
    """

    def __init__(self, resolution: int = 32, channels: int = 3, z_dim: int = 128, num_classes: int = 0,
                 ch: int = 32, ch_mult: list[int] | None = None, shared_dim: int = 128, attention_res: int = 0):
        super().__init__()
        n = _blocks(resolution)
        if z_dim < n + 1:
            raise ValueError(f"z_dim must be >= {n + 1} (one chunk per block + 1), got {z_dim}")
        sizes = [8 * 2**i for i in range(n)]  # output size of each up-block
        if attention_res and attention_res not in sizes:
            raise ValueError(f"attention_res must be one of {sizes} at resolution {resolution}, got {attention_res}")
        mult = _check_mult(ch_mult, n, [min(16, 2 ** (n - 1 - i)) for i in range(n)])
        widths = [ch * mult[0]] + [ch * m for m in mult]  # block i: widths[i] -> widths[i + 1]
        self.z_dim, self.num_classes, self.sizes = z_dim, num_classes, sizes
        self.chunks = [len(c) for c in torch.arange(z_dim).tensor_split(n + 1)]  # hierarchical z
        self.shared = nn.Embedding(num_classes, shared_dim) if num_classes else None
        if self.shared is not None:
            nn.init.orthogonal_(self.shared.weight)
        e = shared_dim if num_classes else 0
        self.fc = _sn(nn.Linear(self.chunks[0], 16 * widths[0]))
        self.blocks = nn.ModuleList(GBlock(widths[i], widths[i + 1], e + self.chunks[i + 1]) for i in range(n))
        self.attn = nn.ModuleDict({str(s): SelfAttention(widths[i + 1], sn=True)
                                   for i, s in enumerate(sizes) if s == attention_res})
        _ortho_reinit(self.blocks)  # also the cBN gain / bias linears (BigGAN-PyTorch: ortho)
        _ortho_reinit(self.attn)
        self.bn = nn.BatchNorm2d(widths[-1])
        self.out = _sn(nn.Conv2d(widths[-1], channels, 3, 1, 1))

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes and y is None:
            raise ValueError("this generator is class-conditional: pass labels y")
        zs = z.split(self.chunks, dim=1)  # z_0 [N, k0], then one chunk per block
        e = self.shared(y) if self.shared is not None else None  # [N, shared_dim]
        h = self.fc(zs[0]).view(len(z), -1, 4, 4)  # [N, w0, 4, 4]
        for size, block, zc in zip(self.sizes, self.blocks, zs[1:]):
            c = zc if e is None else torch.cat([e.to(zc.dtype), zc], 1)  # [N, shared_dim + k_i]
            h = block(h, c)  # [N, w_i, size, size]
            if str(size) in self.attn:
                h = self.attn[str(size)](h)
        return torch.tanh(self.out(F.relu(self.bn(h))))  # [N, C, R, R]


@NETS.register("biggan_d")
class BigGANDiscriminator(nn.Module):
    """BigGAN discriminator: images [N, channels, R, R] (+ labels y [N]) -> logits [N].

    Down-blocks from R to 4x4 (the first one SNGAN's "optimized" block), one block at 4x4,
    ReLU, global sum pooling, ``linear(phi) + <embed(y), phi>`` (projection).

    Args:
        resolution, channels: input size and channels.
        ch: base width; ch_mult: per-block multipliers (default doubling with depth, cap 16).
        num_classes: > 0 adds the projection head.
        attention_res: self-attention after the block whose output has this size (0: none).
    """

    projection = True

    def __init__(self, resolution: int = 32, channels: int = 3, ch: int = 32, ch_mult: list[int] | None = None,
                 num_classes: int = 0, attention_res: int = 0):
        super().__init__()
        n = _blocks(resolution)  # down-blocks: R -> 4
        sizes = [resolution // 2 ** (i + 1) for i in range(n)] + [4]
        if attention_res and attention_res not in sizes[:n]:
            raise ValueError(f"attention_res must be one of {sizes[:n]} at resolution {resolution}, got {attention_res}")
        mult = _check_mult(ch_mult, n, [min(16, 2**i) for i in range(n)])
        widths = [ch * m for m in mult] + [ch * mult[-1]]
        blocks = [DBlock(channels, widths[0], down=True, first=True, sn=True)]
        blocks += [DBlock(widths[i - 1], widths[i], down=i < n, sn=True) for i in range(1, n + 1)]
        self.blocks = nn.ModuleList(blocks)
        _ortho_reinit(self.blocks)  # DBlock inits Xavier (SNGAN); BigGAN's D is orthogonal
        self.sizes, self.num_classes = sizes, num_classes
        self.attn_after = sizes.index(attention_res) if attention_res else -1
        self.attn = SelfAttention(widths[self.attn_after], sn=True) if attention_res else None
        if self.attn is not None:
            _ortho_reinit(self.attn)
        self.fc = _sn(nn.Linear(widths[-1], 1))
        self.embed = _sn(nn.Embedding(num_classes, widths[-1])) if num_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = x
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attn_after:
                h = self.attn(h)
        feat = F.relu(h).sum(dim=(2, 3))  # [N, w]  global sum pooling
        logit = self.fc(feat).squeeze(1)  # [N]
        if self.embed is not None:
            if y is None:
                raise ValueError("this discriminator has a projection head: pass labels y")
            logit = logit + (self.embed(y) * feat).sum(1)  # + y^T V phi(x)
        return logit
