"""Image-to-image quality on held-out data: L1, PSNR, SSIM, sharpness, colourfulness, hole L1/PSNR
for inpainting (and FID) per checkpoint; segmentation accuracy of label-map -> image models
(spade; pix2pix on scenes-labels2photo).

    python benchmarks/i2i_eval.py --checkpoint runs/pix2pix-edges2photo runs/l1-only-edges2photo [--n N] [--json]
    python benchmarks/i2i_eval.py --checkpoint runs/srgan runs/srresnet --baseline --fid --strip sr.png
    python benchmarks/i2i_eval.py --checkpoint runs/spade                # spade: segmentation rows
    python benchmarks/i2i_eval.py --checkpoint runs/spade runs/pix2pix-labels --strip seg.png  # both, same maps
    python benchmarks/i2i_eval.py --checkpoint runs/srresnet runs/srgan --photos --baseline  # whole photos

``--photos`` (super-resolution): :func:`gankit.superres.whole_photo_metrics` on the whole held-out
strip of each sample photo, luma PSNR/SSIM with the factor's border cropped, and the checkerboard
ratio; ``--baseline`` adds bicubic on the same inputs.

**Paired models** (pix2pix, l1-only, cyclegan, stargan, srgan, srresnet): each checkpoint's model
translates the held-out (test) split of the data it was trained on; see
:func:`gankit.translate.paired_metrics` for L1 / PSNR / SSIM / sharpness, and for the fields only
some data have: ``colourfulness`` / ``colourfulness_ratio`` (Hasler & Suesstrunk 2003; RGB
outputs, e.g. gray2color colourisation; text rows ``colourful M (xR)``, R = outputs' mean over
the targets') and ``hole_l1`` / ``hole_psnr`` (inpainting, e.g. masked2photo: the errors inside
the hole only; text rows ``hole L1 .. PSNR .. dB``). ``--baseline`` adds the do-nothing row (the
inputs themselves, bicubic-upsampled when smaller; for inpainting the crop with its gray fill,
so the hole scores are the gray fill's). ``--fid`` adds
:func:`fid_rows`: FID of the (8-bit) outputs against the held-out targets in the offline
``randconv`` feature space, once as the ``randconv`` extractor does it (resized to 32 px) and,
for larger images, once at native resolution (a differently seeded net, no resize).

**Label-map models** (``input_spec`` kind ``labels``: spade on ``scenes``, and pix2pix / l1-only
on ``scenes-labels2photo``, whose one-hot inputs are the same scenes' label maps): each held-out
label map is turned into an image by the model, and :func:`palette_segment` -- a rule-based
segmenter that knows how ``scenes`` are drawn -- labels the image; :func:`seg_scores` compares
that with the input label map. The same segmenter on the real held-out images gives the
reference row (its own error rate); it and the all-background row are printed once for
checkpoints whose held-out label maps and images are identical (spade and pix2pix at the same
resolution), so the models' rows read as one table.

``--strip FILE`` writes example rows ``input | output(s) | target`` (held-out items 0..k-1); for
label-map models ``label map | (generated | its segmentation) per model | real image``.
Deterministic (no sampling: the first ``--n`` held-out items, in order, fixed seeds).
"""
from __future__ import annotations

import argparse
import json
import sys

import torch

MIN_AREA = 4  # components smaller than this (pixels) are called background: specks, not shapes
FILL_SQUARE, FILL_CIRCLE = 0.89, 0.64  # fill-ratio cuts between square (1.0), circle (pi/4), triangle (0.5)


# ----------------------------------------------------------------------- colour segmenter


