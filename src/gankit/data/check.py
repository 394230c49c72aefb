"""``gankit data check PATH``: what is in a user dataset, and every file that cannot be used."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..errors import UserError
from .user import IMAGE_EXTS, MAX_PIXELS


def check_path(path: str) -> dict:
    p = Path(path)
    if not p.exists():
        raise UserError(f"{path}: no such file or directory")
    if not p.is_dir():
        raise UserError(f"{path}: expected a folder of images")
    from PIL import Image

    files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTS)
    sizes, modes, classes, bad = Counter(), Counter(), Counter(), []
    for f in files:
        try:
            with Image.open(f) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise ValueError(f"{im.width}x{im.height} exceeds the pixel limit")
                im.load()
                sizes[f"{im.width}x{im.height}"] += 1
                modes[im.mode] += 1
        except Exception as e:  # noqa: BLE001 - any decode failure makes the file unusable
            bad.append({"file": str(f), "problem": str(e).splitlines()[0] if str(e) else type(e).__name__})
            continue
        rel = f.relative_to(p).parts
        if len(rel) > 1:
            classes[rel[0]] += 1
    ok = len(files) - len(bad)
    lines = [f"{p}: {len(files)} image files, {ok} readable, {len(bad)} unreadable"]
    if sizes:
        lines.append("sizes: " + ", ".join(f"{k} ({v})" for k, v in sizes.most_common(5)))
        lines.append("modes: " + ", ".join(f"{k} ({v})" for k, v in modes.most_common()))
    if len(classes) > 1:
        lines.append(f"classes ({len(classes)}): " + ", ".join(f"{k} ({v})" for k, v in sorted(classes.items())))
    for b in bad:
        lines.append(f"unreadable: {b['file']}: {b['problem']}")
    return {"path": str(p), "files": len(files), "readable": ok, "unreadable": bad,
            "sizes": dict(sizes), "modes": dict(modes), "classes": dict(classes), "ok": ok > 0,
            "text": "\n".join(lines)}
