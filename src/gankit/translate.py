"""``gankit translate``: run a trained image-to-image model on image files.

:func:`translate` runs a loaded model on tensors; :func:`translate_files` is what the CLI calls:
it reads a file or a folder, translates every image and writes PNGs.

**Sizes.** Any input size is accepted: each input is *resized* (not tiled) to the model's input
resolution -- squashed to a square, bilinear with antialiasing for images, nearest neighbour
for label maps -- and the output is written at the model's output resolution (x4 the input's for
super-resolution). Nothing is cropped, so non-square inputs come out with a changed aspect ratio.

**Inputs** by model kind (``recipe.input_spec``):

* images (pix2pix, l1-only, cyclegan, stargan, srgan, srresnet): any picture Pillow reads,
  converted to the model's channels (gray <-> RGB; transparency over white);
* inpainting (a 4-channel input such as ``masked2photo``'s): an RGBA image whose transparent
  pixels (alpha < 128) are the hole to fill; an image without alpha has no hole;
* label maps (spade; pix2pix / l1-only trained on one-hot label maps such as
  ``scenes-labels2photo``): a grayscale or palette PNG whose pixel values are class ids
  ``0 .. K-1`` (the names are in the checkpoint's ``data.json``, ``info.seg_classes``).

**Targets.** When the input folder holds ``A/`` and ``B/`` subfolders (pix2pix's paired layout,
files matched by name), ``A`` files are the inputs and ``B`` files their targets, and an
``input | output | target`` strip is written beside each output as ``<name>_strip.png``.

**Outputs.** ``OUT/<name>.png`` (``<name>`` is the input's path relative to the input folder,
``/`` replaced by ``_``). Multi-domain models (stargan) write one output per domain,
``<name>_d<K>.png``, unless ``--domain K`` picks one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import viz
from .checkpoint import Model
from .errors import UserError
from .modality import modality

CHUNK = 64


def is_translation_model(model: Model) -> bool:
    """True when the checkpoint's recipe translates inputs (has the translation API)."""
    return model.recipe.translation


def check_model(model: Model) -> None:
    """UserError (exit 2) for checkpoints that are not image-to-image models."""
    if not is_translation_model(model):
        raise UserError(f"--checkpoint {model.path}: recipe {model.config.recipe!r} is not an image-to-image "
                        f"model (it samples from noise); translate needs a pix2pix, l1-only, cyclegan, stargan, "
                        f"srgan, srresnet or spade checkpoint")


@torch.no_grad()
def translate(model: Model, inputs: torch.Tensor, direction: str = "AtoB", domain: int | None = None,
              seed: int = 0) -> torch.Tensor:
    """Translate prepared inputs with a loaded model.

    ``inputs``: float ``[N, C, r, r]`` in [-1, 1] with ``model.recipe.input_spec(direction)``'s
    channels and resolution, or class ids ``[N, r, r]`` for label-map models. Returns
    ``[N, C', R, R]`` in [-1, 1]. ``domain`` is the target domain of multi-domain models.
    """
    check_model(model)
    out = []
    for s in range(0, len(inputs), CHUNK):
        y = model.recipe.translate(model.nets, inputs[s:s + CHUNK], direction, domain, seed=seed + s)
        out.append(y.float().cpu())
    return torch.cat(out)


# ----------------------------------------------------------------------- super-resolution, any size

TILE = 128  # low-res pixels per tile side (a 512 px output tile)
PAD = 24  # low-res pixels of context around each tile: more than SRResNet's receptive radius


def scale_of(model: Model) -> int:
    """The model's upscaling factor (a super-resolution checkpoint has ``G.kwargs.scale``)."""
    scale = model.config.G.kwargs.get("scale")
    if not scale or not getattr(model.recipe, "super_resolution", False):
        raise UserError(f"--checkpoint {model.path}: recipe {model.config.recipe!r} is not a super-resolution "
                        f"model (srresnet or srgan)")
    return int(scale)


