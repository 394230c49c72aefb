"""SRGAN and its MSE baseline SRResNet (Ledig et al. 2017): x4 super-resolution on paired data
whose inputs are stored at a quarter of the resolution (``lowres2highres``)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import UserError
from ..nets.srresnet import RandomFeatures
from ..registry import RECIPES
from .base import fill_kwargs
from .translation import PairedRecipe

CONTENT = ("randconv", "vgg", "mse")


def _scale(cfg, meta) -> int:
    a, x = meta["a_shape"], meta["shape"]
    if x[-1] % a[-1] or x[-1] // a[-1] < 2:
        raise UserError(f"recipe {cfg.recipe!r}: inputs ({a[-1]} px) must be smaller than targets ({x[-1]} px) "
                        f"by an integer factor (e.g. lowres2highres)")
    return x[-1] // a[-1]


class _SuperResolution(PairedRecipe):
    data_hint = "e.g. lowres2highres"
    d_conditional = False  # SRGAN's D judges the high-res image alone (fig. 4)
    super_resolution = True  # fully convolutional: `gankit translate` upscales any size by G's scale

    def input_spec(self, direction: str = "AtoB") -> dict:
        return {**super().input_spec(direction), "native": True}  # read at the file's own size

    @classmethod
    def resolve(cls, cfg, meta):
        fill_kwargs(cfg.G, {"scale": _scale(cfg, meta)})
        return super().resolve(cfg, meta)


@RECIPES.register("srgan")
class SRGAN(_SuperResolution):
    """Ledig et al. 2017, eq. 3: ``l_SR = l_X + 10^-3 l_Gen``.

    * ``l_Gen`` (eq. 6): ``-log D(G(I_LR))``, the non-saturating loss (``loss.name``), weight
      ``options.adv_weight = 1e-3``; D is the eight-conv VGG-style net of fig. 4 (``srgan_d``).
    * ``l_X``, the content loss (eq. 5): the squared distance of feature maps of the output and
      the target, ``1/(W H) sum (phi(I_HR) - phi(G(I_LR)))^2``, averaged over feature layers,
      plus ``options.pixel_weight`` x the pixel MSE (eq. 4). ``options.content``:

      - ``randconv`` (default, offline): phi = a fixed, seeded random conv net
        (:class:`gankit.nets.srresnet.RandomFeatures`) at full resolution and after each of its
        three stride-2 stages; no download, same weights everywhere.
      - ``vgg``: phi = VGG19's conv5_4 activations ("VGG54"), rescaled by 1/12.75 as in the
        paper; needs ``torchvision`` and a local weights file ``options.vgg_weights``
        (a VGG19 ``state_dict`` as .pth/.safetensors). Imported lazily, only when chosen.
      - ``mse``: pixel MSE (eq. 4), i.e. the SRGAN-MSE variant of Table 2.

    Where this departs from the paper, and why:

    * The paper's VGG54 content has no pixel term; random features do not pin colour and mean
      intensity as a trained VGG does, so ``pixel_weight`` (1.0) anchors them, as ESRGAN (Wang
      et al. 2018) adds an L1 term to its perceptual loss. ``pixel_weight: 0`` is the paper's.
    * G starts from the trained SRResNet as in the paper (sec. 3.2): train ``srresnet`` first,
      then ``gankit train --recipe srgan --init-from RUN`` (``loop.init_from``); the preset's lr
      steps from 1e-4 to 1e-5 halfway (the paper: 10^5 updates at each), and its run is 1,500
      steps: the outputs' period-2 energy grows with longer adversarial training on our nine
      photos (docs/results/image-to-image.md).
    * Sizes: 8 residual blocks of 32 channels on 64 px crops (the paper: 16 of 64 on 96 px),
      for a CPU budget; the ``lowres2highres`` presets drop batch norm (``norm: none``, EDSR),
      which measured 0.5 dB better on held-out photos (docs/results/image-to-image.md).
    """

    name = "srgan"
    description = "Ledig et al. 2017: SRResNet G (x4 pixel shuffle), conv D, content loss + 1e-3 adversarial"
    options = {"content": "randconv", "content_weight": 1.0, "pixel_weight": 1.0, "adv_weight": 1e-3,
               "vgg_weights": ""}

    @classmethod
    def resolve(cls, cfg, meta):
        o = cls.read_options(cfg)
        if o["content"] not in CONTENT:
            raise UserError(f"options.content must be one of {', '.join(CONTENT)}, got {o['content']!r}")
        if o["content"] == "vgg":
            _vgg_available(o["vgg_weights"])
        return super().resolve(cfg, meta)

    def __init__(self, cfg, meta):
        super().__init__(cfg, meta)
        self._phi = None

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """phi(x) for the content loss: a list of feature maps (built on first use)."""
        if self._phi is None:
            self._phi = _vgg54(self.opts["vgg_weights"]) if self.opts["content"] == "vgg" \
                else RandomFeatures(self.meta["shape"][0], full_res=True)
        self._phi = self._phi.to(x.device)
        return self._phi(x)

    def recon_loss(self, fake, real):
        pixel = F.mse_loss(fake.float(), real.float())
        if self.opts["content"] == "mse":
            return self.opts["content_weight"] * pixel, {"G/content": pixel.detach()}
        ff, fr = self.features(fake.float()), self.features(real.float())
        content = sum(F.mse_loss(a, b.detach()) for a, b in zip(ff, fr)) / len(ff)
        loss = self.opts["content_weight"] * content + self.opts["pixel_weight"] * pixel
        return loss, {"G/content": content.detach(), "G/mse": pixel.detach()}


@RECIPES.register("srresnet")
class SRResNetRecipe(_SuperResolution):
    """SRResNet (Ledig et al. 2017, sec. 2.2 / Table 2 "SRResNet-MSE"): the SRGAN generator
    trained by pixel MSE (eq. 4) alone: the PSNR-oriented baseline, sharp edges but smooth
    textures. Like ``l1-only`` it keeps an optional critic (``options.critic``) that G never
    sees, to measure how distinguishable its outputs are. ``options.pixel``: ``mse`` (the
    paper's eq. 4) or ``l1`` (EDSR, Lim et al. 2017: L1 trains to a higher PSNR than MSE);
    ``G/mse`` is logged either way."""

    name = "srresnet"
    description = "Ledig et al. 2017: the SRResNet x4 generator trained by pixel MSE alone (PSNR baseline)"
    options = {"critic": True, "pixel": "mse"}
    adversarial = False

    @classmethod
    def resolve(cls, cfg, meta):
        o = cls.read_options(cfg)
        if o["pixel"] not in ("mse", "l1"):
            raise UserError(f"options.pixel must be mse or l1, got {o['pixel']!r}")
        return super().resolve(cfg, meta)

    def recon_loss(self, fake, real):
        fake, real = fake.float(), real.float()
        mse = F.mse_loss(fake, real)
        if self.opts["pixel"] == "l1":
            l1 = F.l1_loss(fake, real)
            return l1, {"G/mse": mse.detach(), "G/l1": l1.detach()}
        return mse, {"G/mse": mse.detach()}


def _vgg_available(weights: str) -> None:
    try:
        import torchvision  # noqa: F401
    except ImportError:
        raise UserError("options.content=vgg needs torchvision (not installed); use options.content=randconv") from None
    if not weights:
        raise UserError("options.content=vgg needs options.vgg_weights: a local VGG19 weights file")
    from pathlib import Path

    if not Path(weights).is_file():
        raise UserError(f"options.vgg_weights: {weights}: no such file")


def _vgg54(weights: str):
    """VGG19 up to conv5_4 + ReLU (before the 5th pool), frozen; inputs [-1, 1] are mapped to
    ImageNet normalisation; the output is divided by 12.75 (Ledig et al. 2017, sec. 3.2)."""
    import torchvision
    from torch import nn

    _vgg_available(weights)
    vgg = torchvision.models.vgg19()
    if weights.endswith(".safetensors"):
        from safetensors.torch import load_file

        state = load_file(weights)
    else:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    vgg.load_state_dict(state)
    body = vgg.features[:36].eval().requires_grad_(False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    class VGG54(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = body
            self.register_buffer("mean", mean)
            self.register_buffer("std", std)

        def forward(self, x):
            x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
            return [self.body(((x + 1) / 2 - self.mean) / self.std) / 12.75]

    return VGG54()
