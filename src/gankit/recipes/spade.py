"""SPADE / GauGAN (Park et al. 2019): semantic image synthesis from label maps."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import UserError
from ..losses import d_accuracy
from ..registry import RECIPES
from .base import Phase, StepContext, fill_kwargs
from .translation import TranslationRecipe, labels_picture


@RECIPES.register("spade")
class SPADERecipe(TranslationRecipe):
    """Park et al. 2019, sec. 3 and appendix A, on data with label maps (``Data.seg``; the
    built-in ``scenes``: background + circle / square / triangle, or ``seg=kind_color``).

    * G (``spade_g``): noise ``z`` -> SPADE residual blocks modulated by the one-hot label map
      (eq. 1) -> image; different ``z`` give different appearances of one layout.
    * D (``multiscale_patchgan_d``): pix2pixHD's multi-scale PatchGANs (Wang et al. 2018) on
      (image, one-hot label map) stacked on channels, spectral norm + instance norm.
    * Losses: hinge (``loss.name: hinge``) summed over the scales (pix2pixHD eq. 2), plus
      the feature-matching loss of pix2pixHD eq. 4, ``lambda_FM = options.fm = 10``:
      ``sum_k sum_i 1/N_i ||D_k^(i)(s, x) - D_k^(i)(s, G(s))||_1`` over D's hidden layers
      (averaged over the scales, as the authors' code does). TTUR: lr 1e-4 (G) / 4e-4 (D),
      betas (0, 0.9). The paper's optional VGG perceptual loss and VAE encoder are left out
      (no pretrained VGG offline; noise is the source of diversity).
    """

    name = "spade"
    kinds = ("images", "paired")
    data_hint = "e.g. scenes"
    description = "Park et al. 2019: SPADE generator from label maps, multi-scale PatchGAN D, hinge + feature matching"
    options = {"fm": 10.0}

    @classmethod
    def resolve(cls, cfg, meta):
        k = len((meta.get("info") or {}).get("seg_classes") or [])
        if k < 2:
            raise UserError(f"recipe 'spade' needs data with label maps (e.g. scenes); {cfg.data.name!r} has none")
        c, r = meta["shape"][0], meta["shape"][-1]
        fill_kwargs(cfg.G, {"num_labels": k, "channels": c, "resolution": r})
        fill_kwargs(cfg.D, {"in_channels": c + k, "resolution": r})
        cls.read_options(cfg)
        return cfg

    @property
    def num_labels(self) -> int:
        return len(self.meta["info"]["seg_classes"])

    def onehot(self, seg: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
        """Label ids ``[N, H, W]`` -> one-hot maps ``[N, K, H, W]``."""
        return F.one_hot(seg.long(), self.num_labels).permute(0, 3, 1, 2).to(dtype)

    def build_nets(self):
        return {"G": self.build(self.cfg.G), "D": self.build(self.cfg.D)}

    def phases(self):
        return [Phase("D", "D", self.d_step, repeats=self.cfg.loop.d_steps), Phase("G", "G", self.g_step)]

    def generate(self, ctx: StepContext) -> dict:
        G = ctx.nets["G"]
        m = self.onehot(ctx.batch["seg"], ctx.batch["real"].dtype)  # [N, K, R, R]
        z = ctx.randn(len(m), G.z_dim) if G.z_dim else None
        return {"fake": G(m, z), "m": m}

    def d_step(self, ctx: StepContext) -> dict:
        f = ctx.fake()
        m, D = f["m"].detach(), ctx.nets["D"]
        outs_r = D(ctx.augment(torch.cat([ctx.batch["real"], m], 1)))
        outs_f = D(ctx.augment(torch.cat([f["fake"].detach(), m], 1)))
        loss, acc = 0.0, 0.0
        for (lr, _), (lf, _) in zip(outs_r, outs_f):
            ld, _ = self.loss_fn(lr, lf)
            loss, acc = loss + ld, acc + d_accuracy(lr.detach(), lf.detach())
        return {"loss": loss, "D/accuracy": acc / len(outs_r)}

    def g_step(self, ctx: StepContext) -> dict:
        f = ctx.fresh_fake_with_graph()
        D, m = ctx.nets["D"], f["m"]
        outs_f = D(ctx.augment(torch.cat([f["fake"], m], 1)))
        with torch.no_grad():
            outs_r = D(ctx.augment(torch.cat([ctx.batch["real"], m], 1)))
        adv, fm = 0.0, 0.0
        for (lf, feats_f), (_, feats_r) in zip(outs_f, outs_r):
            _, lg = self.loss_fn(None, lf)
            adv = adv + lg
            fm = fm + sum((a.float() - b.float()).abs().mean() for a, b in zip(feats_f, feats_r)) / len(outs_f)
        loss = adv + self.opts["fm"] * fm
        return {"loss": loss, "G/adv": adv.detach(), "G/fm": fm.detach()}

    # ------------------------------------------------------------- translation
    def sample_input(self, batch):
        return batch["seg"]

    def forward_sample(self, G, seg, y, g):
        z = torch.randn(len(seg), G.z_dim, generator=g).to(seg.device) if G.z_dim else None
        return G(self.onehot(seg), z)

    def input_spec(self, direction="AtoB"):
        return {"kind": "labels", "channels": 1, "resolution": self.meta["shape"][-1],
                "num_labels": self.num_labels, "label_names": list(self.meta["info"]["seg_classes"])}

    def output_spec(self, direction="AtoB"):
        return {"channels": self.meta["shape"][0], "resolution": self.meta["shape"][-1]}

    def picture(self, x, direction="AtoB"):
        seg = x[:, 0] if x.dim() == 4 else x
        return labels_picture(seg)
