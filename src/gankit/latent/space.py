"""Latent spaces (z, w, w+), the seed -> latent rule, and the checks every latent tool shares."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..checkpoint import Model, unwrap
from ..errors import UserError
from ..modality import modality

SPACES = ("z", "w", "w+")
CHUNK = 256


# ----------------------------------------------------------------------------- model checks


def is_style_based(model: Model) -> bool:
    """True for generators with a mapping and a synthesis network (StyleGAN2)."""
    from ..nets.stylegan2 import is_style_based as style_net

    return style_net(unwrap(model.generator))


def check_model(model: Model, verb: str) -> None:
    """UserError (exit 2) unless the checkpoint is a noise-to-image generator."""
    from ..translate import is_translation_model

    kind = modality(model.meta)
    why = None
    if not kind.images:
        why = f"it makes {kind}"
    elif is_translation_model(model):
        why = "it is an image-to-image model"
    elif model.recipe.text_conditional:
        why = "it is conditioned on text"
    elif not hasattr(unwrap(model.generator), "z_dim"):
        why = "its generator has no latent input"
    if why:
        raise UserError(f"--checkpoint {model.path}: {verb} needs a noise-to-image generator "
                        f"(e.g. dcgan, stylegan2, infogan); recipe {model.config.recipe!r} does not fit: {why}")


def check_space(model: Model, space: str, allowed: tuple[str, ...] = SPACES) -> None:
    if space not in allowed:
        raise UserError(f"--space must be one of {', '.join(allowed)}, got {space!r}")
    if space in ("w", "w+") and not is_style_based(model):
        raise UserError(f"--space {space}: only style-based generators (stylegan2) have a w space; "
                        f"recipe {model.config.recipe!r} has only z")


def check_truncation(truncation: float | None) -> None:
    if truncation is not None and not 0 < truncation <= 10:
        raise UserError(f"--truncation must be in (0, 10], got {truncation}")


def parse_seeds(text: str | int | list, flag: str = "--seeds") -> list[int]:
    """``"1,2,5"`` or ``"0-9"`` (inclusive ranges) or a list -> ints."""
    if isinstance(text, int):
        return [text]
    if isinstance(text, (list, tuple)):
        return [int(s) for s in text]
    out: list[int] = []
    try:
        for part in str(text).split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part[1:]:  # a range a-b (seeds are non-negative)
                a, b = part.split("-", 1)
                out.extend(range(int(a), int(b) + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise UserError(f"{flag}: expected integers like 1,2,5 or 0-9, got {text!r}") from None
    if not out:
        raise UserError(f"{flag}: no seed in {text!r}")
    return out


# ----------------------------------------------------------------------------- latent spaces


class _Capture(nn.Module):
    """Stands in for G inside ``recipe.sample`` to record the (z, y) it is called with."""

    def __init__(self, G: nn.Module):
        super().__init__()
        self.G = G
        self.z_dim = G.z_dim
        self.num_classes = getattr(G, "num_classes", 0)
        self.calls: list = []

    def forward(self, z, y=None, *a, **k):
        self.calls.append((z.detach().clone(), None if y is None else y.detach().clone()))
        return self.G(z, y, *a, **k)


@dataclass
class LatentSpace:
    """Latent codes of one model's generator in one space, and the images they make.

    ``codes(seeds)`` -> latents ``[N, *shape]``; ``render(codes)`` -> images ``[N, C, R, R]``
    in [-1, 1] (differentiable; wrap in ``torch.no_grad()`` when not optimising).
    """

    model: Model
    space: str = "z"
    class_: int | None = None
    truncation: float | None = None

    def __post_init__(self):
        check_space(self.model, self.space)
        check_truncation(self.truncation)
        self.G = unwrap(self.model.generator)
        self.style = is_style_based(self.model)
        ncls = int(getattr(self.G, "num_classes", 0) or 0)
        self.num_classes = ncls
        if self.class_ is not None:
            if not ncls:
                raise UserError("--class: this model is not class-conditional")
            if not 0 <= self.class_ < ncls:
                raise UserError(f"--class must be in 0..{ncls - 1}, got {self.class_}")
        self.y = torch.tensor([self.class_ or 0]) if ncls else None

    # --- shapes -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        if self.space == "z":
            return (self.G.z_dim,)
        if self.space == "w":
            return (self.G.w_dim,)
        return (self.G.num_ws, self.G.w_dim)

    def _labels(self, n: int):
        return None if self.y is None else self.y.expand(n)

    # --- latents --------------------------------------------------------------
    @torch.no_grad()
    def sample_codes(self, n: int, seed: int) -> torch.Tensor:
        """``n`` latents exactly as ``recipe.sample(G, n, seed)`` draws them (the class fixed)."""
        if self.style:
            z = torch.randn(n, self.G.z_dim, generator=torch.Generator().manual_seed(int(seed)))
            if self.space == "z":
                return z
            ws = self.G.mapping(z, self.truncation)  # [n, num_ws, w_dim]
            return ws[:, 0].clone() if self.space == "w" else ws.clone()
        cap = _Capture(self.G)
        kw = {} if self.truncation is None else {"truncation": self.truncation}
        self.model.recipe.sample(cap, n, int(seed), self._labels(n), **kw)
        if not cap.calls:
            raise UserError(f"recipe {self.model.config.recipe!r}: its sampler does not call the generator "
                            f"with a latent; latent tools do not apply")
        return cap.calls[0][0]

    def codes(self, seeds) -> torch.Tensor:
        """One latent per seed ``[len(seeds), *shape]``."""
        return torch.cat([self.sample_codes(1, s) for s in parse_seeds(seeds)])

    def mean(self) -> torch.Tensor:
        """The mean latent ``[*shape]``: ``w_avg`` in w / w+, zeros in z (for InfoGAN, zero noise
        and uniform categorical codes)."""
        if self.space == "z":
            if self.model.recipe.latent_codes:
                return self.sample_codes(512, 0).mean(0)
            return torch.zeros(self.shape)
        w = self.G.mapping.w_avg.detach().float().clone()
        return w if self.space == "w" else w[None].repeat(self.G.num_ws, 1)

    # --- images ---------------------------------------------------------------
    def render(self, codes: torch.Tensor) -> torch.Tensor:
        """Images ``[N, C, R, R]`` of latents ``[N, *shape]`` (fixed 'const' noise for stylegan2)."""
        n = len(codes)
        if self.style:
            if self.space == "z":
                ws = self.G.mapping(codes, self.truncation)
            elif self.space == "w":
                ws = codes[:, None].expand(-1, self.G.num_ws, -1)
            else:
                ws = codes
            return self.G.synthesis(ws, noise_mode="const")
        y = self._labels(n)
        return self.G(codes, y)

    @torch.no_grad()
    def images(self, codes: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.render(codes[s:s + CHUNK]).float() for s in range(0, len(codes), CHUNK)])
