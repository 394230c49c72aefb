"""CTGAN's nets for table rows (Xu et al. 2019, appendix / sec. 4.4).

* ``ctgan_g``: ``z`` and the conditional vector through residual blocks
  ``h <- cat(ReLU(BN(FC(h))), h)`` (the input is kept beside every block's output), then a
  linear layer to the encoded row's width. It returns pre-activations: the recipe applies
  tanh to the scalar slices and Gumbel-softmax to the one-hot groups (``info["spans"]``).
* ``ctgan_d``: a PacGAN critic (Lin et al. 2018): ``pack`` rows (each with its conditional
  vector) are concatenated and scored together; FC-LeakyReLU(0.2)-Dropout(0.5) blocks, no
  normalisation (the gradient penalty is per input, Gulrajani et al. 2017, sec. 4).
"""
from __future__ import annotations

import torch
from torch import nn

from ..registry import NETS


@NETS.register("ctgan_g")
class CTGANGenerator(nn.Module):
    """z [N, z_dim] (+ cond [N, cond_dim]) -> pre-activations [N, out_dim]."""

    def __init__(self, z_dim: int = 128, cond_dim: int = 0, out_dim: int = 2, hidden: int = 256, depth: int = 2):
        super().__init__()
        self.z_dim, self.cond_dim, self.out_dim = z_dim, cond_dim, out_dim
        self.blocks = nn.ModuleList()
        width = z_dim + cond_dim
        for _ in range(depth):
            self.blocks.append(nn.Sequential(nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU()))
            width += hidden
        self.out = nn.Linear(width, out_dim)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = torch.cat([z, cond], 1) if self.cond_dim else z
        for b in self.blocks:
            h = torch.cat([b(h), h], 1)  # residual by concatenation (CTGAN's Residual layer)
        return self.out(h)


@NETS.register("ctgan_d")
class CTGANDiscriminator(nn.Module):
    """rows [N, in_dim] (+ cond [N, cond_dim]) -> logits [N / pack]."""

    def __init__(self, in_dim: int = 2, cond_dim: int = 0, hidden: int = 256, depth: int = 2, pack: int = 8,
                 dropout: float = 0.5):
        super().__init__()
        self.cond_dim, self.pack = cond_dim, pack
        layers: list[nn.Module] = []
        width = (in_dim + cond_dim) * pack
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            width = hidden
        self.body = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if self.cond_dim:
            x = torch.cat([x, cond.to(x.dtype)], 1)
        if len(x) % self.pack:
            raise ValueError(f"ctgan_d: a batch of {len(x)} rows does not split into packs of {self.pack}")
        return self.body(x.reshape(len(x) // self.pack, -1)).squeeze(1)
