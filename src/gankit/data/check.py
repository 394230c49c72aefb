"""``gankit data check PATH``: what is in a user dataset, and every file that cannot be used.

Works on every layout :mod:`gankit.data.user` reads (image folders, paired A|B or A/ + B/
folders, unpaired trainA/ + trainB/ folders, ``.npz``/``.npy``, MNIST IDX, CIFAR-10 batches).
It decodes every image fully, so truncated files are found, and reports counts, sizes, channel
modes, classes and each unreadable file by name. Problems that make the data unusable raise
:class:`~gankit.errors.UserError` naming the file (the CLI exits 2): no usable image, a paired
image whose halves differ in size (odd width), A/ and B/ names that do not match.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..modality import modality
from . import formats
from .transforms import MAX_PIXELS, BadImage, open_image
from .user import (
    IMAGE_EXTS,
    MODALITY_FILES,
    SPLIT_DIRS,
    ab_dirs,
    detect_format,
    list_images,
    load_modality_file,
    match_ab,
    prepared_manifest,
    unpaired_dirs,
)


def check_path(path: str, layout: str = "auto", max_pixels: int = MAX_PIXELS) -> dict:
    """Inspect a user dataset; a dict with counts and problems, and ``text`` for humans."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{path}: no such file or directory")
    if p.is_file() and p.suffix.lower() in MODALITY_FILES:
        return _check_modality_file(p, layout)
    fmt = detect_format(p, layout)
    if fmt == "midi":
        from .midi import check_midi

        return check_midi(p)
    if fmt == "prepared":  # decoded already: report its manifest (what was skipped when preparing)
        from .prepare import open_prepared, summary

        m = prepared_manifest(p)
        for split in m["splits"]:
            open_prepared(p, split)  # the arrays are readable and match the manifest
        bad = [s for e in m["splits"].values() for s in e["skipped"]]
        return {"path": str(p), "format": fmt, "ok": True, "unreadable": bad, "manifest": m, "text": summary(m, str(p))}
    report = {"path": str(p), "format": fmt, "ok": True, "unreadable": []}
    if fmt in ("images", "paired-sbs"):
        parts = _split_folders(p)
        report["splits"] = {name: _scan(folder, max_pixels, paired=fmt == "paired-sbs", classes=True)
                            for name, folder in parts}
    elif fmt == "paired-ab":
        report["splits"] = {}
        for split in ("train", "test"):
            a, b, note = ab_dirs(p, split)
            if note and split == "test":
                continue
            pairs = match_ab(a, b)  # UserError naming the first unmatched file
            report["splits"][split] = {"pairs": len(pairs), "A": _scan(a, max_pixels), "B": _scan(b, max_pixels)}
    elif fmt == "unpaired":
        report["splits"] = {}
        for split in ("train", "test"):
            if split == "test" and not ((p / "testA").is_dir() and (p / "testB").is_dir()):
                continue
            a, b, _ = unpaired_dirs(p, split)
            report["splits"][split] = {"A": _scan(a, max_pixels), "B": _scan(b, max_pixels)}
    elif fmt == "npz":
        report["arrays"] = _check_npz(p)
    elif fmt == "idx":
        report["splits"] = _check_arrays(p, formats.find_idx(p), formats.load_idx_split)
    else:
        report["splits"] = _check_arrays(p, formats.find_cifar(p), formats.load_cifar_split)
    _collect(report)
    report["text"] = _text(report)
    return report


