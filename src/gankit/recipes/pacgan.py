"""PacGAN (Lin et al. 2018): D judges m samples at once, which penalises mode collapse."""
from __future__ import annotations

from ..errors import UserError
from ..registry import RECIPES
from .adversarial import AdversarialRecipe, set_net_kwargs


@RECIPES.register("pacgan")
class PacGAN(AdversarialRecipe):
    """Lin et al. 2018, sec. 3: the same G; D gets ``options.pack`` = m (4) samples, all real
    or all fake, concatenated (along channels for images, features for points) and returns one
    logit per pack. Works with any D taking ``pack`` (mlp_d, dcgan_d, resnet_d)."""

    name = "pacgan"
    description = "Lin et al. 2018: D sees packs of m=4 samples (all real or all fake), against mode collapse"
    options = {"pack": 4}

    @classmethod
    def resolve(cls, cfg, meta):
        cfg = super().resolve(cfg, meta)
        m = cls.read_options(cfg)["pack"]
        if m < 1:
            raise UserError(f"options.pack must be >= 1, got {m}")
        if cfg.data.batch_size % m:
            raise UserError(f"data.batch_size={cfg.data.batch_size} must be divisible by options.pack={m}")
        set_net_kwargs(cfg.D, {"pack": m}, cfg.recipe, "D")
        return cfg
