"""What the image-to-image recipes share: options, held-out inputs for pictures and samples,
the translation API behind ``gankit translate``, and the paired game of pix2pix and SRGAN.

:class:`TranslationRecipe` (base of pix2pix, l1-only, cyclegan, stargan, srgan, srresnet,
spade) adds to :class:`~gankit.recipes.base.Recipe`:

* ``sample(G, n, seed, y)``: outputs for ``n`` inputs drawn (seeded) from the data's held-out
  split (``split="test"``; user data without one falls back to its training split), so
  ``gankit sample`` / ``gankit eval`` compare outputs with held-out targets;
* ``sample_grid(G, n, seed)``: ``n // 2`` (input, output) pairs interleaved, so the loop's
  sample grids show each input beside its translation;
* ``translate(nets, x, direction, domain)``, ``input_spec(direction)``, ``domains()`` and
  ``picture(x, direction)``: what :mod:`gankit.translate` needs to run a loaded model on files.

:class:`PairedRecipe` is the conditional game on aligned pairs (pix2pix, Isola et al. 2017,
eq. 4: ``G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G)``): D sees (input, output) or, when
``d_conditional`` is off (SRGAN), the output alone; G's loss is ``adv_weight`` times the
adversarial term plus the recipe's reconstruction loss. Ablations without an adversarial term
(``adversarial = False``) keep a *critic*: a D trained beside G that G never sees, whose
``D/accuracy`` tells how distinguishable the outputs are (``options.critic=false`` drops it
and leaves a single G phase). Paired data whose inputs are one-hot label maps
(``info["input_onehot"]``, e.g. ``scenes-labels2photo``) makes a paired model a label-map model
to its users, as spade is: it translates class ids and pictures its inputs as label maps.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UserError
from ..losses import d_accuracy
from ..modality import modality
from .base import OptionalCritic, Recipe, StepContext, fill_kwargs

# Colours for label maps in pictures (background dark, then distinct hues), cycled past 12.
PALETTE = torch.tensor([
    (32, 32, 40), (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128),
    (220, 190, 255)], dtype=torch.float32) / 127.5 - 1.0


class TranslationRecipe(Recipe):
    """Base class of the image-to-image recipes (see the module docstring)."""

    translation = True

    options: dict = {}
    directions: tuple[str, ...] = ("AtoB",)

    def __init__(self, cfg, meta):
        super().__init__(cfg, meta)
        self.opts = self.read_options(cfg)

    # ------------------------------------------------------------- held-out inputs
    def held_out(self):
        """The data's test split (cached); the training split when there is none."""
        return self.splits.held_out()

    def held_out_batch(self, n: int, seed: int) -> dict:
        """``n`` held-out examples as a batch (``Data.batch`` keys), chosen by a seeded permutation."""
        data = self.held_out()
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(data), generator=g)[torch.arange(n) % len(data)]
        out = {"real": data.to_float(data.x[idx])}
        if data.y is not None:
            out["y"] = data.y[idx]
        if data.seg is not None:
            out["seg"] = data.seg[idx][:, 0].long()
        if data.a is not None:
            a_idx = idx if modality(data).paired else \
                torch.randperm(len(data.a), generator=g)[torch.arange(n) % len(data.a)]
            out["A"], out["B"] = data.to_float(data.a[a_idx]), out["real"]
        return out

    # ------------------------------------------------------------- sampling
    def sample_input(self, batch: dict) -> torch.Tensor:
        """The net input of a held-out batch for direction AtoB (``A`` unless overridden)."""
        return batch["A"]

    def forward_sample(self, G: nn.Module, x: torch.Tensor, y, g: torch.Generator) -> torch.Tensor:
        """G on prepared inputs (recipes with a domain code or noise override this)."""
        return G(x)

    @torch.no_grad()
    def sample(self, G: nn.Module, n: int, seed: int, y: torch.Tensor | None = None, **kw) -> torch.Tensor:
        """Translations of ``n`` held-out inputs (seeded choice), ``[n, C, R, R]`` in [-1, 1]."""
        dev = next(G.parameters()).device
        batch = self.held_out_batch(n, seed)
        x = self.sample_input(batch).to(dev)
        return self.forward_sample(G, x, None if y is None else y.to(dev), torch.Generator().manual_seed(seed + 1))

    @torch.no_grad()
    def sample_grid(self, G: nn.Module, n: int, seed: int) -> torch.Tensor:
        """``n // 2`` (input, output) pairs interleaved, ``[2 * (n // 2), C, R, R]``, for grids."""
        m = max(1, n // 2)
        dev = next(G.parameters()).device
        batch = self.held_out_batch(m, seed)
        x = self.sample_input(batch).to(dev)
        out = self.forward_sample(G, x, None, torch.Generator().manual_seed(seed + 1)).float()
        pic = self.picture(x, "AtoB").to(out)
        return torch.stack([pic, out], 1).flatten(0, 1)  # [2m, C, R, R]: in0, out0, in1, out1, ...

    # ------------------------------------------------------------- translation API
    def input_spec(self, direction: str = "AtoB") -> dict:
        """What a net input looks like: ``{"kind": "image" | "masked" | "labels", "channels",
        "resolution"}`` (+ ``"num_labels"`` for label maps)."""
        shape = self.meta.get("a_shape") or self.meta["shape"]
        if direction == "BtoA":
            shape = self.meta["shape"]
        kind = "masked" if shape[0] == 4 else "image"
        return {"kind": kind, "channels": shape[0], "resolution": shape[-1]}

    def output_spec(self, direction: str = "AtoB") -> dict:
        shape = self.meta["shape"] if direction == "AtoB" else (self.meta.get("a_shape") or self.meta["shape"])
        return {"channels": shape[0], "resolution": shape[-1]}

    def domains(self) -> list[str]:
        """Names of the target domains (multi-domain recipes); [] for one-way translators."""
        return []

    def translator(self, nets: dict, direction: str = "AtoB") -> nn.Module:
        """The net that translates in ``direction`` (G_ema when the checkpoint has one)."""
        if direction not in self.directions:
            raise UserError(f"--direction {direction}: recipe {self.cfg.recipe!r} translates "
                            f"{' and '.join(self.directions)} only")
        return nets["G_ema"] if "G_ema" in nets else nets[self.sample_net]

    @torch.no_grad()
    def translate(self, nets: dict, x: torch.Tensor, direction: str = "AtoB", domain: int | None = None,
                  seed: int = 0) -> torch.Tensor:
        """Translate prepared inputs ``x`` (``input_spec``'s channels and size, in [-1, 1])."""
        if domain is not None:
            raise UserError(f"--domain: recipe {self.cfg.recipe!r} has no domains (stargan has)")
        G = self.translator(nets, direction)
        dev = next(G.parameters()).device
        return self.forward_sample(G, x.to(dev), None, torch.Generator().manual_seed(seed))

    def picture(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """A net input as an image beside the output: output channels and size (nearest)."""
        out = self.output_spec(direction)
        return as_picture(x, out["channels"], out["resolution"])


def as_picture(x: torch.Tensor, channels: int, resolution: int) -> torch.Tensor:
    """Images ``[N, C', h, w]`` -> ``[N, channels, R, R]`` for display: gray is repeated, extra
    channels (a mask) dropped, size changed by nearest neighbour (pixels stay visible)."""
    c = x.shape[1]
    if c == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    elif c > channels:
        x = x[:, :channels] if channels == 3 or c != 3 else x.mean(1, keepdim=True)
    elif c == 3 and channels == 1:
        x = x.mean(1, keepdim=True)
    if x.shape[-1] != resolution or x.shape[-2] != resolution:
        x = F.interpolate(x.float(), size=(resolution, resolution), mode="nearest")
    return x


def labels_picture(seg: torch.Tensor) -> torch.Tensor:
    """Label maps ``[N, H, W]`` (class ids) -> colour images ``[N, 3, H, W]`` in [-1, 1]."""
    return PALETTE[seg.long().cpu() % len(PALETTE)].permute(0, 3, 1, 2).to(seg.device)


def onehot_input(seg: torch.Tensor, num_labels: int) -> torch.Tensor:
    """Class ids ``[N, H, W]`` (or ``[N, 1, H, W]``) -> one-hot ``[N, K, H, W]`` in {-1, +1}: a
    one-hot label-map input as the nets see it (``scenes-labels2photo``'s 255 / 0, scaled)."""
    seg = seg[:, 0] if seg.dim() == 4 else seg
    if seg.numel() and (int(seg.min()) < 0 or int(seg.max()) >= num_labels):
        raise UserError(f"label ids must be in 0..{num_labels - 1}, found {int(seg.min())}..{int(seg.max())}")
    return F.one_hot(seg.long(), num_labels).permute(0, 3, 1, 2).float().mul_(2).sub_(1)


class PairedRecipe(OptionalCritic, TranslationRecipe):
    """The paired game (see the module docstring); subclasses give ``recon_loss``."""

    kinds = ("paired",)
    data_hint = "e.g. edges2photo"

    d_conditional = True  # D sees cat(input, output) (pix2pix sec. 3.1) or the output alone (SRGAN)
    adversarial = True  # False: G is trained by the reconstruction loss alone (ablations)
    d_scale = 1.0  # the D loss is multiplied by this (pix2pix divides it by 2, sec. 3.3)

    def __init__(self, cfg, meta):
        super().__init__(cfg, meta)
        self.has_d = self.adversarial or bool(self.opts.get("critic", False))
        self.groups = {"G": ("G",), "D": ("D",)} if self.has_d else {"G": ("G",)}

    @classmethod
    def resolve(cls, cfg, meta):
        a, x = meta["a_shape"], meta["shape"]
        fill_kwargs(cfg.G, {"in_channels": a[0], "channels": x[0], "resolution": x[-1]})
        d_in = a[0] + x[0] if cls.d_conditional else x[0]
        fill_kwargs(cfg.D, {"in_channels": d_in, "channels": d_in, "resolution": x[-1]})
        cls.read_options(cfg)
        return cfg

    # ------------------------------------------------------------- one-hot label-map inputs
    def input_labels(self, direction: str = "AtoB") -> list[str]:
        """The class names of a one-hot label-map input (data with ``info["input_onehot"]``, e.g.
        ``scenes-labels2photo``), else []. Such a model is a label-map model to its users, as
        spade is: ``gankit translate``, the studio and ``benchmarks/i2i_eval.py`` hand it class
        ids ``[N, r, r]``, which :meth:`translate` one-hot encodes as the data does; training and
        held-out batches already hold the one-hot floats."""
        info = self.meta.get("info") or {}
        if direction != "AtoB" or not info.get("input_onehot"):
            return []
        return list(info.get("seg_classes") or [])

    def input_spec(self, direction: str = "AtoB") -> dict:
        names = self.input_labels(direction)
        if not names:
            return super().input_spec(direction)
        return {"kind": "labels", "channels": 1, "resolution": self.meta["a_shape"][-1],
                "num_labels": len(names), "label_names": names}

    @torch.no_grad()
    def translate(self, nets: dict, x: torch.Tensor, direction: str = "AtoB", domain: int | None = None,
                  seed: int = 0) -> torch.Tensor:
        """As :meth:`TranslationRecipe.translate`; for one-hot label-map inputs ``x`` may also be
        class ids (integers ``[N, r, r]`` or ``[N, 1, r, r]``)."""
        names = self.input_labels(direction)
        if names and not x.is_floating_point():
            x = onehot_input(x, len(names))
        return super().translate(nets, x, direction, domain, seed)

    def picture(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """Label-map inputs (class ids, or their one-hot floats) in the label colours; others as
        :meth:`TranslationRecipe.picture`."""
        if not self.input_labels(direction):
            return super().picture(x, direction)
        seg = x if not x.is_floating_point() else x.argmax(1)
        return labels_picture(seg[:, 0] if seg.dim() == 4 else seg)

    def generate(self, ctx: StepContext) -> dict:
        return {"fake": ctx.nets["G"](ctx.batch["A"])}  # [N, C, R, R]

    def d_input(self, a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """What D sees: the (input, output) pair stacked on channels, or the output alone."""
        if not self.d_conditional:
            return x
        if a.shape[-1] != x.shape[-1]:
            a = F.interpolate(a, size=x.shape[-2:], mode="nearest")
        return torch.cat([a, x], 1)

    def d_step(self, ctx: StepContext) -> dict:
        a, real = ctx.batch["A"], ctx.batch["B"]
        fake = ctx.fake()["fake"].detach()
        D = ctx.nets["D"]
        d_real = D(ctx.augment(self.d_input(a, real)))
        d_fake = D(ctx.augment(self.d_input(a, fake)))
        loss_d, _ = self.loss_fn(d_real, d_fake)
        return {"loss": self.d_scale * loss_d, "D/real_score": d_real.detach().float().mean(),
                "D/fake_score": d_fake.detach().float().mean(),
                "D/accuracy": d_accuracy(d_real.detach(), d_fake.detach())}

    def g_step(self, ctx: StepContext) -> dict:
        a, real = ctx.batch["A"], ctx.batch["B"]
        fake = ctx.fresh_fake_with_graph()["fake"]
        loss, logs = self.recon_loss(fake, real)
        if self.adversarial:
            _, adv = self.loss_fn(None, ctx.nets["D"](ctx.augment(self.d_input(a, fake))))
            loss = loss + self.opts["adv_weight"] * adv
            logs["G/adv"] = adv.detach()
        with torch.no_grad():
            logs["G/l1"] = (fake.detach().float() - real.float()).abs().mean()
        return {"loss": loss, **logs}

    def recon_loss(self, fake: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError
