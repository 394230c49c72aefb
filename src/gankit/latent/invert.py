"""Inversion: the latent that reconstructs a given image (Adam on MSE + a digits-feature term)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import viz
from ..checkpoint import Model
from ..errors import UserError
from .space import LatentSpace, check_model, check_space


def read_targets(path: str | Path, model: Model) -> tuple[torch.Tensor, list[str]]:
    """An image file or a folder of images as ``[N, C, R, R]`` in [-1, 1] with the model's channels
    and resolution (converted, then squashed and antialiased to R x R, as ``gankit translate``)."""
    from ..translate import collect_inputs, read_image

    c, r = int(model.meta["shape"][0]), int(model.meta["shape"][-1])
    items, _ = collect_inputs(path)
    xs = [read_image(f, c, r) for f, _, _ in items]
    return torch.cat(xs), [name for _, _, name in items]


def _digits_net():
    from ..metrics.digits_classifier import load_digits_classifier

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

    from ..provenance import provenance

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
