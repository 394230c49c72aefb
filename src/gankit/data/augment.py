"""Augmentation for small data: DiffAugment, ADA and instance noise, applied to everything D sees.

Both augment real and fake images alike, differentiably, right before D (so G gets gradients
through the augmentation and D never learns that the augmented images are "the real
distribution"). The loop installs one as ``ctx.augment``; recipes call
``D(ctx.augment(x))``. Random draws use torch's global RNG, whose state the loop saves in
every checkpoint, so resumed runs stay bit-exact.

* DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
  Training"): ``color`` (brightness, saturation, contrast), ``translation`` (1/8 of the
  size, zero padding), ``cutout`` (a square of half the size), each on every image.
* ADA (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data"):
  each transform of the "bgc" pipeline (x-flip, 90-degree rotation, integer translation,
  isotropic and anisotropic scaling, rotation, fractional translation; brightness, contrast,
  luma flip, hue rotation, saturation) fires with probability p, and p follows the overfitting
  heuristic r_t = E[sign(D(real))]: every ``interval`` steps p moves by
  ``sign(r_t - target) * images / (kimg * 1000)`` (sec. 3 of the paper, target 0.6).
  ``augment.ada_pipeline`` keeps a subset (e.g. "bgc-xflip-rotate90": without the flips and
  quarter turns, which turn digits into other glyphs; measured on projection-digits it did worse,
  FID 23.3 against 4.2, as p then climbs past 0.37 and the arbitrary rotations leak); the
  left-out transforms still draw their random numbers, so the others see bgc's draws.
* Instance noise (Sonderby et al. 2017, "Amortised MAP inference for image super-resolution",
  sec. 3.3; Arjovsky & Bottou 2017): Gaussian noise of std ``augment.p`` (in the [-1, 1] pixel
  scale) added to every image D sees, so the real and fake distributions overlap and D's
  gradient stays informative. Roth et al. 2017 derive a gradient-norm penalty on D as its
  small-noise limit. Annealed with ``schedule.augment`` (e.g. ``linear`` to ``final: 0``), it
  leaves the game unchanged at the end of the run.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import UserError
from ..registry import Registry

AUGMENTS = Registry("augmentation")


# --------------------------------------------------------------------------- DiffAugment


def _brightness(x):
    return x + (torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)


def _saturation(x):
    if x.shape[1] == 1:
        return x
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean


def _contrast(x):
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def _translation(x, ratio: float = 0.125):
    """Shift by up to ``ratio`` of the size, filling with zeros (gather on a padded copy)."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    tx = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    ty = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    gy = torch.clamp(gy[None] + tx + 1, 0, h + 1)  # [N, H, W] indices into the padded image
    gx = torch.clamp(gx[None] + ty + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])  # [N, C, H+2, W+2]; the border is the zero fill
    idx = (gy * (w + 2) + gx).flatten(1)  # [N, H*W]
    out = padded.flatten(2).gather(2, idx[:, None].expand(-1, x.shape[1], -1))
    return out.view_as(x)


