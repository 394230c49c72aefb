"""ACGAN (Odena et al. 2017): D also classifies; both players add the class loss."""
from __future__ import annotations

import torch.nn.functional as F

from ..registry import RECIPES
from .adversarial import AdversarialRecipe, set_net_kwargs


@RECIPES.register("acgan")
class ACGAN(AdversarialRecipe):
    """Odena et al. 2017, eq. 2-3. G gets the class c (one-hot with z in dcgan_g, conditional BN
    in resnet_g); D does not see it but has an auxiliary classifier head ``aux`` predicting it.
    With L_S the source (real/fake) loss and L_C = CE(aux(x_real), c_real) + CE(aux(G(z, c)), c):
    D minimises L_S^D + w * L_C, G minimises L_S^G + w * CE(aux(G(z, c)), c)
    (w = ``options.class_weight``, 1 in the paper). With ``options.d_fake_class: false`` D's
    classifier learns from reals only (the fake term is dropped from D's loss), so D and G
    cannot agree on class cues that real digits do not have.

    Odena et al. published no code, so this is compared with the paper: the presets run
    DCGAN-style nets as its CIFAR-10 appendix (the class enters G with z; D strided convs with
    leaky ReLU and BN, one layer to the source and the class logits: dcgan_d's 4x4 conv and its
    ``aux_classes`` head on the same features). Departures: 32 px all-convolutional nets with
    4x4 kernels (theirs a dense first layer in G, 3x3 and 4x4 convs in D); no dropout in D
    (theirs 0.5 after each layer: ``D.kwargs.dropout=0.5``; on digits it cost FID, 4.48 -> 5.93 at
    6,000 steps, seed 0); widths cut and a G_ema 0.999 added for a CPU budget; instance
    noise on everything D sees (``augment.name: noise``, std 0.5 annealed linearly to 0: a generic
    aid, not in the paper; it halved the digits FID, 4.24 -> 2.09 on seed 0, recall 0.78 -> 0.88);
    batch 64 (the paper: 100; 3.99 at 100, seed 0); z of 128 (theirs 110 with the class); G
    trains on the D step's fakes (the paper does not say). Before 2026-12-07 the presets ran the
    SNGAN ResNets, ~6x the cost of a step. Adam 2e-4 betas (0.5, 0.999) and w = 1 are the
    paper's; the source loss is its non-saturating form (eq. 2-3: the minimax one)."""

    name = "acgan"
    description = "Odena et al. 2017: class-conditional G; D predicts the class (auxiliary classifier), class loss for G and D"
    conditional = True
    d_conditional = False
    d_heads = True
    options = {"class_weight": 1.0, "d_fake_class": True}

    @classmethod
    def resolve(cls, cfg, meta):
        cfg = super().resolve(cfg, meta)
        set_net_kwargs(cfg.D, {"aux_classes": int(meta["num_classes"])}, cfg.recipe, "D")
        return cfg

    def d_extra_loss(self, ctx, o_real, o_fake, f):
        y = ctx.batch["y"]
        ce_real = F.cross_entropy(o_real["aux"].float(), y)  # [N, K] logits vs labels [N]
        ce_fake = F.cross_entropy(o_fake["aux"].float(), f["y"])
        acc = (o_real["aux"].detach().argmax(1) == y).float().mean()
        ce = ce_real + ce_fake if self.opts["d_fake_class"] else ce_real
        return self.opts["class_weight"] * ce, {
            "D/class_loss_real": ce_real.detach(), "D/class_loss_fake": ce_fake.detach(), "D/class_acc": acc}

    def g_extra_loss(self, ctx, o_fake, f):
        ce = F.cross_entropy(o_fake["aux"].float(), f["y"])
        return self.opts["class_weight"] * ce, {"G/class_loss": ce.detach()}
