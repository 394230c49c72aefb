"""Prepared datasets: decoded, cropped and resized once, stored as memory-mappable arrays.

``gankit data prepare SRC --out DIR --resolution R`` (:func:`prepare`) writes::

    DIR/manifest.json     kind, source, format, resolution, options, class names, and per
                          split: counts, array shapes, skipped files, the content hash
    DIR/train/x.npy       uint8 [N, C, R, R] (the examples; targets / domain B of pairs)
    DIR/train/y.npy       int64 [N] labels (when the data has classes)
    DIR/train/a.npy       uint8 [M, C', R', R'] inputs / domain A (paired and unpaired data)
    DIR/test/...          the same for the test split, when the source has one

Training on DIR (``--data DIR``) memory-maps the arrays (:func:`open_prepared`): nothing is
decoded and the examples stay on disk; the trainer reads batches through a ``DataLoader``
(:mod:`gankit.data.loader`). Image folders are written one file at a time
(:mod:`gankit.data.folders`), so the source may be larger than memory; unreadable files are
skipped and named in the manifest. The content hash is the sha256 of the source files' names
and bytes (of the array files for ``.npz``, IDX and CIFAR sources).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from .base import Data, convert_channels
from .folders import Plan, no_image_error
from .layouts import MANIFEST, prepared_manifest

VERSION = 1  # of the prepared layout; a cache entry of another version is not reused
SPLITS = ("train", "test")


class _ImageArray:
    """An ``.npy`` of uint8 images written one at a time, at most ``count`` of them.

    Rows are written as 3 channels; at :meth:`close` the file is cut to the rows written and,
    when every image was grayscale (and ``channels`` did not ask for RGB), rewritten with one
    channel, as the in-memory loaders stack them (any colour image makes the set RGB).
    """

    def __init__(self, path: Path, count: int, resolution: int, channels: int = 0):
        self.path, self.channels, self.n, self.colour = path, channels, 0, False
        self.mm = np.lib.format.open_memmap(path, "w+", np.uint8, (max(count, 1), 3, resolution, resolution))

    def add(self, t: torch.Tensor) -> None:
        if self.channels:
            t = convert_channels(t, self.channels)
        self.colour |= t.shape[1] == 3
        self.mm[self.n] = t[0].numpy()  # a gray [1, R, R] row broadcasts to the 3 channels
        self.n += 1

    def close(self) -> list[int]:
        self.mm.flush()
        keep = 1 if self.channels == 1 or (not self.colour and self.channels != 3) else 3
        shape = (self.n, keep, *self.mm.shape[2:])
        if keep == 3:
            del self.mm
            _shrink_npy(self.path, shape)
        else:  # grayscale: one channel (rows are equal in all three)
            tmp = self.path.with_name(self.path.stem + ".1ch.npy")
            out = np.lib.format.open_memmap(tmp, "w+", np.uint8, shape)
            for i in range(0, self.n, 4096):
                out[i : i + 4096] = self.mm[i : min(i + 4096, self.n), :1]
            out.flush()
            del out, self.mm
            os.replace(tmp, self.path)
        return list(shape)


def _shrink_npy(path: Path, shape: tuple[int, ...]) -> None:
    """Cut an ``.npy`` of uint8 rows to ``shape[0]`` rows in place: rewrite the header (padded
    to its old length) and truncate the data, instead of copying the whole file."""
    with open(path, "r+b") as f:
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        offset = f.tell()
        text = f"{{'descr': '|u1', 'fortran_order': False, 'shape': {tuple(shape)!r}, }}"
        header = text.ljust(offset - 10 - 1) + "\n"
        f.seek(0)
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.truncate(offset + int(np.prod(shape)))


def write_plan(plan: Plan, dest: Path, channels: int = 0, progress: bool = True) -> dict:
    """Decode ``plan``'s streams into ``dest`` (``x.npy``, ``y.npy``, ``a.npy``); the split's
    manifest entry. UserError when a stream has no usable image."""
    from tqdm.auto import tqdm

    dest.mkdir(parents=True, exist_ok=True)
    total = sum(s.count for s in plan.streams)
    bar = tqdm(total=total, unit="img", desc=f"prepare {plan.root.name}", file=sys.stderr,
               disable=None if progress else True, dynamic_ncols=True, mininterval=0.5)
    arrays, labels = {}, []
    try:
        for s in plan.streams:
            writers = {f: _ImageArray(dest / f"{f}.npy", s.count, plan.resolutions[f], channels)
                       for f in s.fields if f != "y"}
            before = len(plan.skipped)
            for rec in s.records():
                for f, w in writers.items():
                    w.add(rec[f])
                if "y" in rec:
                    labels.append(rec["y"])
                bar.update(1)
            bar.update(len(plan.skipped) - before)
            if not next(iter(writers.values())).n:
                raise no_image_error(s.folder, s.files, plan.skipped[before:] or [(s.folder, "unreadable")])
            for f, w in writers.items():
                arrays[f] = w.close()
    finally:
        bar.close()
    if "y" in {f for s in plan.streams for f in s.fields}:
        np.save(dest / "y.npy", np.asarray(labels, dtype=np.int64))
        arrays["y"] = [len(labels)]
    return {"count": arrays["x"][0], "arrays": arrays, "content_hash": plan.hasher.hexdigest(),
            "skipped": [{"file": str(f), "problem": why} for f, why in plan.skipped],
            "notes": {k: v for k, v in plan.info.items() if k == "split"}}


def write_data(data: Data, dest: Path, sources: list[Path]) -> dict:
    """Write an in-memory dataset's arrays (``.npz``, IDX, CIFAR sources) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    arrays, h = {}, hashlib.sha256()
    for name, t in (("x", data.x), ("y", data.y), ("a", data.a)):
        if t is not None:
            np.save(dest / f"{name}.npy", t.numpy())
            arrays[name] = list(t.shape)
    for f in sources:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return {"count": len(data), "arrays": arrays, "content_hash": h.hexdigest(),
            "skipped": [{"file": str(f), "problem": "unreadable"} for f in data.info.get("skipped", [])],
            "notes": {k: v for k, v in data.info.items() if k == "split"}}


