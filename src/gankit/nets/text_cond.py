"""Text-conditional DCGAN nets for text-to-image (GAN-INT-CLS, Reed et al. 2016; StackGAN
conditioning augmentation, Zhang et al. 2017). Resolution and width are arguments.

* ``text_g``: a sentence embedding ``t`` [N, text_dim] -> conditioning augmentation
  (StackGAN sec. 3.1: a linear layer gives ``mu(t)`` and ``log sigma^2(t)``, and
  ``c = mu + sigma * eps``, eps ~ N(0, I); ``c = mu`` when no eps is given, i.e. at sample time)
  -> ``[z, c]`` into the DCGAN generator trunk (ConvT 4x4, doubling blocks, tanh).
* ``text_d``: the DCGAN discriminator trunk to 4x4 features; the embedding is compressed
  (linear + LeakyReLU) to ``proj_dim``, replicated over the 4x4 grid and concatenated depth-wise
  (Reed et al. sec. 4.1), then a 1x1 conv and the 4x4 conv to one logit.
"""
from __future__ import annotations

import torch
from torch import nn

from ..registry import NETS
from .dcgan import _levels, init_dcgan_weights


@NETS.register("text_g")
class TextGenerator(nn.Module):
    num_classes = 0  # not class-conditional: `gankit sample --class` does not apply

    def __init__(self, z_dim: int = 100, text_dim: int = 384, c_dim: int = 128, resolution: int = 32,
                 channels: int = 3, ngf: int = 64, max_channels: int = 512):
        super().__init__()
        self.z_dim, self.text_dim, self.c_dim = z_dim, text_dim, c_dim
        self.ca = nn.Linear(text_dim, 2 * c_dim)  # conditioning augmentation: [mu, log sigma^2]
        n = _levels(resolution)
        widths = [min(ngf * 2 ** (n - 1 - i), max_channels) for i in range(n)]  # 4x4 ... R/2
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim + c_dim, widths[0], 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)
        nn.init.normal_(self.ca.weight, 0.0, 0.02)

    def condition(self, text: torch.Tensor, eps: torch.Tensor | None = None):
        """``(c, mu, logvar)``, each [N, c_dim], of embeddings ``text`` [N, text_dim]."""
        mu, logvar = self.ca(text.to(self.ca.weight.dtype)).chunk(2, 1)
        mu = nn.functional.leaky_relu(mu, 0.2)
        logvar = logvar.clamp(-10, 10)
        c = mu if eps is None else mu + eps * torch.exp(0.5 * logvar)
        return c, mu, logvar

    def forward(self, z: torch.Tensor, text: torch.Tensor, eps: torch.Tensor | None = None,
                stats: bool = False):
        """Images [N, C, R, R] from noise ``z`` [N, z_dim] and embeddings ``text`` [N, text_dim];
        with ``stats`` also ``(mu, logvar)`` for the KL term."""
        c, mu, logvar = self.condition(text, eps)
        x = self.net(torch.cat([z, c], 1)[:, :, None, None])
        return (x, mu, logvar) if stats else x


@NETS.register("text_d")
class TextDiscriminator(nn.Module):
    def __init__(self, resolution: int = 32, channels: int = 3, ndf: int = 64, text_dim: int = 384,
                 proj_dim: int = 128, max_channels: int = 512):
        super().__init__()
        self.text_dim = text_dim
        n = _levels(resolution)
        widths = [min(ndf * 2**i, max_channels) for i in range(n)]  # R/2 ... 4x4
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, True)]
        self.trunk = nn.Sequential(*layers)
        self.proj = nn.Sequential(nn.Linear(text_dim, proj_dim), nn.LeakyReLU(0.2, True))
        self.head = nn.Sequential(nn.Conv2d(widths[-1] + proj_dim, widths[-1], 1, bias=False),
                                  nn.BatchNorm2d(widths[-1]), nn.LeakyReLU(0.2, True),
                                  nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False))
        self.apply(init_dcgan_weights)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Image features [N, C4, 4, 4] (shared by several text pairings of the same images)."""
        return self.trunk(x)

    def score(self, h: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Logits [N] of features ``h`` paired with embeddings ``text``."""
        t = self.proj(text.to(h.dtype))[:, :, None, None].expand(-1, -1, *h.shape[2:])
        return self.head(torch.cat([h, t], 1)).flatten()

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.score(self.features(x), text)