def _check_modality_file(p: Path, layout: str) -> dict:
    """A ``.txt`` (text) or ``.csv`` (table; ``layout=series``: a time series) file, loaded
    exactly as training loads it (bad content is the same UserError naming file and line)."""
    kw = {"layout": layout} if layout in ("table", "series") else {}
    splits = {sp: load_modality_file(p, sp, kw) for sp in ("train", "test")}
    d = splits["train"]
    report = {"path": str(p), "format": d.info.get("format", p.suffix[1:]), "kind": d.kind, "ok": True,
              "unreadable": [], "splits": {sp: len(v) for sp, v in splits.items()}}
    lines = [f"{p}: {d.kind} ({report['format']}); train {len(splits['train'])}, test {len(splits['test'])} examples"]
    if "vocab" in d.info:  # text
        report.update(vocab=d.info["vocab"], seq_len=d.info["seq_len"], chars=d.info.get("chars"))
        lines.append(f"{len(d.info['vocab'])} distinct characters in {d.info['seq_len']}-character windows: "
                     f"{d.info['vocab']!r}")
    elif "transform" in d.info:  # a table
        cols = [{"name": c["name"], "type": c["type"]} for c in d.info["transform"]]
        report.update(columns=cols, target=d.info.get("target"))
        lines.append("columns: " + ", ".join(f"{c['name']} ({c['type']})" for c in cols))
        lines.append(f"target (for train-on-synthetic scores): {d.info.get('target')}")
    else:
        report.update(features=d.info.get("features"), seq_len=d.info.get("seq_len"), steps=d.info.get("steps"))
        lines.append(f"{d.info.get('steps')} time steps of features {', '.join(d.info.get('features', []))}, "
                     f"windows of {d.info.get('seq_len')}")
    lines.append(f"train with: gankit train --data {p}{modality(d).train_hint}")
    report["text"] = "\n".join(lines)
    return report


# --------------------------------------------------------------------------- folders
def _split_folders(root: Path) -> list[tuple[str, Path]]:
    subs = {d.name for d in root.iterdir() if d.is_dir()}
    found = [(n, root / n) for n in SPLIT_DIRS["train"] + SPLIT_DIRS["test"] if n in subs]
    return found or [("all", root)]


def _scan(folder: Path, max_pixels: int, paired: bool = False, classes: bool = False) -> dict:
    """Decode every image under ``folder``; sizes, modes, classes and unreadable files."""
    files = list_images(folder)
    sizes, modes, cls, bad = Counter(), Counter(), Counter(), []
    halves_2to1 = 0
    for f in files:
        try:
            with open_image(f, max_pixels) as im:
                w, h, mode = im.width, im.height, im.mode
        except BadImage as e:
            bad.append({"file": str(f), "problem": str(e)})
            continue
        if paired and w % 2:
            raise UserError(f"{f}: a paired A|B image must split into two halves of the same size, "
                            f"but its width {w} is odd")
        halves_2to1 += w == 2 * h
        sizes[f"{w}x{h}"] += 1
        modes[mode] += 1
        rel = f.relative_to(folder).parts
        if classes and len(rel) > 1:
            cls[rel[0]] += 1
    ok = len(files) - len(bad)
    if ok == 0:
        if not files:
            raise UserError(f"{folder}: no image files found (looked for {', '.join(sorted(IMAGE_EXTS))})")
        raise UserError(f"{folder}: no usable image: all {len(files)} files failed "
                        f"(first: {bad[0]['file']}: {bad[0]['problem']})")
    out = {"folder": str(folder), "files": len(files), "readable": ok, "unreadable": bad,
           "sizes": dict(sizes), "modes": dict(modes)}
    if classes:
        labelled = len(cls) > 1 and sum(cls.values()) == ok
        out["classes"] = dict(sorted(cls.items())) if labelled else {}
        out["all_2to1"] = not paired and halves_2to1 == ok
    return out


# --------------------------------------------------------------------------- arrays
def _check_npz(p: Path) -> dict:
    arrays = formats.read_npz(p)
    out = {"keys": {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()}}
    for suffix, split in (("", "train"), ("_test", "test")):
        found = formats.pick(arrays, formats.X_KEYS, suffix)
        if found is None and suffix == "" and len([k for k in arrays if not k.endswith("_test")]) == 1:
            found = next((k, v) for k, v in arrays.items() if not k.endswith("_test"))
        if found is None:
            if suffix == "":
                raise UserError(f"{p}: no examples array; name it 'x' (found keys: {', '.join(arrays) or 'none'})")
            continue
        key, x = found
        info = {"key": key, "count": len(x)}
        if x.ndim == 2:
            info.update(kind="points", dim=int(x.shape[1]))
            if not np.isfinite(np.asarray(x, dtype=np.float64)).all():
                raise UserError(f"{p}[{key}]: contains NaN or infinite values")
        else:
            imgs = formats.images_nchw(x, f"{p}[{key}]")  # validates layout and range
            info.update(kind="images", shape=list(imgs.shape[1:]))
        yf = formats.pick(arrays, formats.Y_KEYS, suffix)
        if yf is not None:
            y = formats.labels_array(yf[1], len(x), f"{p}[{yf[0]}]")
            info["classes"] = {str(k): int(v) for k, v in zip(*np.unique(y, return_counts=True))}
        af = formats.pick(arrays, formats.A_KEYS, suffix)
        if af is not None:
            a = formats.images_nchw(af[1], f"{p}[{af[0]}]", keep_alpha=True)
            if len(a) != len(x):
                raise UserError(f"{p}[{af[0]}]: {len(a)} inputs for {len(x)} targets; paired arrays must match")
            info.update(kind="paired", input_shape=list(a.shape[1:]))
        out[split] = info
    return out


