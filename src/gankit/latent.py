"""Latent-space tools on trained noise-to-image generators: interpolation, inversion, directions
and edits (``gankit interpolate | invert | directions | edit``), and InfoGAN code grids.

Spaces (:data:`SPACES`):

* ``z``: the generator's input noise. For InfoGAN it is the whole input ``[noise, one-hot
  categorical codes, continuous codes]``; for class-conditional models the class ``y`` is kept
  apart (fixed by ``class_``, default 0).
* ``w``: the output of a style-based generator's mapping network (one w for every layer).
* ``w+``: one w per synthesis layer (``[num_ws, w_dim]``; inversion only: a seed's w+ is its w
  repeated).

**Seeds.** The latent of seed ``S`` is the first latent that ``model.recipe.sample(G, 1, S)``
draws (the convention of :func:`gankit.nets.stylegan2.seed_z`), so the frame of a seed is
exactly the image the recipe samples for that seed, truncation included.

**Truncation.** The same trick ``gankit sample --truncation`` uses: resampled (truncated
normal) z for z-space generators, ``w_avg + psi (w - w_avg)`` for style-based ones.

**Directions** (InterFaceGAN, Shen et al. 2020): N sampled latents are labelled from their
images by the shipped digits classifier (class) and by their mean ink (a stroke-thickness
proxy); a linear boundary is fitted in latent space and its unit normal saved. Every saved
direction is scaled so that the sampled latents' projections onto it have standard deviation
1: ``strength 2`` moves a latent two standard deviations along it, in any space.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import viz
from .checkpoint import Model, unwrap
from .errors import UserError
from .modality import modality

SPACES = ("z", "w", "w+")
CHUNK = 256


# ----------------------------------------------------------------------------- model checks


def is_style_based(model: Model) -> bool:
    """True for generators with a mapping and a synthesis network (StyleGAN2)."""
    from .nets.stylegan2 import is_style_based as style_net

    return style_net(unwrap(model.generator))


def check_model(model: Model, verb: str) -> None:
    """UserError (exit 2) unless the checkpoint is a noise-to-image generator."""
    from .translate import is_translation_model

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


# ----------------------------------------------------------------------------- interpolation


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
    from .generate import provenance

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


# ----------------------------------------------------------------------------- inversion


def read_targets(path: str | Path, model: Model) -> tuple[torch.Tensor, list[str]]:
    """An image file or a folder of images as ``[N, C, R, R]`` in [-1, 1] with the model's channels
    and resolution (converted, then squashed and antialiased to R x R, as ``gankit translate``)."""
    from .translate import collect_inputs, read_image

    c, r = int(model.meta["shape"][0]), int(model.meta["shape"][-1])
    items, _ = collect_inputs(path)
    xs = [read_image(f, c, r) for f, _, _ in items]
    return torch.cat(xs), [name for _, _, name in items]


def _digits_net():
    from .metrics.digits_classifier import load_digits_classifier

    return load_digits_classifier()


def _to_digits_input(x: torch.Tensor) -> torch.Tensor:
    """Images [N, C, R, R] in [-1, 1] -> [N, 1, 32, 32] in [-1, 1] for the digits classifier."""
    x = x.float()
    if x.shape[1] != 1:
        x = x.mean(1, keepdim=True)
    if x.shape[-1] != 32:
        x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False, antialias=x.shape[-1] > 32)
    return x.clamp(-1, 1)


def recon_error(x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image MSE and PSNR (dB) on pixels in [0, 1] (images given in [-1, 1])."""
    mse = (((x.float().clamp(-1, 1) - target.float()) / 2) ** 2).flatten(1).mean(1)  # [N]
    psnr = 10 * torch.log10(1.0 / mse.clamp_min(1e-12))
    return mse, psnr


