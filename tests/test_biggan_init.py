"""BigGAN's nets start orthogonal (Brock et al. 2019, appendix B; BigGAN-PyTorch's init_weights
'ortho' for G and D): every conv / linear weight, including the D blocks the SNGAN-style
resnet.DBlock builds (Xavier there) and the self-attention convs."""
from __future__ import annotations

import torch
from torch import nn

from gankit.nets.biggan import BigGANDiscriminator, BigGANGenerator


def _raw(m: nn.Module) -> torch.Tensor:
    sn = getattr(getattr(m, "parametrizations", None), "weight", None)
    return (sn.original if sn is not None else m.weight).detach().flatten(1)


def _orthogonal(w: torch.Tensor) -> bool:
    """Rows orthonormal (rows <= cols) or columns orthonormal (rows > cols)."""
    g = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    return torch.allclose(g, torch.eye(len(g)), atol=1e-4)


def test_every_biggan_weight_starts_orthogonal_and_sn_sees_it():
    torch.manual_seed(0)
    for net in (BigGANDiscriminator(resolution=16, channels=1, ch=4, attention_res=8),
                BigGANGenerator(resolution=16, channels=1, z_dim=8, ch=4, attention_res=8)):
        mods = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        assert mods and all(_orthogonal(_raw(m)) for m in mods), type(net).__name__
        net.train()
        for m in mods:  # spectral norm's sigma of an orthogonal matrix is 1: W_sn = W_raw
            if hasattr(m, "parametrizations"):
                assert torch.allclose(m.weight.flatten(1), _raw(m), atol=1e-3)
