"""SPADE: spatially-adaptive normalization and its generator (Park et al. 2019).

SPADE (sec. 3, eq. 1): activations are normalised without learned affine parameters
(BatchNorm statistics), then modulated per pixel by a scale ``gamma(m)`` and bias ``beta(m)``
computed from the semantic label map ``m`` by a small conv net, so the layout is injected at
every scale instead of being washed out by normalisation. The generator (fig. 4, appendix A)
starts from noise ``z`` at 4x4 (or from the downsampled label map when ``z_dim=0``) and
alternates SPADE residual blocks with 2x nearest upsampling up to the resolution.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import NETS
from .layers import maybe_sn


class SPADE(nn.Module):
    """``x [N, C, H, W]``, one-hot ``m [N, K, H0, W0]`` -> ``BN(x) * (1 + gamma(m)) + beta(m)``.

    ``m`` is resized (nearest) to ``x``'s size; gamma/beta come from a shared 3x3 conv + ReLU
    with ``hidden`` channels and two 3x3 convs (eq. 1; the ``1 +`` centres gamma at identity
    as the authors' code does).
    """

    def __init__(self, channels: int, num_labels: int, hidden: int = 128):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.shared = nn.Sequential(nn.Conv2d(num_labels, hidden, 3, 1, 1), nn.ReLU(True))
        self.gamma = nn.Conv2d(hidden, channels, 3, 1, 1)
        self.beta = nn.Conv2d(hidden, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        m = F.interpolate(m, size=x.shape[-2:], mode="nearest")
        h = self.shared(m)
        return self.norm(x) * (1 + self.gamma(h)) + self.beta(h)


class SPADEResBlock(nn.Module):
    """SPADE ResBlk (fig. 3 right): [SPADE, LReLU, 3x3 conv] x 2, plus a learned shortcut
    (SPADE, 1x1 conv) when the width changes. Convs are spectrally normalised (sec. 4)."""

    def __init__(self, w_in: int, w_out: int, num_labels: int, hidden: int, sn: bool = True):
        super().__init__()
        mid = min(w_in, w_out)
        self.n0, self.c0 = SPADE(w_in, num_labels, hidden), maybe_sn(nn.Conv2d(w_in, mid, 3, 1, 1), sn)
        self.n1, self.c1 = SPADE(mid, num_labels, hidden), maybe_sn(nn.Conv2d(mid, w_out, 3, 1, 1), sn)
        self.learned = w_in != w_out
        if self.learned:
            self.ns, self.cs = SPADE(w_in, num_labels, hidden), maybe_sn(nn.Conv2d(w_in, w_out, 1, bias=False), sn)

    def forward(self, x, m):
        s = self.cs(self.ns(x, m)) if self.learned else x
        h = self.c0(F.leaky_relu(self.n0(x, m), 0.2))
        h = self.c1(F.leaky_relu(self.n1(h, m), 0.2))
        return s + h


@NETS.register("spade_g")
class SPADEGenerator(nn.Module):
    """One-hot label map ``m [N, num_labels, R, R]`` (+ noise ``z [N, z_dim]``) -> ``[N, channels, R, R]``.

    Widths: ``16 ngf`` at 4x4 for the first two blocks, then halving per 2x upsampling (floored
    at ``ngf``), as in the paper's generator (1024 channels at the start for ngf = 64).
    """

    def __init__(self, num_labels: int = 4, channels: int = 3, resolution: int = 256, ngf: int = 64,
                 z_dim: int = 64, hidden: int = 128, sn: bool = True, max_mult: int = 16):
        super().__init__()
        ups = int(math.log2(resolution)) - 2
        if resolution < 8 or 2 ** (ups + 2) != resolution:
            raise ValueError(f"spade_g resolution must be a power of two >= 8, got {resolution}")
        self.num_labels, self.channels, self.resolution, self.z_dim = num_labels, channels, resolution, z_dim
        widths = [ngf * min(max_mult, 2 ** max(0, ups - i)) for i in range(ups + 1)]  # 4x4 ... R
        w0 = widths[0]
        self.fc = nn.Linear(z_dim, w0 * 16) if z_dim else nn.Conv2d(num_labels, w0, 3, 1, 1)
        self.head = SPADEResBlock(w0, w0, num_labels, hidden, sn)
        self.blocks = nn.ModuleList(SPADEResBlock(a, b, num_labels, hidden, sn)
                                    for a, b in zip(widths[:-1], widths[1:]))
        self.out = nn.Conv2d(widths[-1], channels, 3, 1, 1)

    def forward(self, m: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        n = len(m)
        if self.z_dim:
            if z is None:
                raise ValueError(f"spade_g with z_dim={self.z_dim} needs noise z [N, {self.z_dim}]")
            x = self.fc(z).view(n, -1, 4, 4)
        else:  # the downsampled label map as input (the paper's non-VAE setting)
            x = self.fc(F.interpolate(m, size=(4, 4), mode="nearest"))
        x = self.head(x, m)  # [N, 16 ngf, 4, 4]
        for b in self.blocks:
            x = b(F.interpolate(x, scale_factor=2, mode="nearest"), m)
        return torch.tanh(self.out(F.leaky_relu(x, 0.2)))  # [N, channels, R, R]
