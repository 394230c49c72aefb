"""Sampling from a trained model into files: PNGs + grid for images, .npy + scatter for 2D.

Each data kind's files come from its writer (``gankit.outputs.<kind>.write``, named by the kind's
:class:`~gankit.modality.Modality`): PNGs for images, .npy for points, .txt, .csv, GIFs ...
"""
from __future__ import annotations

from pathlib import Path

import torch

from . import viz
from .checkpoint import Model, unwrap
from .errors import UserError
from .modality import modality
from .provenance import checkpoint_hash, provenance  # noqa: F401  (public here since the start)

CHUNK = 500


def text_prompts(model: Model, n: int, text: list[str] | None = None) -> list[str] | None:
    """The caption of each sample of a text-conditional model (None for other models).

    With ``text`` (``--text``, repeatable): each caption ``n`` times, caption-major. Without it:
    ``n`` captions of the model's held-out data (the recipe's ``default_captions``).
    UserError for ``--text`` on a model that is not text-conditional, or an empty caption.
    """
    is_text = model.recipe.text_conditional
    if text is not None and not is_text:
        raise UserError(f"--text: this model ({model.config.recipe}) is not text-conditional; "
                        f"text-to-image needs a checkpoint of recipe text2image")
    if not is_text:
        return None
    if n < 1:
        raise UserError(f"--n must be >= 1, got {n}")
    if text is None:
        return model.recipe.default_captions(n)
    if not text or any(not t.strip() for t in text):
        raise UserError("--text: a caption must not be empty")
    return [t for t in text for _ in range(n)]


def num_classes(model: Model) -> int:
    """The number of classes of a class-conditional generator (0 for unconditional ones)."""
    return int(model.meta.get("num_classes", 0)) if getattr(unwrap(model.generator), "num_classes", 0) else 0


@torch.no_grad()
def sample(model: Model, n: int, seed: int = 0, class_: int | None = None,
           truncation: float | None = None, texts: list[str] | None = None) -> torch.Tensor:
    """``n`` outputs of the model's generator (G_ema when present), in chunks, seeded.

    ``texts``: one caption per output for text-conditional models (see :func:`text_prompts`).
    """
    if n < 1:
        raise UserError(f"--n must be >= 1, got {n}")
    if texts is not None and class_ is not None:
        raise UserError("--class: this model is text-conditional; use --text")
    ncls = num_classes(model)
    if class_ is not None:
        if not ncls:
            raise UserError("--class: this model is not class-conditional")
        if not 0 <= class_ < ncls:
            raise UserError(f"--class must be in 0..{ncls - 1}, got {class_}")
    if truncation is not None and not 0 < truncation <= 10:
        raise UserError(f"--truncation must be in (0, 10], got {truncation}")
    outs = []
    for i, start in enumerate(range(0, n, CHUNK)):
        m = min(CHUNK, n - start)
        y = None
        if ncls:
            y = torch.full((m,), class_) if class_ is not None else (torch.arange(start, start + m) % ncls)
        kw = {"text": texts[start:start + m]} if texts is not None else {}
        outs.append(model.sample(m, seed=seed * 100_003 + i, y=y, truncation=truncation, **kw).float().cpu())
    return torch.cat(outs)


def write_samples(model: Model, n: int, out: str | Path, seed: int = 0, class_: int | None = None,
                  truncation: float | None = None, watermark: int | None = None,
                  watermark_message: int | None = None, text: list[str] | None = None) -> dict[str, Path]:
    """Write ``n`` samples to ``out``; returns the main files written.

    ``text``: captions for a text-conditional model, ``n`` samples each (without it, held-out
    captions); the caption of every image is written to ``captions.txt`` (``index<TAB>caption``).

    ``watermark``: an integer key; images then also carry an invisible keyed watermark whose
    32-bit message defaults to the first 8 hex digits of the checkpoint hash (see
    ``gankit.detect.watermark``; read with ``gankit detect --watermark KEY``).
    """
    out = Path(out)
    mod = modality(model.meta)
    if watermark is not None and not mod.images:
        raise UserError(f"--watermark: only images can carry a watermark; this model makes {mod}")
    texts = text_prompts(model, n, text)
    out.mkdir(parents=True, exist_ok=True)
    x = sample(model, len(texts) if texts else n, seed, class_, truncation, texts=texts)
    provenance_ = provenance(model, seed)
    if watermark is not None:
        from .detect.watermark import watermark_batch

        x, provenance_["gankit:watermark"] = watermark_batch(x, watermark, watermark_message, model)
    written = mod.write(x, out, model, provenance_)
    if texts is not None:
        (out / "captions.txt").write_text("".join(f"{i:06d}\t{t}\n" for i, t in enumerate(texts)))
        written["captions"] = out / "captions.txt"
    for f in written.values():  # pictures of other kinds (plots, strips) carry provenance too
        if Path(f).suffix.lower() == ".png" and Path(f).is_file():
            viz.stamp_png(f, provenance_)
    return written




