"""BigGAN (Brock et al. 2019, "Large Scale GAN Training for High Fidelity Natural Image Synthesis")."""
from __future__ import annotations

import torch

from ..errors import UserError
from ..registry import NETS, RECIPES
from .adversarial import AdversarialRecipe, truncated_noise
from .base import fill_kwargs


@RECIPES.register("biggan")
class BigGAN(AdversarialRecipe):
    """Class-conditional BigGAN on the shared loop (nets: :mod:`gankit.nets.biggan`).

    G: shared class embedding + hierarchical z into conditional batch norm, ResNet blocks,
    self-attention (at ``attention_res``: half the resolution unless set), spectral norm;
    D: projection discriminator with spectral norm. Hinge loss (sec. 3), orthogonal
    regularization of G (sec. 3.1, eq. 3, beta = 1e-4; ``loss.kwargs.ortho``), two D steps per
    G step, Adam betas (0, 0.999), G_ema (``loop.ema``) averaging the batch-norm statistics and
    spectral-norm vectors too (``loop.ema_buffers: average``, as BigGAN-PyTorch's ``utils.ema``
    averages the whole state dict). Sampling honours ``truncation``
    (sec. 3.1: z entries beyond the threshold are resampled) and the labels ``y``
    (``gankit sample --class K --truncation T``).

    Where the preset departs from BigGAN-PyTorch's CIFAR run (scripts/launch_cifar_ema.sh): it
    keeps the paper's ImageNet parts that run turns off (shared embedding, hierarchical z,
    attention, orthogonal init; ortho reg 1e-4, 0 in both their scripts), as they are this
    recipe's point; lr G 1e-4 / D 4e-4, Adam eps 1e-6 (their ImageNet script; CIFAR 2e-4 / 2e-4,
    1e-8) and 2 D steps (CIFAR 4): not yet measured (the digits preset takes their ImageNet
    script's 1 D step at that lr, at ch 16, and adds ADA); ch 32 (64), batch 32 (50), G_ema 0.999 from
    step 500 (0.9999 from 1,000) for a CPU. G's widths halve towards the output, D's double down
    to 4x4 (theirs ch x 4 throughout, D down to 8x8). Every weight starts orthogonal (their
    ``init_weights``, 'ortho') and G trains on fresh z and labels, as theirs.
    """

    name = "biggan"
    description = ("Brock et al. 2019: class-conditional, shared embedding + hierarchical z in cBN, "
                   "self-attention, SN, projection D, hinge, ortho reg")
    kinds = ("images",)
    conditional = True

    @classmethod
    def resolve(cls, cfg, meta):
        cfg = super().resolve(cfg, meta)
        if not getattr(NETS.get(cfg.D.name), "projection", False):
            raise UserError(f"recipe 'biggan' needs a projection discriminator (e.g. biggan_d); "
                            f"D.name={cfg.D.name!r} is not one")
        for net in (cfg.G, cfg.D):
            fill_kwargs(net, {"attention_res": int(meta["shape"][-1]) // 2})
        return cfg

    @torch.no_grad()
    def sample(self, G, n: int, seed: int, y: torch.Tensor | None = None, truncation: float | None = None,
               **kw) -> torch.Tensor:
        """n images from seeded z; labels cycle 0..K-1 unless ``y`` is given. ``truncation`` T
        (sec. 3.1, the truncation trick): every z entry with |z| > T is resampled, for any T > 0
        (T >= 2-3 is mild, small T trades variety for fidelity); T = 0 gives z = 0."""
        g = torch.Generator().manual_seed(seed)
        dev = next(G.parameters()).device
        if truncation is None:
            z = torch.randn(n, G.z_dim, generator=g)
        elif truncation <= 0:
            z = torch.zeros(n, G.z_dim)
        else:
            z = truncated_noise(n, G.z_dim, float(truncation), g)
        if G.num_classes:
            y = (torch.arange(n) % G.num_classes if y is None else y).to(dev)
        else:
            y = None
        return G(z.to(dev), y)