def palette_segment(images: torch.Tensor, min_area: int = MIN_AREA) -> torch.Tensor:
    """Label ``scenes`` images by rule: uint8 ``[N, 3, H, W]`` -> class ids ``[N, H, W]`` in the
    ``seg="kind"`` classes (0 background, 1 circle, 2 square, 3 triangle).

    1. Every pixel takes the nearest (Euclidean RGB) of the five scene colours: the background
       and the four shape colours (``gankit.data.scenes.BACKGROUND``, ``COLORS``).
    2. Shape-coloured pixels are grouped into 4-connected components of one colour (scenes'
       shapes never touch, so one component = one shape).
    3. A component's kind comes from its fill ratio, area / bounding-box area: axis-aligned
       squares fill ~1.0, circles pi/4 ~ 0.79, upright triangles ~0.5; cuts at 0.89 and 0.64.
       Components under ``min_area`` pixels are background.
    """
    from gankit.data.scenes import BACKGROUND, COLORS

    x = images.float()
    n, _, h, w = x.shape
    pal = torch.tensor([BACKGROUND, *COLORS.values()], dtype=torch.float32)  # [5, 3]
    d = ((x[:, None] - pal[None, :, :, None, None]) ** 2).sum(2)  # [N, 5, H, W]
    col = d.argmin(1)  # [N, H, W], 0 = background
    fg = col > 0
    # connected components: each pixel starts with its own id and takes the largest id of its
    # same-colour 4-neighbours until nothing changes
    ids = torch.arange(1, h * w + 1, dtype=torch.int64).view(1, h, w).expand(n, h, w)
    lab = torch.where(fg, ids, torch.zeros_like(ids))
    while True:
        new = lab
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            nb = torch.roll(lab, (dy, dx), (1, 2))
            same = torch.roll(col, (dy, dx), (1, 2)) == col
            valid = torch.ones(h, w, dtype=torch.bool)  # no wrap-around at the borders
            if dy == 1:
                valid[0] = False
            if dy == -1:
                valid[-1] = False
            if dx == 1:
                valid[:, 0] = False
            if dx == -1:
                valid[:, -1] = False
            new = torch.where(fg & same & valid, torch.maximum(new, nb), new)
        if torch.equal(new, lab):
            break
        lab = new
    out = torch.zeros(n, h, w, dtype=torch.int64)
    if not fg.any():
        return out
    key = (torch.arange(n).view(n, 1, 1) * (h * w + 1) + lab)[fg]  # one key per component
    comp, inv = torch.unique(key, return_inverse=True)
    rows = torch.arange(h).view(1, h, 1).expand(n, h, w)[fg]
    cols = torch.arange(w).view(1, 1, w).expand(n, h, w)[fg]
    k = len(comp)
    area = torch.zeros(k).scatter_add_(0, inv, torch.ones(len(inv)))

    def reduce(v, how, init):
        return torch.full((k,), init, dtype=torch.int64).scatter_reduce(0, inv, v, how, include_self=True)

    bh = reduce(rows, "amax", -1) - reduce(rows, "amin", h) + 1
    bw = reduce(cols, "amax", -1) - reduce(cols, "amin", w) + 1
    fill = area / (bh * bw).float()
    kind = torch.where(fill >= FILL_SQUARE, 2, torch.where(fill >= FILL_CIRCLE, 1, 3))
    kind = torch.where(area < min_area, 0, kind)
    out[fg] = kind[inv]
    return out


def seg_scores(pred: torch.Tensor, target: torch.Tensor, num_classes: int = 4) -> dict:
    """Pixel accuracy, foreground/background accuracy, mean IoU (classes present in either,
    pooled over all images) and per-class IoU of predicted vs true label maps ``[N, H, W]``."""
    pred, target = pred.long(), target.long()
    acc = float((pred == target).float().mean())
    fg_acc = float(((pred > 0) == (target > 0)).float().mean())
    ious = []
    for c in range(num_classes):
        p, t = pred == c, target == c
        union = int((p | t).sum())
        ious.append(float((p & t).sum()) / union if union else float("nan"))
    present = [v for v in ious if v == v]
    return {"pixel_acc": acc, "fg_acc": fg_acc, "miou": sum(present) / max(1, len(present)), "iou": ious}


# ----------------------------------------------------------------------- outputs


