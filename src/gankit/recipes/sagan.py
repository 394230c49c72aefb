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
    ``attention_res`` set for that)."""

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