# --------------------------------------------------------------------------- StyleGAN controls


def _style_generator(model: Model):
    """The model's style-based generator (mapping + synthesis + num_ws), or a UserError."""
    from .nets.stylegan2 import is_style_based

    G = unwrap(model.generator)
    if not is_style_based(G):
        raise UserError(f"style mixing / truncation sweep need a style-based generator (recipe stylegan2); "
                        f"this checkpoint is {model.config.recipe}")
    return G


@torch.no_grad()
def style_mixing_grid(model: Model, seeds_coarse, seeds_fine, crossover: int | None = None,
                      truncation: float | None = None, out: str | Path | None = None) -> torch.Tensor:
    """The style-mixing figure of StyleGAN (Karras et al. 2019, Fig. 3) for a stylegan2 model.

    Returns tiles [(A + 1) * (B + 1), C, R, R] for A = len(seeds_coarse), B = len(seeds_fine),
    row-major: row 0 is a blank corner then the B fine-source images; row i + 1 starts with
    coarse-source image i, then cell j takes ws[:crossover] (coarse styles: the low-resolution
    layers, shape and pose) from ``seeds_coarse[i]`` and ws[crossover:] (fine styles: the
    high-resolution layers, stroke and texture) from ``seeds_fine[j]``
    (``gankit.nets.stylegan2.style_mix``). ``crossover`` defaults to ``num_ws // 2`` (at 32 px:
    the 4 and 8 px layers are coarse). Noise is the fixed per-layer noise, so a seed is one image.
    With ``out`` the grid is also written there as a PNG with provenance metadata.
    """
    from .nets.stylegan2 import style_mix

    G = _style_generator(model)
    crossover = G.num_ws // 2 if crossover is None else crossover
    mixed = style_mix(G, seeds_coarse, seeds_fine, crossover, truncation)  # [A, B, C, R, R]
    coarse = style_mix(G, seeds_coarse, seeds_coarse[:1], G.num_ws, truncation)[:, 0]  # [A, C, R, R]
    fine = style_mix(G, seeds_fine, seeds_fine[:1], G.num_ws, truncation)[:, 0]  # [B, C, R, R]
    corner = torch.zeros_like(fine[:1])  # mid grey
    rows = [torch.cat([corner, fine])] + [torch.cat([coarse[i:i + 1], mixed[i]]) for i in range(len(coarse))]
    tiles = torch.cat(rows).float().cpu()
    if out is not None:
        info = {**provenance(model, int(seeds_coarse[0])),
                "gankit:style_mixing": f"coarse seeds {list(seeds_coarse)} (rows), fine seeds {list(seeds_fine)} "
                                       f"(columns), crossover {crossover} of {G.num_ws} ws, truncation {truncation}"}
        viz.save_grid(tiles, out, nrow=len(seeds_fine) + 1, pnginfo=info)
    return tiles


@torch.no_grad()
def truncation_sweep(model: Model, seeds, psis=(1.0, 0.8, 0.6, 0.4, 0.2, 0.0),
                     out: str | Path | None = None) -> torch.Tensor:
    """The truncation trick (StyleGAN sec. 5.1: w' = w_avg + psi (w - w_avg)) swept over ``psis``.

    Returns tiles [len(seeds) * len(psis), C, R, R], row-major: one row per seed, one column
    per psi (psi = 1: no truncation; psi = 0: the mean-w image, the same for every seed).
    With ``out`` also written as a PNG grid with provenance metadata.
    """
    from .nets.stylegan2 import seed_z

    G = _style_generator(model)
    for p in psis:
        if not 0 <= float(p) <= 1:
            raise UserError(f"truncation_sweep: psi must be in [0, 1], got {p}")
    dev = next(G.parameters()).device
    z = seed_z(G, seeds).to(dev)  # [S, z_dim]
    cols = [G.synthesis(G.mapping(z, float(p)), noise_mode="const") for p in psis]  # each [S, C, R, R]
    tiles = torch.stack(cols, 1).flatten(0, 1).float().cpu()  # [S * P, C, R, R]
    if out is not None:
        info = {**provenance(model, int(seeds[0])),
                "gankit:truncation_sweep": f"seeds {list(seeds)} (rows), psi {list(psis)} (columns)"}
        viz.save_grid(tiles, out, nrow=len(psis), pnginfo=info)
    return tiles


# Latent-space tools (interpolation, inversion, directions, edits) live in gankit.latent.
from .latent import interpolate_codes, invert, slerp, write_interpolation  # noqa: F401
