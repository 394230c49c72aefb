"""Next-frame prediction on video clips: ``next-frame`` (adversarial + L1) and ``next-frame-l1``.

Mathieu, Couprie & LeCun (2016) showed why a video predictor trained by an L_p loss alone is
blurry: when the future is uncertain (where exactly will the digit be? does it bounce?) the
loss is minimised by the *average* of the possible next frames. They add an adversarial loss
(eq. 6-7: a D that tells (context, real next frame) from (context, predicted next frame)) so
the prediction must look like *one* plausible frame. Here, on the common loop:

* G (``unet_g``, a U-Net) maps the last ``options.context`` frames, stacked on channels, to the
  next frame; D (``patchgan_d``) sees the context with the real or predicted frame stacked on
  channels (a conditional PatchGAN, as pix2pix; Mathieu et al. use a multi-scale D);
* each step trains on one random position per clip (seeded by the step): context frames
  ``t0 .. t0+K-1``, target ``t0+K``;
* ``next-frame``: G's loss is ``l1_weight * |G(c) - x|_1 + adv_weight * L_adv``;
  ``next-frame-l1``: the L1 term alone (the ablation); a critic D trains beside it that G never
  sees (``options.critic``), so both runs log a comparable ``D/accuracy``.

Sampling rolls the model out: the first ``context`` frames of a held-out clip are given, and
every predicted frame is fed back in to predict the next, to the clip's end. ``gankit sample``
writes GIFs of rollouts; ``benchmarks/beyond_images.py`` scores PSNR, SSIM and sharpness per
predicted frame (:mod:`gankit.metrics.video_metrics`).
"""
from __future__ import annotations

import inspect

import torch

from ..data import video as _video  # noqa: F401  (registers moving-digits, the GIF writer and the preview)
from ..errors import UserError
from ..losses import d_accuracy
from ..registry import NETS, RECIPES
from .base import OptionalCritic, Recipe, StepContext, fill_kwargs


