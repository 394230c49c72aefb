"""pix2pix (Isola et al. 2017) and its L1-only ablation, on paired data (edges2photo,
gray2color, masked2photo, scenes-labels2photo, user A/B folders)."""
from __future__ import annotations

from ..registry import RECIPES
from .translation import PairedRecipe


@RECIPES.register("pix2pix")
class Pix2Pix(PairedRecipe):
    """Isola et al. 2017, eq. 4: ``G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G)``.

    * ``L_cGAN`` (eq. 1): D, a PatchGAN (sec. 3.2.2, ``D.kwargs.n_layers`` sets its receptive
      field: 3 -> 70x70), judges (input, output) pairs against (input, target) pairs; G uses the
      non-saturating form (sec. 3.3) by default (``loss.name``).
    * ``L_L1`` (eq. 3): ``E ||y - G(x)||_1``, ``lambda = options.l1_weight = 100``; it carries the
      low frequencies, the PatchGAN the high ones (sec. 3.2.2).
    * D's objective is halved (sec. 3.3), Adam 2e-4, beta1 0.5, U-Net G with skips and dropout.
    No noise input: as the paper observes, G learns to ignore it (sec. 3.1).
    """

    name = "pix2pix"
    description = "Isola et al. 2017: U-Net G, input-conditioned PatchGAN D, L1 x 100 (edges/gray/masked->photo)"
    options = {"l1_weight": 100.0, "adv_weight": 1.0}
    d_scale = 0.5

    def recon_loss(self, fake, real):
        l1 = (fake.float() - real.float()).abs().mean()
        return self.opts["l1_weight"] * l1, {}


@RECIPES.register("l1-only")
class L1Only(PairedRecipe):
    """The L1 ablation of pix2pix (Isola et al. 2017, Table 1 / fig. 4 "L1"): the same U-Net
    trained by ``E ||y - G(x)||_1`` alone, which gives plausible but blurry outputs (the median
    of the possible targets).

    G never sees a discriminator. By default a PatchGAN *critic* trains beside it (same
    architecture as pix2pix's D) purely as a measurement: its ``D/accuracy`` says how easily
    L1 outputs are told from targets; ``options.critic=false`` drops it (one G phase only).
    G's updates are the same either way.
    """

    name = "l1-only"
    description = "pix2pix's L1 ablation: the same U-Net trained by L1 alone (blurry baseline); optional critic"
    options = {"critic": True}
    adversarial = False

    def recon_loss(self, fake, real):
        return (fake.float() - real.float()).abs().mean(), {}
