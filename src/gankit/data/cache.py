"""The prepared-data cache: an image folder is decoded once, then read from disk by every run.

``gankit train --data FOLDER`` prepares the folder (:mod:`gankit.data.prepare`) into
``<cache>/<key>/`` on its first run and memory-maps it on every later one; the log says which
(``gankit: data cache hit: ...``). The key is a sha256 of the prepared-layout version, the
options that change the pixels (resolution, channels, crop, seed, labels, direction, input
resolution, pixel limit, layout) and every source file's path, size and modification time, so
adding, removing, replacing or touching a file prepares the folder again. (File contents are
hashed while preparing, into the manifest's ``content_hash``; hashing them on every start would
cost a full read of the folder, which is what the cache saves.)

Where: ``data.cache`` (``auto``: ``$GANKIT_CACHE``, else ``$XDG_CACHE_HOME/gankit``, else
``~/.cache/gankit``; a path; or ``off``: decode into memory each run, as before, nothing kept).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch

from ..errors import UserError
from .base import Data
from .cache_paths import _say, cache_root  # noqa: F401  (cache_root: re-exported, gankit.data.cache.cache_root)
from .folders import plan_folder
from .layouts import Options
from .prepare import VERSION, finish_folder, manifest, open_prepared, write_plan


def cache_key(plan, channels: int) -> str:
    """sha256 of what decides the prepared pixels: version, options, and each file's stat."""
    files = []
    for f in plan.files:
        try:
            st = f.stat()
        except OSError:
            files.append((str(f), -1, -1))  # unreadable: skipped when preparing; keyed all the same
            continue
        files.append((str(f.relative_to(plan.root)), st.st_size, st.st_mtime_ns))
    what = {"v": VERSION, "fmt": plan.fmt, "res": plan.resolutions, "channels": channels,
            "options": asdict(plan.options), "files": files}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def load_folder(root: Path, fmt: str, resolution: int, split: str, o: Options, channels: int = 0,
                cache: str = "auto") -> Data:
    """``split`` of an image folder as :class:`Data`, through the cache (or, with ``cache="off"``,
    decoded into memory); UserError when it has no usable image."""
    plan = plan_folder(root, fmt, resolution, split, o)
    notes = {k: v for k, v in plan.info.items() if k == "split"}
    croot = cache_root(cache)
    if croot is None:
        with tempfile.TemporaryDirectory(prefix="gankit-decode-") as tmp:
            data = to_memory(_write(plan, Path(tmp) / "d", channels, root))  # the files go
        data.info.update(notes)
        return data
    entry = croot / cache_key(plan, channels)[:24]
    if (entry / "manifest.json").is_file():
        data = open_prepared(entry, "train", name=str(root))
        m = json.loads((entry / "manifest.json").read_text())
        _say(f"data cache hit: {root} ({len(data)} examples at {resolution} px, prepared {m['created']}) "
             f"read from {entry}; not decoding again")
    else:
        try:
            croot.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"data.cache: cannot create {croot} ({e.strerror or e}); set data.cache to a "
                            f"writable folder, or data.cache=off") from None
        data = _write(plan, entry, channels, root)
        _say(f"prepared {root} into the data cache {entry} ({len(data)} examples; later runs read it from "
             f"there without decoding)")
    data.info.update(notes)
    return data


def _write(plan, entry: Path, channels: int, root: Path) -> Data:
    tmp = entry.with_name(f".{entry.name}.tmp-{os.getpid()}")
    try:
        split = write_plan(plan, tmp / "train", channels)
        split["notes"] = {}  # a split's fallback note belongs to the request, not the cache entry
        m = manifest(plan.kind, root, plan.fmt, plan.resolutions["x"], asdict(plan.options), channels,
                     plan.class_names, {"train": split}, plan.info)
        finish_folder(tmp, entry, m)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return open_prepared(entry, "train", name=str(root))


def to_memory(data: Data) -> Data:
    """``data`` with its memory-mapped arrays read into memory (``Data.store`` cleared)."""
    if data.store is None:
        return data
    data.info.pop("prepared", None)
    data.x = torch.from_numpy(data.x.numpy().copy())
    if data.a is not None:
        data.a = torch.from_numpy(data.a.numpy().copy())
    data.store = None
    return data