def invert(model: Model, target: torch.Tensor, space: str = "z", steps: int = 300, lr: float | None = None,
           feature_weight: float | None = None, seed: int = 0, candidates: int = 16,
           class_: int | None = None) -> dict:
    """Find latents whose images reconstruct ``target`` ``[N, C, R, R]`` (in [-1, 1]).

    Optimisation (Adam, ``steps`` steps, ``lr`` default 0.05 in z, 0.2 x the per-coordinate std of
    sampled latents in w / w+) of pixel MSE plus ``feature_weight`` x the relative
    squared distance of the digits classifier's penultimate features (default 0: on 50 held-out
    digits, 0.1 gave 0.5 dB lower PSNR and no better class agreement, docs/RESULTS.md). Start: in z, the best of ``candidates`` seeded random latents per
    image; in w / w+, ``w_avg``. Adam is per-coordinate and the loss a sum over images, so
    images in a batch are optimised independently. Returns ``{"codes", "recon", "mse",
    "psnr", "mse_start", "psnr_start"}`` (per image tensors).
    """
    check_model(model, "invert")
    ls = LatentSpace(model, space, class_)
    if steps < 0:
        raise UserError(f"--steps must be >= 0, got {steps}")
    target = target.float()
    exp = (int(model.meta["shape"][0]), int(model.meta["shape"][-1]))
    if tuple(target.shape[1:2]) + tuple(target.shape[-1:]) != exp:
        raise UserError(f"--input: images must be {exp[0]} x {exp[1]} x {exp[1]} for this model, got "
                        f"{list(target.shape[1:])}")
    feature_weight = 0.0 if feature_weight is None else float(feature_weight)
    if feature_weight < 0:
        raise UserError(f"--feature-weight must be >= 0, got {feature_weight}")
    net = _digits_net() if feature_weight > 0 else None
    f_target = net.features(_to_digits_input(target)) if net is not None else None
    n = len(target)
    for p in ls.G.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        if space == "z":
            cand = ls.sample_codes(n * candidates, seed).view(candidates, n, *ls.shape)
            errs = torch.stack([recon_error(ls.images(c), target)[0] for c in cand])  # [K, N]
            start = cand[errs.argmin(0), torch.arange(n)].clone()
        else:
            start = ls.mean()[None].repeat(n, *([1] * len(ls.shape)))
        mse0, psnr0 = recon_error(ls.images(start), target)
    lat = start.clone().requires_grad_(True)
    if lr is None:  # z ~ N(0, I): 0.05; w / w+: a fifth of the sampled w's per-coordinate std
        lr = 0.05 if space == "z" else 0.2 * float(ls.sample_codes(256, seed + 1).reshape(256, -1).std(0).mean())
    opt = torch.optim.Adam([lat], lr=lr)
    for _ in range(steps):
        x = ls.render(lat)
        pix = ((x.float() - target) ** 2).flatten(1).mean(1)  # [N]
        loss = pix
        if net is not None:
            f = net.features(_to_digits_input(x))
            loss = loss + feature_weight * ((f - f_target) ** 2).sum(1) / (f_target ** 2).sum(1).clamp_min(1e-6)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
    with torch.no_grad():
        final = lat.detach()
        x_final = ls.images(final)
        mse, psnr = recon_error(x_final, target)
    return {"codes": final, "recon": x_final, "mse": mse, "psnr": psnr, "mse_start": mse0, "psnr_start": psnr0,
            "space": space, "steps": steps, "feature_weight": feature_weight}


def write_inversion(model: Model, input: str | Path, out: str | Path, space: str = "z", steps: int = 300,
                    seed: int = 0, feature_weight: float | None = None) -> dict:
    """``gankit invert``: invert an image (or every image of a folder) and write ``recon.png``
    (one image) or ``recon/<name>.png`` (a folder), ``strip.png`` (target | reconstruction
    rows), ``latent.npy`` + ``latent.safetensors`` ``[N, *shape]`` and ``invert.json``
    (per-image and mean MSE / PSNR on [0, 1] pixels, and the same for the starting latent)."""
    from safetensors.torch import save_file

    from .generate import provenance

    check_model(model, "invert")
    check_space(model, space)
    target, names = read_targets(input, model)
    res = invert(model, target, space, steps, seed=seed, feature_weight=feature_weight)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    prov = {**provenance(model, seed), "gankit:inverted_from": str(input), "gankit:space": space}
    imgs = viz.to_uint8_images(res["recon"])
    if len(names) == 1:
        viz.save_image(imgs[0], out / "recon.png", pnginfo=prov)
    else:
        for name, im in zip(names, imgs):
            viz.save_image(im, out / "recon" / f"{name}.png", pnginfo={**prov, "gankit:name": name})
    pairs = torch.stack([target, res["recon"]], 1).flatten(0, 1)[:64]  # rows of target | recon
    viz.save_grid(pairs, out / "strip.png", nrow=2 if len(names) <= 8 else 8, pnginfo=prov)
    codes = res["codes"].float().contiguous()
    np.save(out / "latent.npy", codes.numpy())
    save_file({"latent": codes}, str(out / "latent.safetensors"),
              metadata={"gankit:space": space, "gankit:names": json.dumps(names),
                        "gankit:checkpoint": str(model.path), "gankit:checkpoint_sha256": prov["gankit:checkpoint_sha256"]})
    summary = {"images": len(names), "space": space, "steps": steps, "feature_weight": res["feature_weight"],
               "mse": float(res["mse"].mean()), "psnr": float(res["psnr"].mean()),
               "mse_start": float(res["mse_start"].mean()), "psnr_start": float(res["psnr_start"].mean()),
               "out": str(out),
               "per_image": [{"name": nm, "mse": float(a), "psnr": float(b)}
                             for nm, a, b in zip(names, res["mse"], res["psnr"])]}
    (out / "invert.json").write_text(json.dumps(summary, indent=1))
    return summary