@torch.no_grad()
def upscale(model: Model, x: torch.Tensor, tile: int = TILE, pad: int = PAD) -> torch.Tensor:
    """``x [N, C, h, w]`` in [-1, 1], any size -> ``[N, C, h * s, w * s]`` in [-1, 1].

    Images up to ``tile`` x ``tile`` run whole; larger ones run in tiles with ``pad`` pixels of
    context, of which only the centre is kept, so memory stays bounded for any input.
    """
    check_model(model)
    s = scale_of(model)
    G = model.recipe.translator(model.nets)
    dev = next(G.parameters()).device
    h, w = x.shape[-2:]
    if h <= tile and w <= tile:
        return G(x.to(dev)).float().cpu()
    out = torch.empty(x.shape[0], G.channels, h * s, w * s)
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            t0, l0 = max(top - pad, 0), max(left - pad, 0)
            t1, l1 = min(top + tile + pad, h), min(left + tile + pad, w)
            y = G(x[..., t0:t1, l0:l1].to(dev)).float().cpu()
            bh, bw = min(tile, h - top), min(tile, w - left)
            oy, ox = (top - t0) * s, (left - l0) * s
            out[..., top * s:(top + bh) * s, left * s:(left + bw) * s] = y[..., oy:oy + bh * s, ox:ox + bw * s]
    return out


# ----------------------------------------------------------------------- reading files


def collect_inputs(path: str | Path) -> tuple[list[tuple[Path, Path | None, str]], Path]:
    """``[(input file, target file or None, output name)]`` for a file or folder, and the root."""
    from .data.user import list_images, match_ab

    p = Path(path)
    if not p.exists():
        raise UserError(f"--input {p}: no such file or folder")
    if p.is_file():
        return [(p, None, p.stem)], p.parent
    if (p / "A").is_dir() and (p / "B").is_dir():
        pairs = match_ab(p / "A", p / "B")
        return [(a, b, _name(a, p / "A")) for a, b in pairs], p
    files = list_images(p)
    if not files:
        raise UserError(f"--input {p}: the folder holds no image files")
    return [(f, None, _name(f, p)) for f in files], p


def _name(f: Path, root: Path) -> str:
    return "_".join(f.relative_to(root).with_suffix("").parts)


def _open(path: Path):
    from .data.transforms import BadImage, open_image

    try:
        return open_image(path)
    except BadImage as e:
        raise UserError(f"--input {path}: not a readable image ({e})") from None


def read_image(path: Path, channels: int, resolution: int) -> torch.Tensor:
    """An image file as float ``[1, channels, R, R]`` in [-1, 1] (squashed, antialiased)."""
    from .data.base import convert_channels
    from .data.transforms import image_array, normalize, to_resolution

    with _open(path) as im:
        arr = image_array(im)
    x = convert_channels(to_resolution(arr, resolution), channels)
    return normalize(x)


def read_masked(path: Path, resolution: int) -> torch.Tensor:
    """An RGBA image (transparent = hole) as the 4-channel inpainting input ``[1, 4, R, R]``:
    RGB with holes set to mid-gray 128, and the mask (+1 hole, -1 known), as ``masked2photo``."""
    from .data.transforms import normalize, to_resolution

    with _open(path) as im:
        has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
        rgba = np.asarray(im.convert("RGBA"), dtype=np.uint8)
    rgb = to_resolution(np.ascontiguousarray(rgba[..., :3]), resolution)  # [1, 3, R, R]
    hole = rgba[..., 3] < 128 if has_alpha else np.zeros(rgba.shape[:2], bool)
    mask = torch.from_numpy(hole.astype(np.float32))[None, None]
    mask = torch.nn.functional.interpolate(mask, size=(resolution, resolution), mode="nearest") > 0.5
    rgb = torch.where(mask, torch.full_like(rgb, 128), rgb)
    return normalize(torch.cat([rgb, mask.to(torch.uint8) * 255], 1))


def read_labels(path: Path, resolution: int, num_labels: int) -> torch.Tensor:
    """A label-map PNG (gray or palette values = class ids) as int64 ``[1, R, R]`` (nearest)."""
    with _open(path) as im:
        if im.mode in ("L", "P", "I", "I;16", "1"):
            arr = np.asarray(im).astype(np.int64)
        else:
            rgb = np.asarray(im.convert("RGB")).astype(np.int64)
            if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
                raise UserError(f"--input {path}: a label-map model needs a label map (a grayscale or palette "
                                f"PNG of class ids 0..{num_labels - 1}), not a colour image")
            arr = rgb[..., 0]
    if arr.max() >= num_labels or arr.min() < 0:
        raise UserError(f"--input {path}: label ids must be in 0..{num_labels - 1}, found {int(arr.max())}")
    t = torch.from_numpy(arr)[None, None].float()
    return torch.nn.functional.interpolate(t, size=(resolution, resolution), mode="nearest")[:, 0].long()


