"""Latent walks: slerp / lerp between seeds, frames, strips and GIFs."""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F

from .. import viz
from ..checkpoint import Model
from ..errors import UserError
from .space import LatentSpace, check_model, parse_seeds


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for GAN latents), per row, on the
    flattened latents; falls back to lerp for (anti)parallel vectors."""
    af, bf = a.reshape(len(a), -1), b.reshape(len(b), -1)
    cos = (F.normalize(af, dim=1) * F.normalize(bf, dim=1)).sum(1).clamp(-1, 1)  # [N]
    omega = torch.acos(cos)
    so = torch.sin(omega)
    out = torch.empty_like(af)
    small = so.abs() < 1e-6
    out[small] = torch.lerp(af[small], bf[small], t)
    big = ~small
    if big.any():
        o, s = omega[big, None], so[big, None]
        out[big] = torch.sin((1 - t) * o) / s * af[big] + torch.sin(t * o) / s * bf[big]
    return out.view_as(a)


def interpolate_codes(codes: torch.Tensor, steps: int, method: str = "slerp") -> tuple[torch.Tensor, list]:
    """Frames between consecutive latents: ``steps`` frames per pair, endpoints included (shared
    endpoints once): ``(len(codes) - 1) * (steps - 1) + 1`` latents, and ``(pair, t)`` per frame."""
    if method not in ("lerp", "slerp"):
        raise UserError(f"--method must be lerp or slerp, got {method!r}")
    if steps < 2:
        raise UserError(f"--steps must be >= 2, got {steps}")
    if len(codes) < 2:
        raise UserError("--seeds: give at least two seeds, e.g. --seeds 1,2")
    frames, where = [codes[:1]], [(0, 0.0)]
    for i in range(len(codes) - 1):
        a, b = codes[i:i + 1], codes[i + 1:i + 2]
        for k in range(1, steps):
            t = k / (steps - 1)
            frames.append(torch.lerp(a, b, t) if method == "lerp" else slerp(a, b, t))
            where.append((i, t))
    return torch.cat(frames), where


def save_gif(x: torch.Tensor, path: str | Path, duration_ms: int = 80, min_size: int = 128,
             comment: str = "") -> Path:
    """An animated GIF of images ``[N, C, R, R]`` in [-1, 1], upscaled (nearest) to >= ``min_size``,
    there and back (a ping-pong loop)."""
    from PIL import Image

    arrs = viz.to_uint8_images(x)
    scale = max(1, math.ceil(min_size / arrs.shape[1]))
    frames = []
    for a in arrs:
        im = Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a)
        frames.append(im.resize((im.width * scale, im.height * scale), Image.NEAREST).convert("P") if a.shape[-1] == 3
                      else im.resize((im.width * scale, im.height * scale), Image.NEAREST))
    seq = frames + frames[-2:0:-1]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seq[0].save(path, save_all=True, append_images=seq[1:], duration=duration_ms, loop=0,
                comment=comment.encode() if comment else None)
    return path


def write_interpolation(model: Model, seeds, steps: int, out: str | Path, space: str = "z",
                        method: str = "slerp", class_: int | None = None,
                        truncation: float | None = None) -> dict:
    """Frames of a latent walk through ``seeds``: with ``out`` a ``.gif`` file, the GIF only;
    else a folder with ``frame_0000.png ...`` (provenance metadata), ``strip.png`` and
    ``interpolation.gif``. Returns ``{"frames": n, "gif": path, ...}``."""
    check_model(model, "interpolate")
    if space not in ("z", "w"):
        raise UserError(f"--space must be z or w for interpolate, got {space!r}")
    from ..provenance import provenance

    seeds = parse_seeds(seeds)
    ls = LatentSpace(model, space, class_, truncation)
    codes, where = interpolate_codes(ls.codes(seeds), steps, method)
    x = ls.images(codes)
    prov = {**provenance(model, seeds[0]), "gankit:seeds": ",".join(map(str, seeds)), "gankit:space": space,
            "gankit:method": method, "gankit:truncation": truncation, "gankit:class": class_}
    out = Path(out)
    res = {"frames": len(x), "seeds": seeds, "space": space, "method": method}
    comment = json.dumps({k: v for k, v in prov.items() if k.startswith("gankit:")})
    if out.suffix.lower() == ".gif":
        res["gif"] = save_gif(x, out, comment=comment)
        return res
    out.mkdir(parents=True, exist_ok=True)
    for i, (im, (pair, t)) in enumerate(zip(viz.to_uint8_images(x), where)):
        viz.save_image(im, out / f"frame_{i:04d}.png", pnginfo={**prov, "gankit:frame": i, "gankit:pair": pair,
                                                                "gankit:t": round(t, 6)})
    viz.save_grid(x, out / "strip.png", nrow=min(len(x), steps), pnginfo=prov)
    res.update(gif=save_gif(x, out / "interpolation.gif", comment=comment), strip=out / "strip.png", dir=out)
    return res
