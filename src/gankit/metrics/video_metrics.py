"""Video prediction metrics per predicted frame of a rollout: PSNR, SSIM, sharpness.

For predicted frames ``[N, H, C, h, w]`` and the true ones, both in [-1, 1] (mapped to [0, 1]
and, for predictions, quantised to 8 bits, as a written GIF would be), per horizon step:

* ``psnr``: ``10 log10(1 / MSE)`` per frame, averaged (dB; higher is better);
* ``ssim``: structural similarity (Wang et al. 2004), :func:`gankit.translate.ssim`;
* ``sharpness``: the predictions' mean gradient magnitude over the true frames'
  (:func:`gankit.translate.gradient_magnitude`; 1 = as sharp as the truth, < 1 blurrier);
* ``sharp_diff``: Mathieu et al. (2016, sec. 4)'s sharpness difference,
  ``10 log10(1 / mean |(d_i Y + d_j Y) - (d_i Yhat + d_j Yhat)|)`` (dB; higher: the edges are
  where the true ones are).

PSNR and SSIM reward the blurry average of the possible futures that an L1/L2 predictor
learns (Mathieu et al. 2016); sharpness shows what they hide, so all are reported together.
"""
from __future__ import annotations

import torch

from ..translate import gradient_magnitude, ssim


def _unit(x: torch.Tensor, quantise: bool) -> torch.Tensor:
    x = (x.float().clamp(-1, 1) + 1) / 2
    return (x * 255).round() / 255 if quantise else x


def _grad_sum(x: torch.Tensor) -> torch.Tensor:
    """d_i x + d_j x (forward differences), cropped to a common size: [N, C, h-1, w-1]."""
    return (x[..., 1:, :-1] - x[..., :-1, :-1]).abs() + (x[..., :-1, 1:] - x[..., :-1, :-1]).abs()


@torch.no_grad()
def frame_metrics(pred: torch.Tensor, true: torch.Tensor) -> dict:
    """Per-frame means over a batch of frames ``[N, C, h, w]`` in [-1, 1]."""
    p, t = _unit(pred, True), _unit(true, False)
    mse = (p - t).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    gd = (_grad_sum(t) - _grad_sum(p)).abs().flatten(1).mean(1).clamp_min(1e-10)
    return {"psnr": float((10 * torch.log10(1 / mse)).mean()), "ssim": float(ssim(p, t).mean()),
            "sharpness": float(gradient_magnitude(p).mean() / gradient_magnitude(t).mean().clamp_min(1e-12)),
            "sharp_diff": float((10 * torch.log10(1 / gd)).mean())}


def rollout_metrics(pred: torch.Tensor, true: torch.Tensor) -> dict:
    """``{metric: [value at horizon 1, 2, ...], metric + "_mean": mean over the horizon}``
    for rollouts ``pred`` and truth ``true``, both ``[N, H, C, h, w]``."""
    per = [frame_metrics(pred[:, k], true[:, k]) for k in range(pred.shape[1])]
    out = {}
    for key in per[0]:
        vals = [p[key] for p in per]
        out[f"{key}_mean"] = sum(vals) / len(vals)
        out[key] = vals
    return out


def _held_out(recipe_or_cfg, n: int, seed: int):
    from ..data import load_data

    data = load_data(recipe_or_cfg, split="test")
    n = min(n, len(data)) if n else len(data)
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:n]
    return data.to_float(data.x[idx])


@torch.no_grad()
def evaluate_video_model(model, n: int = 0, seed: int = 0, chunk: int = 50) -> dict:
    """Rollouts of a loaded next-frame checkpoint on ``n`` held-out clips (default: all): the
    first ``context`` frames given, every later frame predicted from the model's own outputs."""
    recipe = model.recipe
    k = recipe.opts["context"]
    clips = _held_out(model.config.data, n, seed)
    G = model.generator
    preds = torch.cat([recipe.rollout(G, clips[s: s + chunk, :k], clips.shape[1] - k)
                       for s in range(0, len(clips), chunk)])
    return {"n": len(clips), "context": k, "horizon": clips.shape[1] - k, "step": model.step,
            "recipe": model.config.recipe, **rollout_metrics(preds, clips[:, k:])}


def evaluate_video_baselines(data: str, n: int = 0, seed: int = 0, context: int = 4) -> dict:
    """The no-model reference: repeat the last given frame (what a predictor that has learnt
    nothing about motion scores), on the same held-out clips."""
    from ..config import DataConfig

    clips = _held_out(DataConfig(name=data), n, seed)
    last = clips[:, context - 1: context].expand(-1, clips.shape[1] - context, -1, -1, -1)
    out = {"n": len(clips), "context": context, "data": data}
    out.update({f"copy_last/{k}": v for k, v in rollout_metrics(last, clips[:, context:]).items()})
    return out

