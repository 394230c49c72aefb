"""The pictures of each page, made by the library: a thin adapter that holds the model's lock.

Sampling is :func:`gankit.generate.sample` (what ``gankit sample`` draws), latents and their
images are :class:`gankit.latent.LatentSpace` (a seed's latent is the one the recipe samples),
interpolation is :func:`gankit.latent.interpolate_codes` / :func:`gankit.latent.slerp`, edits
:func:`gankit.latent.apply_direction`, the style-mixing grid
:func:`gankit.generate.style_mixing_grid`, translation :mod:`gankit.translate`. Nothing here
re-implements their maths; it only bounds what the page may ask for and takes the lock.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .. import generate as gen
from .. import translate as tr
from ..errors import UserError
from ..latent import LatentSpace, apply_direction, interpolate_codes, slerp
from .models import Loaded, direction_offset, takes_text


def provenance(lm: Loaded, seed=None, **extra) -> dict:
    """PNG text chunks of a generated picture: what made it (recipe, checkpoint label, the
    weights' sha256), the seed, and that it is synthetic (no absolute path)."""
    info = dict(gen.provenance(lm.model, seed))  # the chunks `gankit sample` writes
    info["gankit:checkpoint"] = lm.label
    info.update({f"gankit:{k}": v for k, v in extra.items() if v is not None})
    info["synthetic"] = "true"
    info["Software"] = "gankit studio (generated image)"
    return info


def generate(lm: Loaded, n: int, seed: int, class_: int | None = None, truncation: float | None = None,
             text: str | None = None) -> torch.Tensor:
    """``n`` samples, the same as ``gankit sample --seed`` (with ``--text`` for text models)."""
    texts = [text] * n if text is not None and takes_text(lm) else None
    with lm.lock:
        return gen.sample(lm.model, n, seed, class_, truncation, texts=texts)


def interpolate(lm: Loaded, seed_a: int, seed_b: int, t: float, mode: str = "slerp", frames: int = 8,
                class_: int | None = None, truncation: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The image at ``t`` in [0, 1] between two seeds' z, and a strip of ``frames`` evenly spaced ones."""
    with lm.lock:
        ls = LatentSpace(lm.model, "z", class_, truncation)
        codes = ls.codes([seed_a, seed_b])  # [2, z_dim]
        strip, _ = interpolate_codes(codes, frames, mode)  # [frames, z_dim], ends included
        a, b = codes[:1], codes[1:]
        one = slerp(a, b, t) if mode == "slerp" else torch.lerp(a, b, t)
        x = ls.images(torch.cat([strip, one])).cpu()
    return x[-1:], x[:-1]


def edit(lm: Loaded, seed: int, amounts: dict[str, float], class_: int | None = None,
         truncation: float | None = None) -> torch.Tensor:
    """The image of ``seed`` moved along latent directions: ``code + sum_k amounts[k] * d_k``
    (in the directions' space: z, or w for a style-based generator)."""
    space, offset = direction_offset(lm, amounts)
    with lm.lock:
        ls = LatentSpace(lm.model, space, class_, truncation)
        return ls.images(apply_direction(ls.codes([seed]), offset, 1.0)).cpu()


def mix(lm: Loaded, coarse: list[int], fine: list[int], crossover: int, truncation: float | None = None) -> torch.Tensor:
    """The style-mixing grid ``[(len(coarse) + 1) * (len(fine) + 1)]`` with the plain images as
    the top row (fine sources) and left column (coarse sources), the corner blank."""
    with lm.lock:
        return gen.style_mixing_grid(lm.model, coarse, fine, crossover, truncation)


MAX_SR_SIDE = 256  # a 4x model answers with at most 1024 x 1024 pixels


def translate_file(lm: Loaded, path: str, direction: str = "AtoB", domain: int | None = None,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(input as a picture, output) of a translation model on one image file ``[1, C, R, R]`` each."""
    if not tr.is_translation_model(lm.model):
        raise UserError(f"translate: {lm.model.config.recipe} is not an image-to-image model")
    rec = lm.model.recipe
    rec.translator(lm.model.nets, direction)  # UserError for a direction the model cannot do
    domains = rec.domains()
    if domains:
        domain = 0 if domain is None else domain
        if not 0 <= domain < len(domains):
            raise UserError(f"domain must be in 0..{len(domains) - 1}, got {domain}")
    else:
        domain = None
    spec = rec.input_spec(direction)
    if spec.get("native"):  # super-resolution: the picture at its own size, upscaled by the factor
        x = tr.read_native(Path(path), spec["channels"])
        if max(x.shape[-2:]) > MAX_SR_SIDE:
            raise UserError(f"image: a super-resolution model takes pictures of at most {MAX_SR_SIDE} pixels a "
                            f"side here (the output is {tr.scale_of(lm.model)}x larger); got "
                            f"{x.shape[-1]} x {x.shape[-2]}")
        with lm.lock:
            y = tr.upscale(lm.model, x)
        pic = torch.nn.functional.interpolate(x, size=y.shape[-2:], mode="bicubic", align_corners=False)
        return pic.clamp(-1, 1), y
    x = tr.read_input(Path(path), spec)
    with lm.lock:
        y = tr.translate(lm.model, x, direction, domain, seed)
        pic = rec.picture(x, direction).float().cpu()
    return pic, y
