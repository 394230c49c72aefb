"""PatchGAN discriminators (Isola et al. 2017), their multi-scale form (Wang et al. 2018), and the
history buffer of generated images (Shrivastava et al. 2017) that CycleGAN's D reads from.

A PatchGAN classifies every overlapping N x N patch of its input as real or fake and returns the
map of logits (pix2pix sec. 3.2.2): with ``n_layers`` stride-2 convs the receptive field of one
output is 70 x 70 for ``n_layers=3`` (the pix2pix default), 34 for 2, 16 for 1, 142 for 4.
Losses in :mod:`gankit.losses` average over the map, i.e. over patches and samples.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..registry import NETS
from .dcgan import init_dcgan_weights
from .layers import maybe_sn

NORMS = ("batch", "instance", "none")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """BatchNorm (pix2pix), affine InstanceNorm (CycleGAN, StarGAN, SPADE's D) or nothing."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {kind!r}")


def patch_layers(resolution: int, n_layers: int) -> int:
    """``n_layers`` capped so the output map of a ``resolution`` input is at least 2 x 2.

    The map has side ``resolution / 2**n - 2`` (two stride-1 4x4 convs each remove one pixel),
    so small images get a smaller receptive field instead of an empty output.
    """
    if n_layers < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers}")
    cap = max(1, int(math.log2(max(resolution, 8))) - 2)
    return min(n_layers, cap)


@NETS.register("patchgan_d")
class PatchGAN(nn.Module):
    """C64-C128-C256-C512 PatchGAN of pix2pix (appendix 6.1.2), any ``n_layers`` and width.

    ``in_channels`` is what D sees: for a conditional D (pix2pix) input + output channels
    stacked, for an unconditional one (CycleGAN) the image channels. ``x [N, C, H, W]`` ->
    logits ``[N, 1, H', W']``; with ``features=True`` also the hidden activations (for the
    feature-matching loss of pix2pixHD / SPADE).
    """

    def __init__(self, in_channels: int = 6, resolution: int = 256, ndf: int = 64, n_layers: int = 3,
                 norm: str = "batch", sn: bool = False, max_mult: int = 8):
        super().__init__()
        self.in_channels = in_channels
        n = patch_layers(resolution, n_layers)
        self.n_layers = n

        def conv(a, b, stride):
            return maybe_sn(nn.Conv2d(a, b, 4, stride, 1, bias=norm == "none"), sn)

        # First layer: no norm (pix2pix 6.1.2); then C(k) blocks that halve the size; one more
        # stride-1 block, and a 4x4 conv to one logit per patch.
        blocks = [nn.Sequential(maybe_sn(nn.Conv2d(in_channels, ndf, 4, 2, 1), sn), nn.LeakyReLU(0.2, True))]
        w = ndf
        for i in range(1, n + 1):
            wo = ndf * min(2 ** i, max_mult)
            blocks.append(nn.Sequential(conv(w, wo, 2 if i < n else 1), norm_layer(norm, wo), nn.LeakyReLU(0.2, True)))
            w = wo
        self.blocks = nn.ModuleList(blocks)
        self.out = maybe_sn(nn.Conv2d(w, 1, 4, 1, 1), sn)
        self.apply(init_dcgan_weights)

    def forward(self, x: torch.Tensor, features: bool = False):
        feats = []
        for b in self.blocks:
            x = b(x)
            feats.append(x)
        logit = self.out(x)  # [N, 1, H', W']
        return (logit, feats) if features else logit


@NETS.register("multiscale_patchgan_d")
class MultiScalePatchGAN(nn.Module):
    """``num_d`` PatchGANs on the input downsampled 1x, 2x, 4x, ... (pix2pixHD, Wang et al. 2018,
    sec. 3.2; SPADE uses two). Coarse scales see global structure, fine ones texture.

    ``x [N, C, H, W]`` -> list over scales of ``(logits [N, 1, h, w], [hidden activations])``.
    """

    def __init__(self, in_channels: int = 3, resolution: int = 256, ndf: int = 64, n_layers: int = 4,
                 num_d: int = 2, norm: str = "instance", sn: bool = True):
        super().__init__()
        self.in_channels = in_channels
        self.ds = nn.ModuleList(
            PatchGAN(in_channels, max(8, resolution // 2 ** k), ndf, n_layers, norm, sn) for k in range(num_d))
        self.down = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor):
        outs = []
        for i, d in enumerate(self.ds):
            if i:
                x = self.down(x)
            outs.append(d(x, features=True))
        return outs


@NETS.register("image_pool")
class ImagePool(nn.Module):
    """A history of ``size`` generated images that D is shown instead of only the newest ones
    (Shrivastava et al. 2017, sec. 2.3; CycleGAN sec. 4 uses 50).

    The images live in a registered buffer, so the pool is saved in checkpoints and a resumed run
    continues with the same history. It has no parameters and is never optimised.
    """

    def __init__(self, size: int = 50, channels: int = 3, resolution: int = 256):
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, channels, resolution, resolution))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """Images for D: each of ``x [N, C, H, W]`` is stored; while the pool fills it is returned
        as is, afterwards with probability 1/2 it is swapped for a random stored image (which it
        replaces). Randomness comes from ``rng`` (the loop's per-step stream: resume-exact)."""
        if self.size == 0:
            return x
        x = x.detach()
        out = x.clone()
        coins = torch.rand(len(x), generator=rng)
        slots = torch.randint(self.size, (len(x),), generator=rng)
        for i in range(len(x)):
            n = int(self.count)
            if n < self.size:
                self.images[n].copy_(x[i])
                self.count += 1
            elif coins[i] > 0.5:
                j = int(slots[i])
                out[i] = self.images[j]
                self.images[j].copy_(x[i])
        return out.to(x.dtype)
