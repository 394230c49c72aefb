"""Text-to-image: GAN-INT-CLS (Reed et al. 2016) with StackGAN conditioning augmentation.

G (``text_g``) maps noise ``z`` and a sentence embedding ``t`` (a fixed encoder, see
:mod:`gankit.text_encoder`) to an image, through conditioning augmentation (Zhang et al. 2017,
StackGAN, sec. 3.1): ``c = mu(t) + sigma(t) * eps`` and a KL term
``D_KL(N(mu, sigma^2) || N(0, I))`` added to G's loss with weight ``options.kl_weight``.

D (``text_d``) is *matching-aware* (Reed et al. 2016, sec. 4.2, Alg. 1): it scores (image, text)
pairs and is trained on three of them,

* (real image, matching text)    -> real: ``s_r``
* (real image, mismatched text)  -> fake: ``s_w`` (a random caption of the training set that is a
  different string)
* (fake image, matching text)    -> fake: ``s_f``

``L_D = 1/2 [loss_d(s_r, s_f) + loss_d(s_r, s_w)]`` with the configured loss; for the
non-saturating loss this is Reed's ``log s_r + (log(1 - s_w) + log(1 - s_f)) / 2``. With
``options.cls: false`` the mismatch term is dropped (plain GAN-INT conditioning).

Captions come from the data (``Data.captions``, e.g. ``scenes``; the batch holds their indices),
embedded once per run and cached on disk. The encoder's name is kept in the run's config
(``options.encoder``), so a checkpoint embeds new text the same way: ``gankit sample --checkpoint C
--text "a large green triangle"``. Without ``--text``, samples use the captions of the data's
held-out split (``split="test"``) in order, and ``gankit sample`` writes them to ``captions.txt``.
"""
from __future__ import annotations

import torch

from .. import text_encoder
from ..errors import UserError
from ..losses import d_accuracy, g_needs_real
from ..nets import text_cond  # noqa: F401  (registers text_g / text_d)
from ..registry import RECIPES
from .adversarial import AdversarialRecipe, set_net_kwargs, truncated_noise
from .base import Phase, StepContext, fill_kwargs


