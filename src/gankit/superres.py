"""Super-resolution at any size, and its evaluation the way the SR literature reports it.

SRResNet and SRGAN (Ledig et al. 2017) are fully convolutional: trained on 64 px crops, they
upscale an image of any size by their factor. :func:`upscale` runs a checkpoint on a whole
image (:func:`gankit.translate.upscale`, in overlapping tiles when it is large; ``gankit
translate`` does the same for files). :func:`whole_photo_metrics` scores a checkpoint on
**whole held-out images**, Set5-style: the right-hand test strip of each of the nine sample
photos at the training scale (the region no training crop touches), downscaled as the training
inputs are (bicubic, antialiased, 8-bit), upscaled by the model, quantised to 8 bits, and
compared with the original on the luma channel (ITU-R BT.601 Y in [16, 235], as the MATLAB
``rgb2ycbcr`` the SR papers evaluate with) with ``factor`` pixels cropped from every border.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .checkpoint import Model
from .translate import gradient_magnitude, nyquist_energy, scale_of, ssim, upscale


def luma(x: torch.Tensor) -> torch.Tensor:
    """BT.601 Y of RGB ``[N, 3, H, W]`` in [0, 1], scaled to [16, 235] / 255 (``rgb2ycbcr``)."""
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return (16.0 + 65.481 * r + 128.553 * g + 24.966 * b) / 255.0


def downscale(hr: torch.Tensor, factor: int) -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` -> the 8-bit low-res input, exactly as ``lowres2highres`` makes it."""
    from .data.base import to_uint8

    small = F.interpolate(hr.float() / 255.0, scale_factor=1 / factor, mode="bicubic",
                          align_corners=False, antialias=True)
    return to_uint8(small.clamp(0, 1))


def held_out_photos(resolution: int, crop: int, factor: int) -> list[tuple[str, torch.Tensor]]:
    """The test strip of every sample photo at the training data's scale: uint8 ``[1, 3, H, W]``,
    H and W cut down to multiples of ``factor``."""
    from .data.photos import bank_short_side, photo_bank, test_strip

    out = []
    for name, img in photo_bank(bank_short_side(resolution, crop)):
        h, w = img.shape[-2:]
        strip = img[:, :, w - test_strip(w, resolution):]
        hh, ww = strip.shape[-2] // factor * factor, strip.shape[-1] // factor * factor
        out.append((name, strip[:, :hh, :ww].unsqueeze(0).contiguous()))
    return out


def _scores(y: torch.Tensor, t: torch.Tensor, border: int) -> dict:
    """8-bit output ``y`` vs target ``t``, both [1, 3, H, W] in [0, 1]: luma PSNR / SSIM inside the border."""
    yy, ty = luma(y), luma(t)
    if border:
        yy, ty = yy[..., border:-border, border:-border], ty[..., border:-border, border:-border]
    mse = float((yy - ty).pow(2).mean().clamp_min(1e-10))
    return {"psnr_y": 10 * torch.log10(torch.tensor(1.0 / mse)).item(), "ssim_y": float(ssim(yy, ty)[0]),
            "nyquist": float(nyquist_energy(y)[0]), "nyquist_target": float(nyquist_energy(t)[0]),
            "grad": float(gradient_magnitude(y)[0]), "grad_target": float(gradient_magnitude(t)[0])}


def whole_photo_metrics(model: Model, baseline: bool = False, border: int | None = None) -> dict:
    """PSNR / SSIM on luma (``border`` pixels cropped, default the factor) of a super-resolution
    checkpoint on the whole held-out photo strips, per photo and their mean, plus the
    checkerboard ratio (:func:`gankit.translate.nyquist_energy` of outputs over targets) and the
    sharpness ratio (mean luma gradient magnitude of outputs over targets; 1 = as sharp).
    ``baseline=True`` scores bicubic upsampling of the same inputs instead of the model."""
    s = scale_of(model)
    info, res = model.meta.get("info", {}), model.meta["shape"][-1]
    border = s if border is None else border
    rows = []
    for name, hr in held_out_photos(res, int(info.get("crop", max(res, 64))), s):
        lr = downscale(hr, s)
        x = lr.float() / 127.5 - 1.0
        y = F.interpolate(x, scale_factor=s, mode="bicubic", align_corners=False) if baseline \
            else upscale(model, x)
        y = ((y.clamp(-1, 1) + 1) * 127.5).round() / 255.0  # what gankit translate writes
        rows.append({"photo": name, "size": list(hr.shape[-2:]), **_scores(y, hr.float() / 255.0, border)})
    keys = ("psnr_y", "ssim_y", "nyquist", "nyquist_target", "grad", "grad_target")
    mean = {k: sum(r[k] for r in rows) / len(rows) for k in keys}
    mean["checkerboard"] = mean["nyquist"] / max(mean["nyquist_target"], 1e-12)
    mean["sharpness"] = mean["grad"] / max(mean["grad_target"], 1e-12)
    return {"outputs": "bicubic" if baseline else "model", "factor": s, "border": border, "photos": rows, **mean}