def _cutout(x, ratio: float = 0.5):
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    top, left = oy - ch // 2, ox - cw // 2  # the square may hang over the border
    inside = (gy[None] >= top) & (gy[None] < top + ch) & (gx[None] >= left) & (gx[None] < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


DIFFAUGMENT_POLICIES = {
    "color": (_brightness, _saturation, _contrast),
    "translation": (_translation,),
    "cutout": (_cutout,),
}


class _Fixed:
    """An augmentation that D's outputs do not steer (ADA's ``observe`` does): nothing to save."""

    def observe(self, real_sign: float, n_images: int) -> None:
        pass

    def state(self) -> dict:
        return {}

    def load_state(self, state: dict) -> None:
        pass

    def logs(self) -> dict:
        return {}


class DiffAugment(_Fixed):
    """The same random transforms on every image D sees (real or fake), differentiably."""

    def __init__(self, policy: str = "color,translation,cutout"):
        names = [p.strip() for p in policy.split(",") if p.strip()]
        for p in names:
            if p not in DIFFAUGMENT_POLICIES:
                raise UserError(f"augment.policy: unknown DiffAugment policy {p!r}; "
                                f"choices: {', '.join(DIFFAUGMENT_POLICIES)}")
        self.fns = [f for p in names for f in DIFFAUGMENT_POLICIES[p]]
        self.p = 1.0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for f in self.fns:
            x = f(x)
        return x


# ------------------------------------------------------------------------ instance noise


class InstanceNoise(_Fixed):
    """``x + p * N(0, 1)`` on every image D sees (real or fake); ``p`` is the noise's std, which
    ``schedule.augment`` scales over the run (the loop sets ``p``)."""

    def __init__(self, std: float):
        if not std >= 0:
            raise UserError(f"augment.p is the instance noise's std: >= 0, got {std}")
        self.p = float(std)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.p * torch.randn_like(x) if self.p > 0 else x

    def logs(self) -> dict:
        return {"augment/noise_std": self.p}


# ------------------------------------------------------------------------------- ADA


def _gate(n: int, p: float, device) -> torch.Tensor:
    """1.0 where a transform fires (probability p), else 0.0; shape [N]."""
    return (torch.rand(n, device=device) < p).float()


ADA_GROUPS = {
    "b": ("xflip", "rotate90", "xint"),
    "g": ("scale", "rotate", "aniso", "xfrac"),
    "c": ("brightness", "contrast", "lumaflip", "hue", "saturation"),
}
"""stylegan2-ada-pytorch's pipeline groups: blit, geometric, colour (its ``augpipe`` letters)."""
ADA_TRANSFORMS = tuple(t for g in ADA_GROUPS.values() for t in g)


def ada_transforms(pipeline: str) -> frozenset:
    """The transforms an ``augment.ada_pipeline`` names: group letters as in the authors'
    ``--augpipe`` ("bgc", "bg", "gc", ...), optionally less some transforms ("bgc-xflip-rotate90":
    bgc without the x-flip and 90-degree rotations, which are not invariances of digits or text),
    or a comma list of transforms ("xint,scale,rotate")."""
    spec = pipeline.replace(" ", "")
    head, *minus = spec.split("-")
    if head and set(head) <= set(ADA_GROUPS):
        names = [t for letter in head for t in ADA_GROUPS[letter]]
    else:
        if minus:
            head, minus = spec, []  # not group letters: no exclusions either
        names = [t for t in head.split(",") if t]
    bad = [t for t in names + minus if t not in ADA_TRANSFORMS]
    kept = frozenset(names) - frozenset(minus)
    if bad or not kept:
        raise UserError(f"augment.ada_pipeline {pipeline!r}: "
                        + (f"unknown {', '.join(bad)}" if bad else "no transform left")
                        + f" (group letters of 'bgc', '-' to leave a transform out, or a comma list of: "
                        f"{', '.join(ADA_TRANSFORMS)})")
    return kept


class ADA:
    """Adaptive discriminator augmentation (Karras et al. 2020), "bgc" pipeline by default;
    ``pipeline`` keeps a subset of its transforms (:func:`ada_transforms`)."""

    def __init__(self, target: float = 0.6, interval: int = 4, kimg: float = 100.0, p: float = 0.0,
                 adaptive: bool = True, pipeline: str = "bgc"):
        self.transforms = ada_transforms(pipeline)
        if not 0 < target < 1:
            raise UserError(f"augment.ada_target must be in (0, 1), got {target}")
        if interval < 1 or kimg <= 0:
            raise UserError("augment.ada_interval must be >= 1 and augment.ada_kimg > 0")
        self.target, self.interval, self.kimg, self.adaptive = target, interval, kimg, adaptive
        self.p = float(p)
        self._signs: list[float] = []
        self._images = 0
        self.rt = float("nan")

    # ---- the pipeline ----
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.p <= 0:
            return x
        n, c, h, w = x.shape
        dev, p = x.device, self.p
        eye = torch.eye(3, device=dev).expand(n, 3, 3)
        m = eye.clone()  # [N, 3, 3] maps output coords -> input coords (normalised [-1, 1])

        def compose(t):
            nonlocal m
            m = m @ t

        def mat(a, b, tx, c_, d, ty):
            out = torch.zeros(n, 3, 3, device=dev)
            out[:, 0, 0], out[:, 0, 1], out[:, 0, 2] = a, b, tx
            out[:, 1, 0], out[:, 1, 1], out[:, 1, 2] = c_, d, ty
            out[:, 2, 2] = 1
            return out

        one, zero = torch.ones(n, device=dev), torch.zeros(n, device=dev)
        on = self.transforms

        def gate(name, prob=p):  # fires with probability prob, never when the pipeline leaves it out
            return _gate(n, prob if name in on else 0.0, dev)

        # blit: x-flip, 90-degree rotations, integer translation
        flip = 1 - 2 * (gate("xflip") * torch.randint(0, 2, (n,), device=dev))
        compose(mat(flip, zero, zero, zero, one, zero))
        k = gate("rotate90") * torch.randint(0, 4, (n,), device=dev)
        ang = k * (math.pi / 2)
        compose(mat(torch.cos(ang), -torch.sin(ang), zero, torch.sin(ang), torch.cos(ang), zero))
        g = gate("xint")
        t = (torch.rand(n, 2, device=dev) * 2 - 1) * 0.125 * 2  # up to 1/8 of the size
        t = torch.round(t * torch.tensor([w / 2, h / 2], device=dev)) / torch.tensor([w / 2, h / 2], device=dev)
        compose(mat(one, zero, g * t[:, 0], zero, one, g * t[:, 1]))
        # geom: isotropic scale, rotation (split in two as in the paper), anisotropic, fractional translation
        s = torch.exp2(gate("scale") * torch.randn(n, device=dev) * 0.2)
        compose(mat(s, zero, zero, zero, s, zero))
        p_rot = 1 - math.sqrt(max(0.0, 1 - p))
        for _ in range(2):
            a = gate("rotate", p_rot) * (torch.rand(n, device=dev) * 2 - 1) * math.pi
            compose(mat(torch.cos(a), -torch.sin(a), zero, torch.sin(a), torch.cos(a), zero))
        s = torch.exp2(gate("aniso") * torch.randn(n, device=dev) * 0.2)
        compose(mat(s, zero, zero, zero, 1 / s, zero))
        g = gate("xfrac")
        t = torch.randn(n, 2, device=dev) * 0.125 * 2
        compose(mat(one, zero, g * t[:, 0], zero, one, g * t[:, 1]))
        if not torch.equal(m, eye):
            grid = F.affine_grid(m[:, :2, :].to(x.dtype), list(x.shape), align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        # color: brightness, contrast, luma flip, hue rotation, saturation (RGB only for the last three)
        x = x + (gate("brightness") * torch.randn(n, device=dev) * 0.2).view(n, 1, 1, 1).to(x.dtype)
        x = x * torch.exp2(gate("contrast") * torch.randn(n, device=dev) * 0.5).view(n, 1, 1, 1).to(x.dtype)
        if c == 3:
            v = torch.tensor([1.0, 1.0, 1.0], device=dev) / math.sqrt(3)  # luma axis
            lum = (x * v.view(1, 3, 1, 1).to(x.dtype)).sum(1, keepdim=True) * v.view(1, 3, 1, 1).to(x.dtype)
            flipl = gate("lumaflip") * torch.randint(0, 2, (n,), device=dev)
            x = x - 2 * flipl.view(n, 1, 1, 1).to(x.dtype) * lum
            theta = gate("hue") * (torch.rand(n, device=dev) * 2 - 1) * math.pi
            x = _hue_rotate(x, theta, v)
            sat = torch.exp2(gate("saturation") * torch.randn(n, device=dev) * 1.0).view(n, 1, 1, 1).to(x.dtype)
            lum = (x * v.view(1, 3, 1, 1).to(x.dtype)).sum(1, keepdim=True) * v.view(1, 3, 1, 1).to(x.dtype)
            x = lum + (x - lum) * sat
        return x

    # ---- the controller ----
    def observe(self, real_sign: float, n_images: int) -> None:
        """Feed E[sign(D(real))] of a D step; every ``interval`` observations, adjust p."""
        if not self.adaptive:
            return
        self._signs.append(float(real_sign))
        self._images += n_images
        if len(self._signs) >= self.interval:
            self.rt = sum(self._signs) / len(self._signs)
            step = math.copysign(self._images / (self.kimg * 1000), self.rt - self.target)
            self.p = min(max(self.p + step, 0.0), 1.0)
            self._signs, self._images = [], 0

    def state(self) -> dict:
        return {"p": self.p, "signs": self._signs, "images": self._images}

    def load_state(self, state: dict) -> None:
        self.p = float(state.get("p", self.p))
        self._signs = list(state.get("signs", []))
        self._images = int(state.get("images", 0))

    def logs(self) -> dict:
        out = {"aug/p": self.p}
        if math.isfinite(self.rt):
            out["aug/rt"] = self.rt
        return out


def _hue_rotate(x: torch.Tensor, theta: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    """Rotate RGB vectors about the luma axis by ``theta`` (Rodrigues' formula), per sample."""
    n = len(x)
    k = torch.zeros(3, 3, device=x.device)
    k[0, 1], k[0, 2], k[1, 0], k[1, 2], k[2, 0], k[2, 1] = -axis[2], axis[1], axis[2], -axis[0], -axis[1], axis[0]
    cos, sin = torch.cos(theta).view(n, 1, 1), torch.sin(theta).view(n, 1, 1)
    r = torch.eye(3, device=x.device) + sin * k + (1 - cos) * (k @ k)  # [N, 3, 3]
    return torch.einsum("nij,njhw->nihw", r.to(x.dtype), x)


AUGMENTS.register("diffaugment", lambda a: DiffAugment(a.policy))
AUGMENTS.register("ada", lambda a: ADA(a.ada_target, a.ada_interval, a.ada_kimg, a.p, adaptive=True,
                                        pipeline=a.ada_pipeline))
AUGMENTS.register("ada-fixed", lambda a: ADA(a.ada_target, a.ada_interval, a.ada_kimg, a.p, adaptive=False,
                                              pipeline=a.ada_pipeline))
AUGMENTS.register("noise", lambda a: InstanceNoise(a.p))
SCHEDULABLE_P_MAX = {"ada-fixed": 1.0, "noise": math.inf}
"""The augmentations whose ``augment.p`` ``schedule.augment`` may scale (the loop sets ``p`` each
step; the adaptive ones steer it themselves), with the ceiling of p: a probability, or a std."""


def build_augment(acfg):
    """The augmentation a config asks for, or None (``augment.name`` empty)."""
    if not acfg.name:
        return None
    return AUGMENTS.get(acfg.name)(acfg)