@RECIPES.register("text2image")
class Text2Image(AdversarialRecipe):
    name = "text2image"
    description = ("Reed et al. 2016 GAN-INT-CLS: G(z, sentence embedding) with StackGAN conditioning "
                   "augmentation; matching-aware D")
    kinds = ("images",)
    data_hint = "captioned images, e.g. --data scenes"
    text_conditional = True  # generate.sample takes --text for this recipe
    options = {"encoder": "minilm", "kl_weight": 1.0, "cls": True, "ca": True}

    def __init__(self, cfg, meta):
        super().__init__(cfg, meta)
        self._ids = self._uniq = self._held_out = None

    @classmethod
    def resolve(cls, cfg, meta):
        opts = cls.read_options(cfg)
        if cfg.loss.kwargs:
            raise UserError("loss.kwargs: recipe 'text2image' takes no regularizers (its D scores text pairs)")
        dim = text_encoder.encoder_dim(opts["encoder"])
        if not text_encoder.available(opts["encoder"]):  # fail before a run directory is made
            raise UserError(f"options.encoder={opts['encoder']}: {text_encoder.INSTALL_HINT}")
        shape = list(meta["shape"])
        common = {"resolution": shape[-1], "channels": shape[0]}
        for role, net in (("G", cfg.G), ("D", cfg.D)):
            fill_kwargs(net, common)
            set_net_kwargs(net, {"text_dim": dim}, cfg.recipe, role)
        return cfg

    def phases(self) -> list[Phase]:
        return [Phase("D", "D", self.d_step, repeats=self.cfg.loop.d_steps), Phase("G", "G", self.g_step)]

    # ------------------------------------------------------------------ captions
    def _caption_table(self):
        """(caption id per training example [N], embeddings of the distinct captions [U, E])."""
        if self._ids is None:
            data = self.splits.train
            if data.captions is None:
                raise UserError(f"recipe 'text2image' needs data with captions (e.g. scenes); "
                                f"{self.cfg.data.name!r} has none")
            uniq = sorted(set(data.captions))
            index = {c: i for i, c in enumerate(uniq)}
            self._ids = torch.tensor([index[c] for c in data.captions], dtype=torch.long)
            self._uniq = text_encoder.embed(uniq, self.opts["encoder"])
        return self._ids, self._uniq

    def matching(self, ctx: StepContext) -> torch.Tensor:
        """Embeddings [N, E] of the batch's own captions."""
        ids, uniq = self._caption_table()
        return uniq[ids[ctx.batch["caption"].cpu()]].to(ctx.device, ctx.batch["real"].dtype)

    def texts(self, ctx: StepContext) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's (matching embeddings [N, E], mismatched embeddings [N, E])."""
        ids, uniq = self._caption_table()
        own = ids[ctx.batch["caption"].cpu()]
        # a random *different* caption: shift the ones that drew their own
        other = torch.randint(len(uniq), (len(own),), generator=ctx.rng)
        other = torch.where(other == own, (other + 1) % len(uniq), other)
        dev, dt = ctx.device, ctx.batch["real"].dtype
        return uniq[own].to(dev, dt), uniq[other].to(dev, dt)

    def default_captions(self, n: int) -> list[str]:
        """``n`` captions for samples without ``--text``: the held-out split's, in order, cycled."""
        if self._held_out is None:
            caps = self.splits.held_out().captions or self.splits.train.captions
            if not caps:
                raise UserError(f"data {self.cfg.data.name!r} has no captions: pass --text")
            self._held_out = list(caps)
        return [self._held_out[i % len(self._held_out)] for i in range(n)]

    # ------------------------------------------------------------------ the game
    def generate(self, ctx: StepContext) -> dict:
        G = ctx.nets["G"]
        t, t_wrong = self.texts(ctx)
        n = len(t)
        z = ctx.randn(n, G.z_dim)
        eps = ctx.randn(n, G.c_dim) if self.opts["ca"] else None
        fake, mu, logvar = G(z, t, eps, stats=True)
        return {"fake": fake, "y": t, "t_wrong": t_wrong, "mu": mu, "logvar": logvar}

    def d_labels(self, y):
        return None  # D's condition is text, never class labels

    def discriminate(self, ctx: StepContext, x: torch.Tensor, y=None, features: bool = False) -> dict:
        """D on ``ctx.augment(x)`` paired with embeddings ``y`` (default: the batch's own captions,
        so ``x`` should be the batch's real images or fakes made from them)."""
        t = y if y is not None and y.is_floating_point() else self.matching(ctx)
        return {"logit": ctx.nets["D"](ctx.augment(x), t)}

    def d_step(self, ctx: StepContext) -> dict:
        D, real = ctx.nets["D"], ctx.batch["real"]
        f = ctx.fake()
        t, t_wrong = f["y"].detach(), f["t_wrong"]
        s_f = D(ctx.augment(f["fake"].detach()), t)
        if self.opts["cls"]:
            # the real images once, paired with the matching and the mismatched text
            s = D(ctx.augment(torch.cat([real, real])), torch.cat([t, t_wrong]))
            s_r, s_w = s.chunk(2)
        else:
            s_r, s_w = D(ctx.augment(real), t), None
        ctx.report_real_logits(s_r)  # for ADA
        loss, _ = self.loss_fn(s_r, s_f)
        logs = {"D/real_score": s_r.detach().float().mean(), "D/fake_score": s_f.detach().float().mean(),
                "D/accuracy": d_accuracy(s_r.detach(), s_f.detach())}
        if s_w is not None:
            loss_w, _ = self.loss_fn(s_r, s_w)
            loss = 0.5 * (loss + loss_w)
            logs.update({"D/mismatch_score": s_w.detach().float().mean(),
                         "D/match_accuracy": d_accuracy(s_r.detach(), s_w.detach())})
        return {"loss": loss, **logs}

    def g_step(self, ctx: StepContext) -> dict:
        D = ctx.nets["D"]
        f = ctx.fresh_fake_with_graph()
        s_f = D(ctx.augment(f["fake"]), f["y"])
        s_r = None
        if g_needs_real(self.loss_fn):
            with torch.no_grad():
                s_r = D(ctx.augment(ctx.batch["real"]), f["y"])
        _, loss = self.loss_fn(s_r, s_f)
        logs = {"G/adv": loss.detach()}
        if self.opts["ca"]:
            mu, logvar = f["mu"].float(), f["logvar"].float()
            # KL(N(mu, sigma^2) || N(0, I)), summed over c's dimensions, averaged over the batch
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
            loss = loss + self.opts["kl_weight"] * kl
            logs["G/kl"] = kl.detach()
        return {"loss": loss, **logs}

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(self, G, n: int, seed: int, y: torch.Tensor | None = None, text: list[str] | None = None,
               **kw) -> torch.Tensor:
        """``n`` images for captions ``text`` (cycled; default: :meth:`default_captions`), from
        seeded noise and the conditioning mean ``c = mu(t)``."""
        texts = list(text) if text else self.default_captions(n)
        texts = [texts[i % len(texts)] for i in range(n)]
        g = torch.Generator().manual_seed(seed)
        dev = next(G.parameters()).device
        trunc = kw.get("truncation")
        z = truncated_noise(n, G.z_dim, trunc, g) if trunc is not None and trunc < 1.0 \
            else torch.randn(n, G.z_dim, generator=g)
        t = text_encoder.embed(texts, self.opts["encoder"])
        return G(z.to(dev), t.to(dev))