# ----------------------------------------------------------------------------- directions


@torch.no_grad()
def attributes(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Attributes of images ``[N, C, R, R]`` judged from pixels: ``probs`` [N, 10] of the shipped
    digits classifier and ``thickness`` [N], the mean ink (pixels mapped to [0, 1]; white
    strokes on black, so more or wider strokes give more ink): a proxy for stroke thickness."""
    d = _to_digits_input(x)
    net = _digits_net()
    probs = torch.cat([torch.softmax(net(d[s:s + CHUNK]), 1) for s in range(0, len(d), CHUNK)])
    ink = ((d + 1) / 2).flatten(1).mean(1)
    return {"probs": probs, "thickness": ink}


def _fit_normal_classifier(X: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    # balanced: one class against nine others is ~10 % positives; unweighted, the boundary
    # would mostly learn to say "no" (InterFaceGAN balances its positive and negative sets)
    clf = LogisticRegression(C=1.0, max_iter=2000, random_state=seed, class_weight="balanced")
    clf.fit(X, labels)
    w = clf.coef_[0]
    return w / (np.linalg.norm(w) + 1e-12), float(balanced_accuracy_score(labels, clf.predict(X)))


def _fit_normal_regression(X: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import Ridge

    reg = Ridge(alpha=1.0).fit(X, t)
    w = reg.coef_
    return w / (np.linalg.norm(w) + 1e-12), float(reg.score(X, t))


def compute_directions(model: Model, method: str = "classifier", n: int = 2000, space: str | None = None,
                       seed: int = 0, class_: int | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """Directions in latent space from ``n`` sampled latents labelled from their images.

    ``classifier``: per digit class k, a logistic-regression boundary (class k vs the rest) whose
    unit normal is ``class{k}``; ``class{a}_to_{b}`` is the normalised difference of the two
    normals; ``thickness`` is the ridge-regression normal of the mean ink and
    ``thickness_keep_class`` the same with its components along the class normals projected out
    (InterFaceGAN's conditional manipulation). ``class-means``: the
    mean latent of each predicted class minus the overall mean (``class{k}``), and the
    difference of two class means (``class{a}_to_{b}``); ``thickness`` as for ``classifier``.
    Every direction is rescaled so the sampled latents project onto it with std 1 (see module
    docstring). Returns ``(directions, info)``; ``info`` holds per-direction fit scores (balanced
    training accuracy of each class boundary, R^2 of the thickness regression) and the class
    counts. Space: ``w`` for style-based models, else ``z`` (``space`` overrides).
    """
    check_model(model, "directions")
    if method not in ("classifier", "class-means"):
        raise UserError(f"--method must be classifier or class-means, got {method!r}")
    if n < 50:
        raise UserError(f"--n must be >= 50 to fit directions, got {n}")
    space = space or ("w" if is_style_based(model) else "z")
    if space == "w+":
        raise UserError("--space w+: directions are computed in z or w (a w direction edits every w of w+)")
    ls = LatentSpace(model, space, class_)
    codes = ls.sample_codes(n, seed).float()  # [n, *shape]
    att = attributes(ls.images(codes))
    X = codes.reshape(n, -1).numpy().astype(np.float64)
    labels = att["probs"].argmax(1).numpy()
    counts = np.bincount(labels, minlength=10)
    normals, scores = {}, {}
    present = [k for k in range(10) if 5 <= counts[k] <= n - 5]
    if method == "classifier":
        for k in present:
            normals[f"class{k}"], scores[f"class{k}"] = _fit_normal_classifier(X, (labels == k).astype(int), seed)
        for a in present:
            for b in present:
                if a != b:
                    d = normals[f"class{b}"] - normals[f"class{a}"]
                    normals[f"class{a}_to_{b}"] = d / (np.linalg.norm(d) + 1e-12)
    else:
        mu = X.mean(0)
        means = {k: X[labels == k].mean(0) for k in present}
        for k in present:
            normals[f"class{k}"] = means[k] - mu
        for a in present:
            for b in present:
                if a != b:
                    normals[f"class{a}_to_{b}"] = means[b] - means[a]
        normals = {k: v / (np.linalg.norm(v) + 1e-12) for k, v in normals.items()}
    normals["thickness"], scores["thickness"] = _fit_normal_regression(X, att["thickness"].numpy())
    if method == "classifier" and present:
        # InterFaceGAN's conditional manipulation: thickness with its components along every
        # class normal projected out, so a move changes the ink with less change of class
        N = np.stack([normals[f"class{k}"] for k in present])  # [K, D]
        t = normals["thickness"]
        t = t - N.T @ np.linalg.lstsq(N @ N.T, N @ t, rcond=None)[0]
        normals["thickness_keep_class"] = t / (np.linalg.norm(t) + 1e-12)
    Xc = X - X.mean(0)
    dirs = {}
    for name, v in normals.items():
        std = float((Xc @ v).std()) or 1.0
        dirs[name] = torch.from_numpy(v * std).float().view(ls.shape).contiguous()
    info = {"space": space, "method": method, "n": n, "seed": seed, "class": class_,
            "class_counts": counts.tolist(), "fit_scores": scores,
            "skipped_classes": [k for k in range(10) if k not in present]}
    return dirs, info


def write_directions(model: Model, out: str | Path, method: str = "classifier", n: int = 2000,
                     space: str | None = None, seed: int = 0, class_: int | None = None) -> dict:
    """``gankit directions``: compute and save directions to a ``.safetensors`` file (one tensor
    per name; metadata: space, method, checkpoint hash, fit scores)."""
    from safetensors.torch import save_file

    from .generate import checkpoint_hash

    out = Path(out)
    if out.suffix != ".safetensors":
        raise UserError(f"--out {out}: directions are saved as a .safetensors file")
    dirs, info = compute_directions(model, method, n, space, seed, class_)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"gankit:space": info["space"], "gankit:method": method, "gankit:n": str(n),
            "gankit:checkpoint": str(model.path), "gankit:checkpoint_sha256": checkpoint_hash(model),
            "gankit:recipe": model.config.recipe, "gankit:info": json.dumps(info)}
    save_file(dirs, str(out), metadata=meta)
    return {**info, "out": str(out), "names": sorted(dirs)}


def load_directions(path: str | Path, default_space: str | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """``(directions, metadata)`` from a file written by :func:`write_directions`.

    Also reads a ``.json`` file ``{"space": "z" | "w", "directions": {name: [floats]}}``, and a
    safetensors file whose metadata names the space as ``space``; ``default_space`` is the space
    of a file that names none (without it, such a file is refused). ``metadata["gankit:space"]``
    is always set.
    """
    from safetensors import safe_open

    p = Path(path)
    if not p.is_file():
        raise UserError(f"--directions {p}: no such file")
    try:
        if p.suffix.lower() == ".json":
            raw = json.loads(p.read_text())
            meta = {"space": str(raw.get("space", ""))} if raw.get("space") else {}
            dirs = {str(k): torch.tensor(v, dtype=torch.float32) for k, v in raw["directions"].items()}
        else:
            with safe_open(str(p), "pt") as f:
                meta = f.metadata() or {}
                dirs = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118  (safe_open is not iterable)
    except Exception as e:  # noqa: BLE001  (safetensors, json and torch raise several types)
        raise UserError(f"--directions {p}: not a directions file ({str(e).splitlines()[0] if str(e) else e})") from None
    space = meta.get("gankit:space") or meta.get("space") or default_space
    if space is None:
        raise UserError(f"--directions {p}: not a gankit directions file (no gankit:space metadata)")
    if space not in ("z", "w"):
        raise UserError(f"--directions {p}: space must be z or w, got {space!r}")
    return dirs, {**meta, "gankit:space": space}


# ----------------------------------------------------------------------------- edits


def apply_direction(codes: torch.Tensor, d: torch.Tensor, strength: float) -> torch.Tensor:
    """``codes + strength * d``; a w direction ``[w_dim]`` moves every w of w+ codes."""
    if codes.dim() == 3 and d.dim() == 1:
        d = d[None]
    return codes + strength * d


def edit_effect(model: Model, directions: dict, name: str, strengths, n: int = 200, seed: int = 0,
                space: str = "z", source_class: int | None = None, target_class: int | None = None,
                pool: int = 4000) -> list[dict]:
    """The measured effect of a direction: for ``n`` sampled latents (only those whose image the
    digits classifier calls ``source_class``, drawn from ``pool`` samples, when given), the mean
    classifier probability of ``target_class``, the fraction classified as it, and the mean
    thickness (mean ink) at each strength, and ``kept_class``: the fraction whose predicted class
    is the one at strength 0."""
    ls = LatentSpace(model, space)
    codes = ls.sample_codes(pool if source_class is not None else n, seed)
    if source_class is not None:
        pred = attributes(ls.images(codes))["probs"].argmax(1)
        codes = codes[pred == source_class][:n]
        if not len(codes):
            raise UserError(f"no sample of class {source_class} among {pool}")
    rows = []
    pred0 = attributes(ls.images(codes))["probs"].argmax(1)
    for s in strengths:
        att = attributes(ls.images(apply_direction(codes, directions[name], float(s))))
        row = {"strength": float(s), "n": len(codes), "thickness": float(att["thickness"].mean()),
               "kept_class": float((att["probs"].argmax(1) == pred0).float().mean())}
        if target_class is not None:
            row["p_target"] = float(att["probs"][:, target_class].mean())
            row["frac_target"] = float((att["probs"].argmax(1) == target_class).float().mean())
        if source_class is not None:
            row["p_source"] = float(att["probs"][:, source_class].mean())
        rows.append(row)
    return rows


def write_edit(model: Model, directions: str | Path, name: str, strength: float, out: str | Path,
               seeds=None, input: str | Path | None = None, steps: int | None = None,
               invert_steps: int = 300, class_: int | None = None, truncation: float | None = None,
               start: float = 0.0) -> dict:
    """``gankit edit``: move latents (of ``seeds``, or of the inverted ``input`` images) along a
    saved direction and write ``strip.png`` (one row per latent: strengths ``start`` (default 0,
    the unedited latent) .. ``strength`` in ``steps`` columns, default 2; with ``input`` the
    target image comes first), one PNG per
    frame (provenance + strength) and ``edit.json`` (strengths and, per strength, the digits
    classifier's prediction and the mean ink of each row)."""
    from .generate import provenance

    check_model(model, "edit")
    if (seeds is None) == (input is None):
        raise UserError("edit: give exactly one of --seed or --input")
    dirs, meta = load_directions(directions)
    if name not in dirs:
        shown = ", ".join(sorted(dirs)[:12]) + (" ..." if len(dirs) > 12 else "")
        raise UserError(f"--direction {name!r}: not in {directions} (it has: {shown})")
    space = meta["gankit:space"]
    check_space(model, space)
    d = dirs[name]
    steps = 2 if steps is None else steps
    if steps < 2:
        raise UserError(f"--steps must be >= 2, got {steps}")
    target = None
    if input is not None:
        target, names = read_targets(input, model)
        inv_space = space
        res = invert(model, target, inv_space, invert_steps, class_=class_)
        codes = res["codes"]
        ls = LatentSpace(model, inv_space, class_)
    else:
        seeds = parse_seeds(seeds, "--seed")
        names = [f"seed{s}" for s in seeds]
        ls = LatentSpace(model, space, class_, truncation)
        codes = ls.codes(seeds)
    if tuple(d.shape) != tuple(ls.shape[-1:]) and tuple(d.shape) != tuple(ls.shape):
        raise UserError(f"--directions {directions}: direction {name!r} has shape {list(d.shape)}, this model's "
                        f"{space} latents are {list(ls.shape)} (directions of another checkpoint?)")
    strengths = [start + (strength - start) * k / (steps - 1) for k in range(steps)]
    frames = torch.stack([ls.images(apply_direction(codes, d, s)) for s in strengths], 1)  # [N, S, C, R, R]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    prov = {**provenance(model, (seeds or [0])[0]), "gankit:direction": name, "gankit:directions": str(directions),
            "gankit:space": space}
    rows = []
    for i, nm in enumerate(names):
        for j, s in enumerate(strengths):
            viz.save_image(viz.to_uint8_images(frames[i, j:j + 1])[0], out / f"{nm}_{j:02d}.png",
                           pnginfo={**prov, "gankit:strength": round(s, 6), "gankit:name": nm})
    grid = frames if target is None else torch.cat([target[:, None].float(), frames], 1)
    viz.save_grid(grid.flatten(0, 1), out / "strip.png", nrow=grid.shape[1], pnginfo=prov)
    for j, s in enumerate(strengths):
        att = attributes(frames[:, j])
        rows.append({"strength": s, "pred": att["probs"].argmax(1).tolist(),
                     "p_max": [round(float(p), 4) for p in att["probs"].max(1).values],
                     "thickness": [round(float(t), 4) for t in att["thickness"]]})
    summary = {"direction": name, "space": space, "names": names, "strengths": strengths, "frames": rows,
               "strip": str(out / "strip.png"), "out": str(out)}
    (out / "edit.json").write_text(json.dumps(summary, indent=1))
    return summary


# ----------------------------------------------------------------------------- InfoGAN codes


@torch.no_grad()
def code_grids(model: Model, rows: int = 8, seed: int = 0, span: float = 2.0, cols: int = 9) -> dict[str, torch.Tensor]:
    """InfoGAN (Chen et al. 2016, fig. 2): one grid per code, the rest fixed. ``cat{i}``: rows of
    fixed noise (continuous codes 0, other categorical codes fixed per row), columns = the
    categories of code i. ``cont{j}``: rows of fixed noise and categorical codes (row r takes
    category r of the first code), columns = code j from -span to +span (the paper varies
    -2..2, beyond the U(-1, 1) training range), other continuous codes 0.
    Returns name -> images ``[rows, cols_i, C, R, R]``."""
    recipe = model.recipe
    if not recipe.latent_codes:
        raise UserError(f"--code-grid: only InfoGAN checkpoints have latent codes; recipe "
                        f"{model.config.recipe!r} has none")
    if rows < 1:
        raise UserError(f"--code-grid: need at least one row, got {rows}")
    G = unwrap(model.generator)
    cats, n_cont = list(recipe.opts["cat"]), int(recipe.opts["cont"])
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(rows, G.z_dim - recipe.code_dim(recipe.opts), generator=g)  # [rows, Z]
    base_cat = torch.stack([torch.randint(k, (rows,), generator=g) for k in cats], 1) if cats \
        else torch.zeros(rows, 0, dtype=torch.long)
    if cats:
        base_cat[:, 0] = torch.arange(rows) % cats[0]
    base_cont = torch.zeros(rows, n_cont)
    grids = {}
    for i, k in enumerate(cats):
        imgs = []
        for v in range(k):
            cat = base_cat.clone()
            cat[:, i] = v
            imgs.append(G(recipe.latent(noise, cat, base_cont), None).float())
        grids[f"cat{i}"] = torch.stack(imgs, 1)
    for j in range(n_cont):
        imgs = []
        for v in torch.linspace(-span, span, cols):
            cont = base_cont.clone()
            cont[:, j] = v
            imgs.append(G(recipe.latent(noise, base_cat, cont), None).float())
        grids[f"cont{j}"] = torch.stack(imgs, 1)
    return grids


def write_code_grids(model: Model, out: str | Path, rows: int = 8, seed: int = 0, span: float = 2.0) -> dict:
    """Write ``code_<name>.png`` for every InfoGAN code (see :func:`code_grids`)."""
    from .generate import provenance

    grids = code_grids(model, rows, seed, span)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, x in grids.items():
        f = out / f"code_{name}.png"
        viz.save_grid(x.flatten(0, 1), f, nrow=x.shape[1],
                      pnginfo={**provenance(model, seed), "gankit:code": name, "gankit:span": span})
        written[f"code_{name}"] = f
    return written