def _to_uint8(y: torch.Tensor) -> torch.Tensor:
    return ((y.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


@torch.no_grad()
def paired_outputs(model, n: int = 0, direction: str = "AtoB", baseline: bool = False):
    """``(inputs [-1, 1], outputs uint8, targets uint8)`` for the first ``n`` held-out pairs
    (0: all), as :func:`gankit.translate.paired_metrics` computes them."""
    from gankit.translate import CHUNK, _baseline, translate

    data = model.recipe.held_out()
    total = len(data) if n <= 0 else min(n, len(data))
    src = data.a if direction == "AtoB" else data.x
    tgt = data.x if direction == "AtoB" else data.a
    x = data.to_float(src[:total])
    ys = []
    for s in range(0, total, CHUNK):
        xs = x[s:s + CHUNK]
        ys.append(_baseline(xs, tgt.shape[1], tgt.shape[-1]) if baseline else translate(model, xs, direction))
    return x, _to_uint8(torch.cat(ys)), tgt[:total]


def fid_rows(fake: torch.Tensor, real: torch.Tensor) -> dict:
    """FID of uint8 images ``fake`` vs ``real`` in random-conv feature spaces (offline):

    * ``fid_randconv``: the ``randconv`` extractor as ``gankit eval`` uses it (seed 0, images
      resized to 32 px);
    * ``fid_native`` (only for images that are not 32 px): the same architecture with seed 1 on
      the images at their own size, so detail finer than 32 px counts. Seed 1 because srgan's
      offline content loss (``RandomFeatures``, seed 0) starts with exactly the seed-0
      extractor's first-layer filters; seed 1 shares no weights with it.
    """
    from gankit.metrics.extractors import RandConvExtractor, RandConvNet
    from gankit.metrics.fid import fid_from_features

    ext = RandConvExtractor()
    native_net = RandConvNet(seed=1)

    def feats(imgs, native):
        out = []
        for s in range(0, len(imgs), 250):
            b = imgs[s:s + 250].float() / 127.5 - 1
            if b.shape[1] == 1:
                b = b.expand(-1, 3, -1, -1)
            out.append(native_net(b) if native else ext.extract(b)[0])
        return torch.cat(out).double().numpy()

    res = {"fid_randconv": fid_from_features(feats(real, False), feats(fake, False))}
    if fake.shape[-1] != ext.resolution:
        res["fid_native"] = fid_from_features(feats(real, True), feats(fake, True))
    return res


def label_maps(model, n: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` (0: all) held-out label maps ``[N, H, W]`` and real images (uint8) of a
    label-map model; ``UserError`` unless they are ``scenes`` label maps the segmenter reads."""
    from gankit.errors import UserError

    data = model.recipe.held_out()
    names = list((data.info or {}).get("seg_classes") or [])
    if data.seg is None or names != ["background", "circle", "square", "triangle"]:
        raise UserError(f"--checkpoint {model.path}: the colour segmenter reads scenes label maps with "
                        f"seg=kind (background, circle, square, triangle); this data has {names or 'none'}")
    total = len(data) if n <= 0 else min(n, len(data))
    return data.seg[:total, 0].long(), data.x[:total]


@torch.no_grad()
def label_map_rows(model, n: int = 0, seed: int = 0, reference: bool = True) -> tuple[list[dict], torch.Tensor]:
    """Segmentation rows for a label-map model (spade, or pix2pix on ``scenes-labels2photo``):
    its images of the held-out label maps, and the real held-out images (the segmenter's
    reference), each segmented by :func:`palette_segment`; the first row also has the FID
    (randconv) of the generated vs the real held-out images. ``reference=False`` leaves out the
    real-images and all-background rows (already printed for the same held-out set).

    Every label-map model takes class ids (:func:`gankit.translate.translate`): spade one-hot
    encodes them for its SPADE blocks, a paired model as its data did (``scenes-labels2photo``'s
    inputs are exactly the one-hot ids), so all models see the same maps.
    Returns the rows and the generated images (uint8)."""
    from gankit.translate import translate

    seg, real = label_maps(model, n)
    total = len(seg)
    fake = _to_uint8(translate(model, seg, seed=seed))
    rows = [{"outputs": "model", "n": total, **seg_scores(palette_segment(fake), seg, 4), **fid_rows(fake, real)}]
    if reference:
        rows.append({"outputs": "real images", "n": total, **seg_scores(palette_segment(real), seg, 4)})
        # the trivial prediction "everything is background": the floor for pixel accuracy
        rows.append({"outputs": "all background", "n": total, **seg_scores(torch.zeros_like(seg), seg, 4)})
    return rows, fake


spade_rows = label_map_rows  # its name from when spade was the only label-map model


# ----------------------------------------------------------------------- strips


def write_strip(path: str, models: list, n: int, direction: str, baseline: bool) -> None:
    """Rows ``input | [bicubic] | output of each model | target`` for held-out items 0..n-1
    (the bicubic column with ``baseline`` when inputs are smaller than targets)."""
    from gankit import viz
    from gankit.errors import UserError

    cols, target, shape = [], None, None
    for i, m in enumerate(models):
        x, y, t = paired_outputs(m, n, direction)
        if shape is None:
            shape = tuple(t.shape)
            pic = m.recipe.picture(x, direction).float().cpu()
            cols.append(pic)
            if baseline and x.shape[-1] != t.shape[-1]:  # same size: the baseline is the input column
                cols.append(paired_outputs(m, n, direction, baseline=True)[1].float() / 127.5 - 1)
            target = t.float() / 127.5 - 1
        elif tuple(t.shape) != shape:
            raise UserError(f"--strip: checkpoints {models[0].path} and {m.path} have different held-out data")
        cols.append(y.float() / 127.5 - 1)
    cols.append(target)
    grid = viz.image_grid(torch.stack(cols, 1).flatten(0, 1), nrow=len(cols))
    viz.save_image(grid, path, scale=max(1, 64 // shape[-1]))


def write_label_strip(path: str, runs: list, n: int) -> None:
    """Rows ``label map | (generated | its segmentation) per model | real image`` for held-out
    items 0..n-1; ``runs`` is ``[(model, generated uint8)]``, all on the same held-out maps."""
    from gankit import viz
    from gankit.errors import UserError
    from gankit.recipes.translation import labels_picture

    seg, real = label_maps(runs[0][0], n)
    cols = [labels_picture(seg)]
    for model, fake in runs:
        s, _ = label_maps(model, n)
        if not torch.equal(s, seg):
            raise UserError(f"--strip: checkpoints {runs[0][0].path} and {model.path} have different held-out "
                            f"label maps")
        cols += [fake[:n].float() / 127.5 - 1, labels_picture(palette_segment(fake[:n]))]
    cols.append(real.float() / 127.5 - 1)
    grid = viz.image_grid(torch.stack(cols, 1).flatten(0, 1), nrow=len(cols))
    viz.save_image(grid, path, scale=2)


# ----------------------------------------------------------------------- CLI


def _photo_rows(models, baseline: bool, as_json: bool) -> int:
    """Print whole-photo super-resolution rows (the model's, then bicubic once with --baseline)."""
    from gankit.superres import whole_photo_metrics

    rows = [{"checkpoint": str(m.path), "recipe": m.config.recipe, "step": m.step, **whole_photo_metrics(m)}
            for m in models]
    if baseline:
        rows.append({"checkpoint": str(models[0].path), "recipe": "bicubic", "step": 0,
                     **whole_photo_metrics(models[0], baseline=True)})
    for r in rows:
        if as_json:
            print(json.dumps(r))
        else:
            print(f"{r['recipe']:<9} step {r['step']:>6}  {len(r['photos'])} photos  PSNR-Y {r['psnr_y']:.2f} dB  "
                  f"SSIM-Y {r['ssim_y']:.4f}  sharpness {r['sharpness']:.3f}  checkerboard {r['checkerboard']:.2f}  "
                  f"({r['checkpoint']})")
    return 0



def main(argv=None) -> int:
    import gankit
    from gankit.errors import UserError
    from gankit.translate import paired_metrics

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", nargs="+", required=True, help="run or checkpoint directories")
    p.add_argument("--n", type=int, default=0, help="held-out items (0: all)")
    p.add_argument("--direction", default="AtoB", choices=["AtoB", "BtoA"])
    p.add_argument("--baseline", action="store_true",
                   help="also score the inputs themselves (bicubic-upsampled when smaller): the do-nothing reference")
    p.add_argument("--fid", action="store_true", help="also FID (randconv features) of outputs vs targets")
    p.add_argument("--strip", default="", help="write an example strip PNG (input | outputs | target)")
    p.add_argument("--strip-n", type=int, default=6, help="rows in the strip")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--photos", action="store_true",
                   help="super-resolution: whole held-out photos, luma PSNR/SSIM (border = factor)")
    a = p.parse_args(argv)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    try:
        models = [gankit.load(c) for c in a.checkpoint]
        if a.photos:
            return _photo_rows(models, a.baseline, a.json)
        rows, paired, labelled, seen = [], [], [], []
        for model in models:
            if model.recipe.input_spec(a.direction)["kind"] == "labels":
                held = label_maps(model, a.n)  # the reference rows once per distinct held-out set
                fresh = not any(torch.equal(held[0], s) and torch.equal(held[1], x) for s, x in seen)
                seen += [held] if fresh else []
                srows, fake = label_map_rows(model, a.n, reference=fresh)
                for r in srows:
                    name = {"model": model.config.recipe, "real images": "real"}.get(r["outputs"], "all-bg")
                    rows.append({"checkpoint": str(model.path), "recipe": name, "step": model.step, **r})
                labelled.append((model, fake))
                continue
            paired.append(model)
            for base in (False, True) if a.baseline else (False,):
                r = {"checkpoint": str(model.path), "recipe": "inputs" if base else model.config.recipe,
                     "step": model.step, **paired_metrics(model, a.n, a.direction, baseline=base)}
                if a.fid:
                    _, y, t = paired_outputs(model, a.n, a.direction, baseline=base)
                    r.update(fid_rows(y, t))
                rows.append(r)
        if a.strip and labelled:
            write_label_strip(a.strip, labelled, a.strip_n)
        if a.strip and paired:
            write_strip(a.strip, paired, a.strip_n, a.direction, a.baseline)
        for r in rows:
            if a.json:
                print(json.dumps(r))
            elif "pixel_acc" in r:
                extra = f"  FID(randconv) {r['fid_randconv']:.2f}" if "fid_randconv" in r else ""
                print(f"{r['recipe']:<10} step {r['step']:>6}  n={r['n']}  pixel acc {r['pixel_acc']:.4f}  "
                      f"fg/bg acc {r['fg_acc']:.4f}  mIoU {r['miou']:.4f}  IoU "
                      f"{' '.join(f'{v:.3f}' for v in r['iou'])}{extra}  ({r['checkpoint']})")
            else:
                extra = "".join(f"  {k.replace('fid_', 'FID ')} {r[k]:.2f}" for k in ("fid_randconv", "fid_native")
                                if k in r)
                if "hole_l1" in r:
                    extra = f"  hole L1 {r['hole_l1']:.4f} PSNR {r['hole_psnr']:.2f} dB" + extra
                if "colourfulness" in r:
                    extra = f"  colourful {r['colourfulness']:.1f} (x{r['colourfulness_ratio']:.2f})" + extra
                print(f"{r['recipe']:<10} step {r['step']:>6}  n={r['n']}  L1 {r['l1']:.4f}  PSNR {r['psnr']:.2f} dB  "
                      f"SSIM {r['ssim']:.4f}  sharpness {r['sharpness']:.3f}{extra}  ({r['checkpoint']})")
    except UserError as e:
        print(f"i2i_eval: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
