"""``gankit detect``: one library function per form of the verb, and their text output.

* ``gankit detect train --real DATA --fake CKPT[,CKPT...] --out DIR`` -> :func:`train_command`
* ``gankit detect --checkpoint DIR --input PATH`` (detector scores) and/or
  ``gankit detect --watermark KEY --input PATH`` (watermark readings) -> :func:`scan`
"""
from __future__ import annotations

import json

from ..errors import UserError

THRESHOLD = 0.5


def _reject(flags: dict, form: str) -> None:
    for flag, value in flags.items():
        if value not in (None, False, [], ""):
            raise UserError(f"{flag}: not used by `gankit {form}`")


def train_command(real: str | None, fake: str | None, out: str | None, n: int = 0, steps: int | None = None,
                  seed: int = 0, augment: str = "robust", resolution: int | None = None, width: int | None = None,
                  unused: dict | None = None) -> dict:
    """Validate the ``detect train`` flags and train (see ``detector.train_from_sources``)."""
    from .detector import TrainOptions, train_from_sources

    _reject(unused or {}, "detect train")
    for flag, value in (("--real", real), ("--fake", fake), ("--out", out)):
        if not value:
            raise UserError(f"gankit detect train: {flag} is required")
    fakes = [f.strip() for f in fake.split(",") if f.strip()]
    if steps is not None and steps < 1:
        raise UserError(f"--steps must be >= 1, got {steps}")
    if n < 0:
        raise UserError(f"--n must be >= 0, got {n}")
    defaults = TrainOptions()
    opts = TrainOptions(steps=steps or defaults.steps, seed=seed, augment=augment, width=width or defaults.width)
    return train_from_sources(real, fakes, out, n=n, options=opts, resolution=resolution)


def format_train(res: dict) -> str:
    h = res["heldout"]
    return (f"detector: {res['out']} ({res['n_real']} real + {res['n_fake']} generated images, "
            f"{res['resolution']} px, {res['seconds']} s)\n"
            f"held-out: accuracy {h['accuracy']:.4f}  auc {h['auc']:.4f}  ({h['n_real']} real, {h['n_fake']} generated)")


def scan(input: str | None, checkpoint: str | None = None, watermark: int | None = None,
         watermark_message: str | None = None, unused: dict | None = None) -> dict:
    """Score every image under ``input`` with a detector and/or read its watermark.

    Returns ``{"input", "checkpoint", "threshold", "watermark", "n", "n_generated",
    "n_watermarked", "images": [{"file", "score"?, "generated"?, "watermark"?: {...}}], "skipped"}``.
    """
    from .images import input_files, read_images, to_batch

    _reject(unused or {}, "detect (scoring)")
    if checkpoint is None and watermark is None:
        raise UserError("gankit detect: give --checkpoint DIR (a detector) and/or --watermark KEY, "
                        "or use `gankit detect train`")
    if not input:
        raise UserError("gankit detect: --input is required (an image or a folder)")
    if watermark_message is not None and watermark is None:
        raise UserError("--watermark-message: only used with --watermark KEY")
    det = None
    if checkpoint is not None:
        from .detector import load_detector

        det = load_detector(checkpoint)
    message = None
    if watermark is not None:
        from .watermark import _check_key, parse_message

        _check_key(watermark)
        message = parse_message(watermark_message)
    files = input_files(input)
    readable, skipped = read_images(files)
    rows = [{"file": str(f)} for f, _ in readable]
    if det is not None and readable:
        scores = det.score(to_batch([a for _, a in readable], det.channels, det.resolution))
        for row, s in zip(rows, scores):
            row["score"] = round(float(s), 6)
            row["generated"] = bool(s >= THRESHOLD)
    if watermark is not None:
        from .watermark import decode

        for row, (f, arr) in zip(rows, readable):
            try:
                row["watermark"] = decode(arr, watermark).to_dict(message, watermark)
            except UserError as e:  # too small to carry a mark: say so for this image only
                row["watermark"] = {"detected": False, "error": str(e)}
    if not rows:
        raise UserError(f"--input {input}: no readable image ({len(skipped)} unreadable; first: "
                        f"{skipped[0][0]}: {skipped[0][1]})")
    return {"input": str(input), "checkpoint": None if det is None else str(det.path),
            "threshold": THRESHOLD if det is not None else None, "watermark": watermark is not None,
            "n": len(rows), "n_generated": sum(r.get("generated", False) for r in rows) if det else None,
            "n_watermarked": sum(r.get("watermark", {}).get("detected", False) for r in rows)
            if watermark is not None else None,
            "images": rows, "skipped": [{"file": str(f), "reason": why} for f, why in skipped]}


def format_scan(res: dict) -> str:
    """One line per image (score and/or watermark), then a summary line."""
    lines = []
    for r in res["images"]:
        parts = []
        if "score" in r:
            parts.append(f"{r['score']:.4f} {'generated' if r['generated'] else 'real':<9}")
        if "watermark" in r:
            w = r["watermark"]
            if "error" in w:
                parts.append(f"watermark: n/a ({w['error']})")
            else:
                parts.append(f"watermark {'yes' if w['detected'] else 'no ':<3} sync {w['sync_bit_accuracy']:.3f} "
                             f"message {w['message']}" + (f" bits {w['bit_accuracy']:.3f}" if "bit_accuracy" in w else ""))
        lines.append("  ".join(parts) + f"  {r['file']}")
    summary = [f"{res['n']} image(s)"]
    if res["n_generated"] is not None:
        summary.append(f"{res['n_generated']} scored generated (p >= {res['threshold']})")
    if res["n_watermarked"] is not None:
        summary.append(f"{res['n_watermarked']} watermarked")
    if res["skipped"]:
        summary.append(f"{len(res['skipped'])} unreadable skipped")
    lines.append(": ".join([summary[0], ", ".join(summary[1:])]) if len(summary) > 1 else summary[0])
    return "\n".join(lines)


def to_json(res: dict) -> str:
    return json.dumps(res)