class NextFrameRecipe(OptionalCritic, Recipe):
    """Conditional next-frame prediction (see the module docstring)."""

    kinds = ("video",)
    data_hint = "e.g. moving-digits"

    options: dict = {"context": 4, "l1_weight": 100.0, "adv_weight": 1.0}
    adversarial = True

    def __init__(self, cfg, meta):
        super().__init__(cfg, meta)
        self.opts = self.read_options(cfg)
        self.has_d = self.adversarial or bool(self.opts.get("critic", False))
        self.groups = {"G": ("G",), "D": ("D",)} if self.has_d else {"G": ("G",)}

    @classmethod
    def resolve(cls, cfg, meta):
        opts = cls.read_options(cfg)
        frames, channels, res = int(meta["shape"][0]), int(meta["shape"][1]), int(meta["shape"][-1])
        k = opts["context"]
        if not 1 <= k < frames:
            raise UserError(f"options.context={k} must be in 1..{frames - 1} (clips of {frames} frames)")
        for role, net, c_in in (("G", cfg.G, k * channels), ("D", cfg.D, (k + 1) * channels)):
            params = inspect.signature(NETS.get(net.name)).parameters if net.name else {}
            if "in_channels" not in params:
                raise UserError(f"{role}.name={net.name!r} takes no stacked frames; use unet_g / patchgan_d")
            fill_kwargs(net, {"in_channels": c_in, "channels": channels, "resolution": res})
        return cfg

    # ----------------------------------------------------------------- training
    def generate(self, ctx: StepContext) -> dict:
        """One random (context, next frame) position per clip; G's prediction for it."""
        clips = ctx.batch["real"]  # [N, T, C, H, W]
        n, t = clips.shape[:2]
        k = self.opts["context"]
        t0 = ctx.randint(t - k, n)  # [N]
        steps = t0[:, None] + torch.arange(k + 1, device=clips.device)[None, :]  # [N, K+1]
        window = clips[torch.arange(n, device=clips.device)[:, None], steps]  # [N, K+1, C, H, W]
        context = window[:, :k].flatten(1, 2)  # [N, K*C, H, W]
        return {"fake": ctx.nets["G"](context), "y": None, "context": context, "target": window[:, k]}

    def d_step(self, ctx: StepContext) -> dict:
        f = ctx.fake()
        D = ctx.nets["D"]
        d_real = D(torch.cat([f["context"], f["target"]], 1))
        d_fake = D(torch.cat([f["context"], f["fake"].detach()], 1))
        loss, _ = self.loss_fn(d_real, d_fake)
        return {"loss": loss, "D/real_score": d_real.detach().float().mean(),
                "D/fake_score": d_fake.detach().float().mean(),
                "D/accuracy": d_accuracy(d_real.detach(), d_fake.detach())}

    def g_step(self, ctx: StepContext) -> dict:
        f = ctx.fresh_fake_with_graph()
        l1 = (f["fake"].float() - f["target"].float()).abs().mean()
        logs = {"G/l1": l1.detach()}
        if not self.adversarial:
            return {"loss": l1, **logs}
        _, adv = self.loss_fn(None, ctx.nets["D"](torch.cat([f["context"], f["fake"]], 1)))
        logs["G/adv"] = adv.detach()
        return {"loss": self.opts["l1_weight"] * l1 + self.opts["adv_weight"] * adv, **logs}

    # ----------------------------------------------------------------- rollouts
    def held_out(self):
        """The data's test clips (cached)."""
        return self.splits.get("test")

    def held_out_clips(self, n: int, seed: int) -> torch.Tensor:
        """``n`` held-out clips [n, T, C, H, W] in [-1, 1], chosen by a seeded permutation."""
        data = self.held_out()
        idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[torch.arange(n) % len(data)]
        return data.to_float(data.x[idx])

    @torch.no_grad()
    def rollout(self, G, context: torch.Tensor, steps: int) -> torch.Tensor:
        """Frames [N, K, C, H, W] -> ``steps`` predicted frames [N, steps, C, H, W], each fed back."""
        frames = list(context.unbind(1))
        k = context.shape[1]
        out = []
        for _ in range(steps):
            nxt = G(torch.cat(frames[-k:], 1)).float()  # [N, C, H, W]
            out.append(nxt)
            frames.append(nxt.to(context.dtype))
        return torch.stack(out, 1)

    @torch.no_grad()
    def sample(self, G, n: int, seed: int, y=None, **kw) -> torch.Tensor:
        """Rollouts of ``n`` held-out clips: the first ``context`` frames given, the rest
        predicted; ``[n, T, C, H, W]`` in [-1, 1]."""
        dev = next(G.parameters()).device
        clips = self.held_out_clips(n, seed).to(dev)
        k = self.opts["context"]
        pred = self.rollout(G, clips[:, :k], clips.shape[1] - k)
        return torch.cat([clips[:, :k].float(), pred], 1)

    @torch.no_grad()
    def sample_grid(self, G, n: int, seed: int) -> torch.Tensor:
        """For the loop's pictures: ``n // 2`` held-out clips, each followed by its rollout."""
        m = max(1, n // 2)
        dev = next(G.parameters()).device
        real = self.held_out_clips(m, seed).to(dev).float()
        fake = self.sample(G, m, seed)
        return torch.stack([real, fake], 1).flatten(0, 1)


@RECIPES.register("next-frame")
class NextFrame(NextFrameRecipe):
    """Mathieu et al. 2016: next-frame prediction by L1 plus an adversarial loss."""

    name = "next-frame"
    description = "Mathieu et al. 2016: next-frame prediction, U-Net G + conditional PatchGAN D, adversarial + L1"
    options = {"context": 4, "l1_weight": 100.0, "adv_weight": 1.0}


@RECIPES.register("next-frame-l1")
class NextFrameL1(NextFrameRecipe):
    """The ablation: the same U-Net trained by L1 alone (the blurry average of possible futures)."""

    name = "next-frame-l1"
    description = "next-frame's L1-only ablation: the same U-Net by L1 alone (blurry average); optional critic"
    options = {"context": 4, "critic": True}
    adversarial = False
