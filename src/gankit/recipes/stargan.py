"""StarGAN (Choi et al. 2018): one generator translating among N domains, given a domain code."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import UserError
from ..losses import d_accuracy
from ..registry import RECIPES
from .adversarial import set_net_kwargs
from .base import Phase, StepContext, fill_kwargs
from .translation import TranslationRecipe


@RECIPES.register("stargan")
class StarGAN(TranslationRecipe):
    """Choi et al. 2018, eq. 5-6, on labelled image data: the class label is the domain.

    * G(x, c) translates image ``x`` to target domain ``c`` (one-hot, spatially replicated and
      stacked on the input); D has two heads on one trunk: ``D_src`` (real/fake patches) and
      ``D_cls`` (domain logits).
    * D: ``L_adv + lambda_cls L_cls^r`` (eq. 5): the configured adversarial loss (WGAN with
      gradient penalty as in sec. 4 / eq. 8: ``loss.name: wasserstein``, ``options.gp = 10``)
      plus the cross-entropy of D_cls on real images and their true domains (eq. 2).
    * G: ``L_adv + lambda_cls L_cls^f + lambda_rec L_rec`` (eq. 6): the cross-entropy of D_cls on
      G(x, c) for the target c (eq. 3) and the cycle reconstruction ``||x - G(G(x, c), c')||_1``
      back to the original domain c' (eq. 4). ``lambda_cls = 1``, ``lambda_rec = 10``,
      five D steps per G step (``loop.d_steps``), Adam 1e-4, betas (0.5, 0.999).

    Default data (``presets/stargan.yaml``): the ``photos`` crops, whose label is the source photo
    -- nine domains of colour and texture (astronaut, coffee, cat, rocket, stained tissue, the
    Hubble deep field, retina, a Chinese temple, a flower), i.e. "photo crop -> the style of photo
    k". Any labelled image data works, e.g. ``--data digits`` (translate one digit to another).
    ``gankit sample --class K`` and ``gankit translate --domain K`` pick the target domain.
    """

    name = "stargan"
    kinds = ("images",)
    data_hint = "e.g. photos or digits"
    description = "Choi et al. 2018: one G for N domains (label = domain), D with domain classifier, cycle rec."
    options = {"cls_weight": 1.0, "rec_weight": 10.0, "gp": 10.0}

    @classmethod
    def resolve(cls, cfg, meta):
        k = meta.get("num_classes", 0)
        if k < 2:
            raise UserError(f"recipe 'stargan' needs labelled images (the labels are the domains); "
                            f"{cfg.data.name!r} has no classes")
        c, r = meta["shape"][0], meta["shape"][-1]
        set_net_kwargs(cfg.G, {"num_classes": k}, cfg.recipe, "G")
        set_net_kwargs(cfg.D, {"num_classes": k}, cfg.recipe, "D")
        fill_kwargs(cfg.G, {"in_channels": c, "channels": c, "resolution": r})
        fill_kwargs(cfg.D, {"channels": c, "resolution": r})
        cls.read_options(cfg)
        return cfg

    def build_nets(self):
        return {"G": self.build(self.cfg.G), "D": self.build(self.cfg.D)}

    def phases(self):
        return [Phase("D", "D", self.d_step, repeats=self.cfg.loop.d_steps), Phase("G", "G", self.g_step)]

    def generate(self, ctx: StepContext) -> dict:
        x, k = ctx.batch["real"], self.meta["num_classes"]
        # a random *other* domain per image: c_trg = (c_org + U{1..K-1}) mod K
        c_trg = (ctx.batch["y"] + 1 + ctx.randint(k - 1, len(x))) % k
        return {"fake": ctx.nets["G"](x, c_trg), "c_trg": c_trg}

    def gradient_penalty(self, D, real: torch.Tensor, fake: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """Gulrajani et al. 2017, eq. 3: ``E (||grad_xhat D_src(xhat)||_2 - 1)^2`` on random interpolates."""
        eps = torch.rand(len(real), 1, 1, 1, generator=rng).to(real)
        xhat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
        out = D(xhat)["logit"]
        (grad,) = torch.autograd.grad(out.float().sum(), xhat, create_graph=True)
        return (grad.float().flatten(1).norm(dim=1) - 1).pow(2).mean()

    def d_step(self, ctx: StepContext) -> dict:
        D, real, y = ctx.nets["D"], ctx.batch["real"], ctx.batch["y"]
        fake = ctx.fake()["fake"].detach()
        o_real, o_fake = D(ctx.augment(real)), D(ctx.augment(fake))
        loss, _ = self.loss_fn(o_real["logit"], o_fake["logit"])
        cls = F.cross_entropy(o_real["cls"].float(), y)  # eq. 2
        logs = {"D/cls": cls.detach(), "D/cls_acc": (o_real["cls"].argmax(1) == y).float().mean(),
                "D/accuracy": d_accuracy(o_real["logit"].detach(), o_fake["logit"].detach())}
        loss = loss + self.opts["cls_weight"] * cls
        if self.opts["gp"] > 0:
            gp = self.gradient_penalty(D, real, fake, ctx.rng)
            loss = loss + self.opts["gp"] * gp
            logs["reg/gp"] = gp.detach()
        return {"loss": loss, **logs}

    def g_step(self, ctx: StepContext) -> dict:
        G, D, real, y = ctx.nets["G"], ctx.nets["D"], ctx.batch["real"], ctx.batch["y"]
        f = ctx.fresh_fake_with_graph()
        o = D(ctx.augment(f["fake"]))
        _, adv = self.loss_fn(None, o["logit"])
        cls = F.cross_entropy(o["cls"].float(), f["c_trg"])  # eq. 3
        rec = (G(f["fake"], y) - real).abs().mean()  # eq. 4
        loss = adv + self.opts["cls_weight"] * cls + self.opts["rec_weight"] * rec
        return {"loss": loss, "G/adv": adv.detach(), "G/cls": cls.detach(), "G/rec": rec.detach(),
                "G/cls_acc": (o["cls"].detach().argmax(1) == f["c_trg"]).float().mean()}

    # ------------------------------------------------------------- translation
    def sample_input(self, batch):
        return batch["real"]

    def forward_sample(self, G, x, y, g):
        if y is None:  # domains cycle 0..K-1 over the batch
            y = torch.arange(len(x)) % self.meta["num_classes"]
        return G(x, y.to(x.device))

    def domains(self):
        return list(self.meta.get("class_names") or [str(i) for i in range(self.meta["num_classes"])])

    def input_spec(self, direction="AtoB"):
        shape = self.meta["shape"]
        return {"kind": "image", "channels": shape[0], "resolution": shape[-1]}

    def output_spec(self, direction="AtoB"):
        return {"channels": self.meta["shape"][0], "resolution": self.meta["shape"][-1]}

    @torch.no_grad()
    def translate(self, nets, x, direction="AtoB", domain=None, seed=0):
        """``x`` to ``domain`` (an int, or a tensor [N]); UserError when out of range."""
        k = self.meta["num_classes"]
        if domain is None:
            raise UserError("--domain: stargan translates to one domain at a time; pass --domain K")
        if isinstance(domain, int) and not 0 <= domain < k:
            raise UserError(f"--domain must be in 0..{k - 1} ({', '.join(self.domains())}), got {domain}")
        G = self.translator(nets, direction)
        dev = next(G.parameters()).device
        c = torch.full((len(x),), domain) if isinstance(domain, int) else domain
        return G(x.to(dev), c.to(dev))