def _check_arrays(p: Path, found: dict, loader) -> dict:
    out = {}
    for split in found:
        x, y, names, info = loader(p, split)
        d = {"count": len(x), "shape": list(x.shape[1:]), "files": info.get("files", [])}
        if y is not None:
            counts = np.bincount(y, minlength=len(names))
            d["classes"] = {names[i] if i < len(names) else str(i): int(c) for i, c in enumerate(counts)}
        out[split] = d
    return out


# --------------------------------------------------------------------------- report
def _collect(report: dict) -> None:
    bad = []

    def walk(d):
        if isinstance(d, dict):
            if "unreadable" in d and isinstance(d["unreadable"], list) and d is not report:
                bad.extend(d["unreadable"])
            for v in d.values():
                walk(v)

    walk(report.get("splits", {}))
    report["unreadable"] = bad


def _fmt_counter(d: dict, n: int = 6) -> str:
    items = sorted(d.items(), key=lambda kv: -kv[1])
    s = ", ".join(f"{k} ({v})" for k, v in items[:n])
    return s + (f", ... {len(items) - n} more" if len(items) > n else "")


def _folder_lines(name: str, s: dict) -> list[str]:
    head = "" if name == "all" else f"{name}: "
    counts = f"{s['files']} image files, {s['readable']} readable, {len(s['unreadable'])} unreadable"
    lines = [f"{head}{s['folder']}: {counts}",
             f"  sizes: {_fmt_counter(s['sizes'])}",
             f"  modes: {_fmt_counter(s['modes'])}"]
    if s.get("classes"):
        lines.append(f"  classes ({len(s['classes'])}): {_fmt_counter(s['classes'], 20)}")
    return lines


def _text(r: dict) -> str:
    lines = [f"{r['path']}: format {r['format']}"]
    fmt = r["format"]
    if fmt in ("images", "paired-sbs"):
        for name, s in r["splits"].items():
            lines += _folder_lines(name, s)
        if fmt == "images" and all(s.get("all_2to1") for s in r["splits"].values()):
            lines.append("note: every image is exactly twice as wide as high; if each holds an A|B pair, "
                         "use --layout paired (data.kwargs.layout=paired)")
    elif fmt in ("paired-ab", "unpaired"):
        for split, s in r["splits"].items():
            if "pairs" in s:
                lines.append(f"{split}: {s['pairs']} pairs with matching names")
            lines += _folder_lines(f"{split} A", s["A"]) + _folder_lines(f"{split} B", s["B"])
    elif fmt == "npz":
        a = r["arrays"]
        lines.append("arrays: " + ", ".join(f"{k} {v['dtype']} {v['shape']}" for k, v in a["keys"].items()))
        for split in ("train", "test"):
            if split in a:
                s = a[split]
                desc = f"{split}: {s['count']} {s['kind']} from '{s['key']}'"
                desc += f", shape {s['shape']}" if "shape" in s else f", dim {s.get('dim')}"
                if "input_shape" in s:
                    desc += f", inputs {s['input_shape']}"
                lines.append(desc)
                if s.get("classes"):
                    lines.append(f"  classes ({len(s['classes'])}): {_fmt_counter(s['classes'], 20)}")
    else:
        for split, s in r["splits"].items():
            lines.append(f"{split}: {s['count']} images of shape {s['shape']} from {', '.join(s['files'])}")
            if s.get("classes"):
                lines.append(f"  classes ({len(s['classes'])}): {_fmt_counter(s['classes'], 20)}")
    for b in r["unreadable"]:
        lines.append(f"unreadable: {b['file']}: {b['problem']}")
    return "\n".join(lines)