def manifest(kind: str, source: Path, fmt: str, resolution: int, options: dict, channels: int,
             class_names: list[str], splits: dict, info: dict) -> dict:
    """The manifest of a prepared folder (``manifest.json``)."""
    from .. import __version__

    return {"gankit_prepared": VERSION, "kind": kind, "source": str(source.resolve()), "format": fmt,
            "resolution": resolution, "channels": channels, "options": options, "class_names": class_names,
            "direction": info.get("direction"), "splits": splits,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "gankit": __version__}


def finish_folder(tmp: Path, out: Path, m: dict) -> Path:
    """Write the manifest last (a folder without one is not a prepared dataset), then move the
    finished folder to ``out``; if another process got there first, keep theirs."""
    (tmp / MANIFEST).write_text(json.dumps(m, indent=1))
    try:
        os.replace(tmp, out) if not out.exists() else shutil.rmtree(tmp)
    except OSError:  # `out` appeared meanwhile (another rank prepared the same data)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def open_prepared(root: Path, split: str = "train", resolution: int = 0, name: str | None = None) -> Data:
    """A prepared split as :class:`Data` whose arrays are memory-mapped (``Data.store``).

    A split the folder does not have falls back to ``train`` (``info["split"]`` says so);
    ``resolution`` (when not 0) must be the prepared one.
    """
    m = prepared_manifest(root)
    if m is None:
        raise UserError(f"{root}: not a prepared dataset (no {MANIFEST})")
    if m.get("gankit_prepared") != VERSION:
        raise UserError(f"{root}: prepared by another gankit version (layout {m.get('gankit_prepared')}); "
                        f"prepare it again with `gankit data prepare`")
    if resolution and resolution != m["resolution"]:
        raise UserError(f"data.resolution={resolution}: {root} is prepared at {m['resolution']} px; "
                        f"set data.resolution={m['resolution']} or prepare it again with --resolution {resolution}")
    notes = {}
    if split not in m["splits"]:
        notes["split"] = f"{split} requested but {root} has only {', '.join(m['splits'])}: using train"
        split = "train"
    entry, folder = m["splits"][split], root / split

    def array(key, mmap=True):
        if key not in entry["arrays"]:
            return None
        f = folder / f"{key}.npy"
        try:
            a = np.load(f, mmap_mode="c" if mmap else None, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise UserError(f"{f}: cannot read the prepared array ({e}); prepare the data again") from None
        if list(a.shape) != entry["arrays"][key]:
            raise UserError(f"{f}: shape {list(a.shape)} does not match the manifest's {entry['arrays'][key]}")
        return torch.from_numpy(a)

    info = {"format": m["format"], "prepared": str(root), "content_hash":
            entry["content_hash"], "skipped": [s["file"] for s in entry["skipped"]], **entry["notes"], **notes}
    if m.get("direction"):
        info["direction"] = m["direction"]
    info.update(m.get("info", {}))  # what a kind's writers need beyond the arrays (music: tracks, pitches)
    y = array("y", mmap=False)
    data = Data(name or str(root), m["kind"], array("x"), y, list(m["class_names"]) if y is not None else [],
                info, a=array("a"))
    data.store = str(folder)
    return data


def prepare(src: str, out: str, resolution: int, channels: int = 0, progress: bool = True, **kwargs) -> dict:
    """``gankit data prepare``: write the prepared dataset of ``src`` to ``out``; its manifest.

    ``src`` is any image layout :mod:`gankit.data.user` reads (folders with class subfolders,
    paired or unpaired folders, ``.npz``, MNIST IDX, CIFAR batches), or a ``.zip`` holding one
    (extracted next to ``out`` while preparing, then removed); ``kwargs`` are the same options
    as ``data.kwargs`` (layout, crop, seed, labels, direction, a_resolution, max_pixels). Every
    split the source has (train, and test when present) is written.
    """
    p = Path(src)
    if p.is_file() and p.suffix.lower() == ".zip":
        return _prepare_zip(p, Path(out), resolution, channels, progress, kwargs)
    from .arrays import load_array_split
    from .folders import plan_folder
    from .layouts import MODALITY_FILES, detect_format, parse_options

    p, out_p = Path(src), Path(out)
    if p.is_file() and p.suffix.lower() in MODALITY_FILES:
        raise UserError(f"{p}: text and table files are read directly; train with --data {p} (no prepare needed)")
    if detect_format(p, kwargs.get("layout", "auto")) == "midi":
        return prepare_midi(p, out_p, seed=kwargs.get("seed", 0))  # the image options do not apply
    o = parse_options(kwargs)
    if resolution < 1:
        raise UserError(f"--resolution must be >= 1 for images, got {resolution}")
    if channels not in (0, 1, 3):
        raise UserError(f"--channels must be 0, 1 or 3, got {channels}")
    fmt = detect_format(p, o.layout)
    if fmt == "prepared":
        raise UserError(f"{p}: already a prepared dataset; train on it with --data {p}")
    if out_p.exists() and (not out_p.is_dir() or any(out_p.iterdir())):
        raise UserError(f"--out {out_p}: exists and is not empty; pick a new folder")
    tmp = out_p.with_name(f".{out_p.name}.tmp-{os.getpid()}")
    splits, first = {}, None
    try:
        for split in SPLITS:
            if fmt in ("npz", "idx", "cifar"):
                src_split = load_array_split(p, fmt, resolution, split, o)
                if channels and src_split.x.dim() == 4:
                    src_split.x = convert_channels(src_split.x, channels)
            else:
                src_split = plan_folder(p, fmt, resolution, split, o)
            if split != "train" and "split" in src_split.info:
                continue  # the source has no such split (it would be the training data again)
            first = first or src_split
            splits[split] = (write_plan(src_split, tmp / split, channels, progress) if isinstance(src_split, Plan)
                             else write_data(src_split, tmp / split, _array_sources(p, src_split)))
        kind = first.kind
        m = manifest(kind, p, fmt, resolution, {k: v for k, v in vars(o).items()}, channels,
                     list(first.class_names), splits, first.info)
        finish_folder(tmp, out_p, m)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return m


def _prepare_zip(z: Path, out: Path, resolution: int, channels: int, progress: bool, kwargs: dict) -> dict:
    """Extract a zip (member names made safe by ``zipfile``; its total size checked against the
    free disk first), prepare the folder, and name the zip's members in the manifest."""
    import tempfile
    import zipfile

    try:
        zf = zipfile.ZipFile(z)
    except (zipfile.BadZipFile, OSError) as e:
        raise UserError(f"{z}: not a readable zip file ({e})") from None
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    with zf, tempfile.TemporaryDirectory(prefix=f".{out.name}.unzip-", dir=parent) as tmp:
        size = sum(i.file_size for i in zf.infolist())
        if size > shutil.disk_usage(tmp).free:
            raise UserError(f"{z}: unpacks to {size:,} bytes, more than the free space next to --out {out}")
        try:
            zf.extractall(tmp)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise UserError(f"{z}: cannot extract ({e})") from None
        m = prepare(tmp, str(out), resolution, channels, progress, **kwargs)
    m["source"] = str(z.resolve())
    for e in m["splits"].values():
        for sk in e["skipped"]:
            sk["file"] = sk["file"].replace(tmp, f"{z}:", 1)
    (out / MANIFEST).write_text(json.dumps(m, indent=1))
    return m


def _array_sources(p: Path, data: Data) -> list[Path]:
    files = data.info.get("files")
    return [Path(f) for f in files] if files else [p]


def summary(m: dict, out: str) -> str:
    """What ``gankit data prepare`` prints: counts per split, every skipped file by name."""
    lines = [f"{m['source']}: {m['kind']} ({m['format']}) prepared at {m['resolution']} px into {out}"]
    for split, e in m["splits"].items():
        shapes = ", ".join(f"{k} {v}" for k, v in e["arrays"].items())
        lines.append(f"{split}: {e['count']} examples ({shapes}), {len(e['skipped'])} skipped; "
                     f"content sha256 {e['content_hash'][:16]}")
        lines += [f"skipped: {s['file']}: {s['problem']}" for s in e["skipped"]]
    if m["class_names"]:
        lines.append(f"classes ({len(m['class_names'])}): {', '.join(m['class_names'][:20])}")
    lines.append(f"train with: gankit train --data {out}")
    return "\n".join(lines)


def prepare_midi(p: Path, out: Path, **kwargs) -> dict:
    """``gankit data prepare`` for MIDI files: the train and test arrays, and the manifest with
    the music ``info`` (tracks, programs, lowest pitch) the writers need."""
    from .midi import list_midis, load_midi

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {out}: exists and is not empty; pick a new folder")
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        splits, first = {}, None
        for split in ("train", "test"):
            d = load_midi(p, split, "off", **kwargs)
            if split == "test" and "split" in d.info:
                continue
            first = first or d
            splits[split] = write_data(d, tmp / split, list_midis(p))
        m = manifest("music", p, "midi", 0, dict(kwargs), 0, [], splits, {})
        m["info"] = {k: v for k, v in first.info.items() if k not in ("skipped", "skip_reasons", "pieces")}
        for e in m["splits"].values():  # say why each file was skipped, not just "unreadable"
            e["skipped"] = [{"file": f, "problem": first.info["skip_reasons"][f]} for f in first.info["skipped"]]
        finish_folder(tmp, out, m)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return m