def read_native(path: Path, channels: int) -> torch.Tensor:
    """An image file at its own size as float ``[1, channels, h, w]`` in [-1, 1] (super-resolution)."""
    from .data.base import convert_channels
    from .data.transforms import image_array, normalize

    with _open(path) as im:
        arr = np.ascontiguousarray(image_array(im))
    t = torch.from_numpy(arr.copy())  # [H, W] or [H, W, 3] uint8
    t = (t.unsqueeze(-1) if t.dim() == 2 else t).permute(2, 0, 1).unsqueeze(0)
    return normalize(convert_channels(t.contiguous(), channels))


def read_input(path: Path, spec: dict) -> torch.Tensor:
    """One input file prepared as ``spec`` (``recipe.input_spec``) says."""
    if spec["kind"] == "labels":
        return read_labels(path, spec["resolution"], spec["num_labels"])
    if spec["kind"] == "masked":
        return read_masked(path, spec["resolution"])
    return read_image(path, spec["channels"], spec["resolution"])


# ----------------------------------------------------------------------- the verb


def translate_files(checkpoint: str | Path, input: str | Path, out: str | Path, direction: str = "AtoB",
                    domain: int | None = None, seed: int = 0) -> dict:
    """What ``gankit translate`` does; returns ``{"count", "outputs", "strips", "out"}``."""
    from . import load

    model = load(checkpoint)
    check_model(model)
    rec = model.recipe
    rec.translator(model.nets, direction)  # UserError for a direction the model cannot do
    domains = rec.domains()
    if domain is not None and not domains:
        raise UserError(f"--domain: recipe {model.config.recipe!r} has no domains (stargan has)")
    if domain is not None and not 0 <= domain < len(domains):
        raise UserError(f"--domain must be in 0..{len(domains) - 1} ({', '.join(domains)}), got {domain}")
    items, _ = collect_inputs(input)
    spec, ospec = rec.input_spec(direction), rec.output_spec(direction)
    if spec.get("native"):  # super-resolution: each image at its own size, upscaled by the factor
        return _upscale_files(model, items, Path(out), spec["channels"], seed)
    x = torch.cat([read_input(f, spec) for f, _, _ in items])
    targets = {i: read_image(t, ospec["channels"], ospec["resolution"]) for i, (_, t, _) in enumerate(items) if t}
    targets_to = [None] if not domains else ([domain] if domain is not None else list(range(len(domains))))
    outs = [translate(model, x, direction, k, seed) for k in targets_to]  # each [N, C, R, R]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    from .provenance import provenance

    info = {**provenance(model, seed), "gankit:direction": direction, "Software": "gankit (translated image)"}
    written, strips = [], 0
    for i, (f, _, name) in enumerate(items):
        for k, y in zip(targets_to, outs):
            suffix = "" if k is None or domain is not None else f"_d{k}"
            dest = out / f"{name}{suffix}.png"
            viz.save_image(viz.to_uint8_images(y[i:i + 1])[0], dest, pnginfo={**info, "gankit:input": str(f)})
            written.append(dest)
        if i in targets:
            pic = rec.picture(x[i:i + 1], direction).float().cpu()
            row = torch.cat([pic, *(y[i:i + 1] for y in outs), targets[i]])
            grid = viz.image_grid(row, nrow=len(row))
            viz.save_image(grid, out / f"{name}_strip.png", scale=max(1, 128 // ospec["resolution"]),
                           pnginfo={**info, "gankit:input": str(f), "gankit:picture": "input|output|target strip"})
            strips += 1
    return {"count": len(items), "outputs": written, "strips": strips, "out": out}


def _upscale_files(model: Model, items: list, out: Path, channels: int, seed: int) -> dict:
    """``gankit translate`` for super-resolution: every input at its own size, upscaled whole
    (:func:`upscale`, tiled when large); a strip ``bicubic | output | target`` where a target exists."""
    from .provenance import provenance

    out.mkdir(parents=True, exist_ok=True)
    info = {**provenance(model, seed), "gankit:direction": "AtoB", "Software": "gankit (upscaled image)"}
    written, strips = [], 0
    for f, t, name in items:
        x = read_native(f, channels)
        y = upscale(model, x)  # [1, C, h * s, w * s]
        dest = out / f"{name}.png"
        viz.save_image(viz.to_uint8_images(y)[0], dest, pnginfo={**info, "gankit:input": str(f)})
        written.append(dest)
        if t:
            bic = torch.nn.functional.interpolate(x, size=y.shape[-2:], mode="bicubic", align_corners=False)
            target = torch.nn.functional.interpolate(read_native(t, channels), size=y.shape[-2:], mode="bicubic",
                                                     align_corners=False)
            row = torch.cat([bic.clamp(-1, 1), y, target.clamp(-1, 1)])
            viz.save_image(viz.image_grid(row, nrow=3), out / f"{name}_strip.png",
                           pnginfo={**info, "gankit:input": str(f), "gankit:picture": "bicubic|output|target strip"})
            strips += 1
    return {"count": len(items), "outputs": written, "strips": strips, "out": out}


# ----------------------------------------------------------------------- paired metrics


def ssim(x: torch.Tensor, y: torch.Tensor, sigma: float = 1.5, size: int = 11) -> torch.Tensor:
    """Structural similarity per image (Wang et al. 2004, eq. 13) of ``x, y [N, C, H, W]`` in [0, 1].

    Gaussian window ``size`` x ``size``, ``sigma`` 1.5, ``K1 = 0.01``, ``K2 = 0.03``, population
    (co)variances, the mean SSIM map over valid positions and channels (what
    ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1)`` computes). Returns ``[N]``.
    """
    size = min(size, x.shape[-1], x.shape[-2])
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    w = torch.exp(-t * t / (2 * sigma * sigma))
    w = (w / w.sum()).float()
    c = x.shape[1]
    k = (w[:, None] * w[None, :]).expand(c, 1, size, size).contiguous()

    def blur(z):
        return torch.nn.functional.conv2d(z, k, groups=c)

    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.flatten(1).mean(1)


def _luma(x: torch.Tensor) -> torch.Tensor:
    """``[N, C, H, W]`` -> ``[N, 1, H, W]`` (BT.601 weights for RGB; gray unchanged)."""
    if x.shape[1] == 3:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return x


def nyquist_energy(x: torch.Tensor) -> torch.Tensor:
    """The period-2 ("checkerboard") energy of the luma of ``x [N, C, H, W]`` in [0, 1], per image.

    The power of the three Nyquist bins of the 2-D DFT, (pi, 0), (0, pi) and (pi, pi), divided by
    the pixel count squared: ``mean(y (-1)^i)^2 + mean(y (-1)^j)^2 + mean(y (-1)^(i+j))^2``. A
    sub-pixel convolution (PixelShuffle) that has not learnt equal sub-pixel filters leaves a
    pattern of the same phase all over the image, which lands exactly there; natural images put
    little energy in those bins (Odena et al. 2016 on checkerboard artifacts).
    """
    y = _luma(x)[..., : x.shape[-2] // 2 * 2, : x.shape[-1] // 2 * 2]
    si = 1.0 - 2.0 * (torch.arange(y.shape[-2]) % 2).float().view(-1, 1)  # (-1)^i
    sj = 1.0 - 2.0 * (torch.arange(y.shape[-1]) % 2).float().view(1, -1)  # (-1)^j
    bins = [(y * si).mean((-3, -2, -1)), (y * sj).mean((-3, -2, -1)), (y * si * sj).mean((-3, -2, -1))]
    return sum(b * b for b in bins)


def colourfulness(x: torch.Tensor) -> torch.Tensor:
    """Colourfulness per image of RGB ``x [N, 3, H, W]`` in [0, 1] (Hasler & Suesstrunk 2003).

    D. Hasler and S. Suesstrunk, "Measuring colourfulness in natural images", Proc. SPIE 5007,
    Human Vision and Electronic Imaging VIII (2003), the metric ``M^(3)``: on 0..255 RGB,
    ``rg = R - G`` and ``yb = (R + G) / 2 - B`` per pixel, then
    ``M = sigma_rgyb + 0.3 mu_rgyb`` with ``sigma_rgyb = sqrt(sigma_rg^2 + sigma_yb^2)`` and
    ``mu_rgyb = sqrt(mu_rg^2 + mu_yb^2)`` (means and population standard deviations over the
    image's pixels). ``x`` is scaled by 255 here. A gray image (R = G = B) scores 0; the score
    grows with the spread and the mean offset of the opponent-colour values. Returns ``[N]``.
    """
    if x.shape[1] != 3:
        raise ValueError(f"colourfulness needs RGB images [N, 3, H, W], got {tuple(x.shape)}")
    r, g, b = (x.double() * 255.0).flatten(2).unbind(1)  # each [N, H * W]
    rg, yb = r - g, 0.5 * (r + g) - b
    sigma = (rg.var(1, unbiased=False) + yb.var(1, unbiased=False)).sqrt()
    mu = (rg.mean(1) ** 2 + yb.mean(1) ** 2).sqrt()
    return (sigma + 0.3 * mu).float()


def hole_errors(y: torch.Tensor, t: torch.Tensor, hole: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Per-image error sums inside a hole: ``y, t [N, C, H, W]`` (same scale), ``hole`` bool
    ``[N, 1, H, W]`` (True = hole pixel). Returns ``(sum |y - t|, sum (y - t)^2, count)``, each
    ``[N]``, over every channel of the hole pixels only (``count`` = hole pixels x channels)."""
    m = hole.expand_as(y).to(y.dtype)
    d = (y - t) * m
    return d.abs().flatten(1).sum(1), (d * d).flatten(1).sum(1), m.flatten(1).sum(1)


def gradient_magnitude(x: torch.Tensor) -> torch.Tensor:
    """Mean gradient magnitude of the luma of ``x [N, C, H, W]`` in [0, 1], per image ``[N]``
    (forward differences; a sharpness measure: blur lowers it)."""
    x = _luma(x)
    dx, dy = x[..., :-1, 1:] - x[..., :-1, :-1], x[..., 1:, :-1] - x[..., :-1, :-1]
    return (dx * dx + dy * dy).sqrt().flatten(1).mean(1)


@torch.no_grad()
def paired_metrics(model: Model, n: int = 0, direction: str = "AtoB", baseline: bool = False) -> dict:
    """L1, PSNR, SSIM, sharpness (+ hole and colour scores) of a model's translations of its
    data's held-out pairs.

    Outputs are quantised to 8 bits first (what ``gankit translate`` writes), then compared with
    the targets in [0, 1]: ``l1`` mean absolute error; ``psnr`` mean over images of
    ``10 log10(1 / MSE)`` (dB); ``ssim`` mean of :func:`ssim`; ``sharpness`` the ratio of the
    outputs' mean gradient magnitude to the targets' (1 = as sharp as the targets, < 1 blurrier);
    ``checkerboard`` the ratio of the outputs' mean :func:`nyquist_energy` to the targets' (1 =
    no more period-2 pattern than the targets have; ``nyquist_out`` / ``nyquist_target`` raw).

    **RGB outputs** also get ``colourfulness``, the outputs' mean :func:`colourfulness` (Hasler &
    Suesstrunk 2003, on 0..255 RGB, per image then averaged), ``colourfulness_target`` the
    targets', and ``colourfulness_ratio`` outputs' over targets' (1 = as colourful as the real
    photos, 0 = gray; what colourisation, e.g. ``gray2color``, should bring up).

    **Inpainting** (an input of kind ``masked``, e.g. ``masked2photo``: RGB + a mask channel,
    +1 hole / -1 known) also gets the errors inside the hole only, over all channels of the hole
    pixels, on the same 8-bit [0, 1] scale as ``l1`` / ``psnr``: ``hole_l1`` the mean absolute
    error pooled over every hole pixel of the held-out set (so a big hole weighs more than a
    small one), ``hole_psnr`` ``10 log10(1 / MSE_hole)`` per image, averaged over the images that
    have a hole (those without one are left out; both keys are absent when no image has one).

    ``n`` limits the number of pairs (0: all of the held-out split). ``baseline=True`` scores the
    inputs themselves instead of the model's outputs (bicubic upsampling when they are smaller,
    gray <-> RGB as needed, the mask channel dropped, so an inpainting input is scored with its
    gray fill inside the hole): the do-nothing reference, e.g. bicubic for super-resolution.
    """
    check_model(model)
    data = model.recipe.held_out()
    if not modality(data).paired:
        raise UserError(f"--checkpoint {model.path}: data {data.name!r} has no held-out pairs to compare with")
    total = len(data) if n <= 0 else min(n, len(data))
    src = data.a if direction == "AtoB" else data.x
    tgt = data.x if direction == "AtoB" else data.a
    masked = model.recipe.input_spec(direction)["kind"] == "masked" and src.shape[-2:] == tgt.shape[-2:]
    rgb = tgt.shape[1] == 3
    acc = {"l1": 0.0, "psnr": 0.0, "ssim": 0.0, "grad_out": 0.0, "grad_target": 0.0, "nyquist_out": 0.0,
           "nyquist_target": 0.0}
    if rgb:
        acc.update(colourfulness=0.0, colourfulness_target=0.0)
    hole = {"abs": 0.0, "count": 0.0, "psnr": 0.0, "images": 0}
    for s in range(0, total, CHUNK):
        e = min(total, s + CHUNK)
        if baseline:
            y = _baseline(data.to_float(src[s:e]), tgt.shape[1], tgt.shape[-1])
        else:
            y = translate(model, data.to_float(src[s:e]), direction)
        y = ((y.clamp(-1, 1) + 1) * 127.5).round() / 255.0  # [B, C, R, R], 8-bit levels in [0, 1]
        t = tgt[s:e].float() / 255.0
        mse = (y - t).pow(2).flatten(1).mean(1).clamp_min(1e-10)
        acc["l1"] += float((y - t).abs().flatten(1).mean(1).sum())
        acc["psnr"] += float((10 * torch.log10(1.0 / mse)).sum())
        acc["ssim"] += float(ssim(y, t).sum())
        acc["grad_out"] += float(gradient_magnitude(y).sum())
        acc["grad_target"] += float(gradient_magnitude(t).sum())
        acc["nyquist_out"] += float(nyquist_energy(y).sum())
        acc["nyquist_target"] += float(nyquist_energy(t).sum())
        if rgb:
            acc["colourfulness"] += float(colourfulness(y).sum())
            acc["colourfulness_target"] += float(colourfulness(t).sum())
        if masked:  # the mask channel: +1 (uint8 255) inside a hole, -1 (0) on known pixels
            abs_sum, sq_sum, count = hole_errors(y, t, data.to_float(src[s:e, 3:4]) > 0)
            has = count > 0
            hole["abs"] += float(abs_sum.sum())
            hole["count"] += float(count.sum())
            hole["psnr"] += float((10 * torch.log10(1.0 / (sq_sum[has] / count[has]).clamp_min(1e-10))).sum())
            hole["images"] += int(has.sum())
    out = {k: v / total for k, v in acc.items()}
    out["sharpness"] = out["grad_out"] / max(out["grad_target"], 1e-12)
    out["checkerboard"] = out["nyquist_out"] / max(out["nyquist_target"], 1e-12)
    if rgb:
        out["colourfulness_ratio"] = out["colourfulness"] / max(out["colourfulness_target"], 1e-12)
    if hole["images"]:
        out["hole_l1"] = hole["abs"] / hole["count"]
        out["hole_psnr"] = hole["psnr"] / hole["images"]
    return {"n": total, "data": f"{data.name} (held-out split)", "outputs": "inputs" if baseline else "model", **out}


def _baseline(x: torch.Tensor, channels: int, resolution: int) -> torch.Tensor:
    """Inputs as outputs: extra channels (a mask) dropped, gray <-> RGB, bicubic resize."""
    if x.shape[1] > 3:
        x = x[:, :3]
    if x.shape[1] == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    elif x.shape[1] == 3 and channels == 1:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    if x.shape[-1] != resolution:
        x = torch.nn.functional.interpolate(x, size=(resolution, resolution), mode="bicubic", align_corners=False)
    return x.clamp(-1, 1)
