"""SAGAN (Zhang et al. 2019): self-attention in G and D, spectral norm on both, TTUR."""
from __future__ import annotations

from ..errors import UserError
from ..registry import RECIPES
from .adversarial import AdversarialRecipe
from .base import fill_kwargs


@RECIPES.register("sagan")
class SAGAN(AdversarialRecipe):
    """ResNet G/D with a self-attention block (at ``attention_res``: half the resolution unless
    set), spectral norm in G and D (sec. 4.1), hinge loss, TTUR (Heusel et al. 2017):
    lr_D 4e-4, lr_G 1e-4, Adam betas (0, 0.9), one D step per G step (sec. 5). The paper's
    model is class-conditional (cBN + projection); this one is not (use ``projection`` with
    ``attention_res`` set for that).

    Where it departs from brain-research/self-attention-gan (128 px ImageNet), besides that:
    one width in every block, cut for a CPU (theirs 64 x [16, 8, 4, 2, 1] in G, x [1, 2, 4, 8,
    16, 16] in D), batch 64 (theirs 4 x 64) and a G_ema 0.999 (none in their training code);
    attention at R/2 (theirs at 32 px of 128, R/4), in their block's layout (value at C/2, keys
    and values 2x2 max-pooled). G trains on fresh z (``loop.g_fresh``) as theirs. Betas (0, 0.9)
    are the paper's; their code leaves TF's beta2 0.999.

    The digits preset (``presets/sagan-digits.yaml``) moves to SNGAN's standard CNN with the
    attention, spectral norm, hinge loss and single D step kept, and sngan-digits' optimiser:
    betas (0.5, 0.999), D's lr 8x below G's, decayed linearly to 0, in place of TTUR's D 4x
    above G's, which leaves G's digit mix uneven on 1,437 digits (docs/results/families.md)."""

    name = "sagan"
    description = "Zhang et al. 2019: self-attention + spectral norm in G and D, hinge, TTUR lr_D 4e-4 / lr_G 1e-4"
    kinds = ("images",)

    @classmethod
    def resolve(cls, cfg, meta):
        cfg = super().resolve(cfg, meta)
        for net, role in ((cfg.G, "G"), (cfg.D, "D")):
            fill_kwargs(net, {"attention_res": int(meta["shape"][-1]) // 2})
            if not net.kwargs.get("attention_res"):
                raise UserError(f"recipe 'sagan' needs self-attention: {role}.name={net.name!r} "
                                f"must take attention_res > 0 (e.g. resnet_{role.lower()})")
        return cfg
