"""PacGAN (Lin et al. 2018): D judges m samples at once, which penalises mode collapse."""
from __future__ import annotations

from ..errors import UserError
from ..registry import RECIPES
from .adversarial import AdversarialRecipe, set_net_kwargs


@RECIPES.register("pacgan")
class PacGAN(AdversarialRecipe):
    """Lin et al. 2018, sec. 3: the same G; D gets ``options.pack`` = m (4) samples, all real
    or all fake, concatenated (along channels for images, features for points) and returns one
    logit per pack. Works with any D taking ``pack`` (mlp_d, dcgan_d, resnet_d).

    Where the image presets depart from fjxmlzn/PacGAN (stacked_MNIST_experiments/
    VEEGAN_experiment): their D sees 64 packs a step (m x 64 images of each kind), ours 64
    images = 16 packs (a DCGAN step's cost; not yet measured with more); they take two G steps
    per D step (their code's note: "different from paper"), we one; their z is uniform on
    [-1, 1], ours N(0, I); they run 28 px, 5x5 kernels, widths 64-512 for 50 epochs (~100,000
    steps), our presets 32 px, 4x4 kernels, half widths (ngf = ndf = 32) and a few thousand
    steps, for a CPU (the digits preset also a G_ema 0.999 and instance noise on every image D
    sees, ``augment.name: noise``, std 0.7 annealed linearly to 0 before packing: a generic aid,
    not in the paper; docs/results/families.md). The digits preset packs m = 2 (the paper's
    PacDCGAN2 of its stacked-MNIST Table 2): FID 4.91 against 6.56 with m = 4 at the same 25,000
    steps. As theirs, G trains on the D step's z; z of 100 and Adam 2e-4, beta1 0.5 match."""

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
