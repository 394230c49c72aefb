"""Image folders decoded one file at a time, as plans a prepared dataset is written from.

A :class:`Plan` says, before any pixel is decoded, what a folder layout will give: the data
kind, the class names, the files, and one or more :class:`Stream` s of decoded examples
(records ``{"x": uint8 [1, C, R, R], "y": label}``, ``{"x": ..., "a": ...}`` for pairs). The
streams are generators, so :func:`gankit.data.prepare.write_plan` can write a dataset larger
than memory; unreadable files are skipped and recorded in ``Plan.skipped`` as they are met.

Layouts (see :mod:`gankit.data.user`): a folder of images (class subfolders are labels), a
pix2pix folder of A|B side-by-side images, paired ``A/`` + ``B/`` folders matched by name,
unpaired ``trainA/`` + ``trainB/`` folders.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from .layouts import IMAGE_EXTS, Options, ab_dirs, list_images, match_ab, split_dir, unpaired_dirs
from .transforms import BadImage, image_array, open_image, square_crop, to_resolution


@dataclass
class Stream:
    """Decoded examples filling the arrays ``fields`` (at most ``count`` of them), from the
    ``files`` under ``folder``."""

    fields: tuple[str, ...]
    count: int
    records: Callable[[], Iterator[dict]]
    folder: Path
    files: list[Path]


@dataclass
class Plan:
    """What decoding one split of an image-folder dataset will produce."""

    root: Path
    kind: str
    fmt: str
    files: list[Path]
    streams: list[Stream]
    resolutions: dict[str, int]  # array name -> its resolution
    options: Options
    class_names: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)  # split fallback notes, direction
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    hasher: object = field(default_factory=hashlib.sha256)  # over every file's name and bytes

    def read(self, f: Path) -> np.ndarray | None:
        """Decode one file (its bytes go into the content hash); None when it is unusable."""
        try:
            raw = f.read_bytes()
        except OSError as e:
            self.skipped.append((f, f"cannot read ({e.strerror or e})"))
            return None
        self.hasher.update(f"{f.relative_to(self.root)}\0{len(raw)}\0".encode())
        self.hasher.update(raw)
        try:  # by path (the bytes are in the page cache now): messages name the file as `data check` does
            with open_image(f, self.options.max_pixels) as im:
                return image_array(im)
        except BadImage as e:
            self.skipped.append((f, str(e)))
            return None


def no_image_error(folder: Path, files: list, skipped: list) -> UserError:
    """The error for a folder without one usable image."""
    if not files:
        return UserError(f"{folder}: no image files found (looked for {', '.join(sorted(IMAGE_EXTS))})")
    f, why = skipped[0]
    return UserError(f"{folder}: no usable image: all {len(files)} files failed (first: {f}: {why})")


def plan_folder(root: Path, fmt: str, resolution: int, split: str, o: Options) -> Plan:
    """The plan of ``split`` of the folder ``root`` in layout ``fmt`` (from ``detect_format``)."""
    builders = {"images": _images, "paired-sbs": _side_by_side, "paired-ab": _ab, "unpaired": _unpaired}
    return builders[fmt](root, resolution, split, o)


def _names(o: Options) -> tuple[str, str]:
    """Array names of (domain A, domain B): inputs are ``a`` and targets ``x``, unless BtoA."""
    return ("a", "x") if o.direction == "AtoB" else ("x", "a")


def _images(root: Path, resolution: int, split: str, o: Options) -> Plan:
    """Every image under the split's folder; class subfolders are labels when every image sits
    in one and there are at least two (stray top-level files leave the folder unlabelled)."""
    folder, note = split_dir(root, split)
    files = list_images(folder)
    if not files:
        raise no_image_error(folder, files, [])
    parts = [f.relative_to(folder).parts for f in files]
    classes = sorted({p[0] for p in parts if len(p) > 1})
    labelled = o.labels and len(classes) > 1 and all(len(p) > 1 for p in parts)
    plan = Plan(root, "images", "images", files, [], {"x": resolution}, o,
                classes if labelled else [], {"format": "images", **note})

    def records():
        rng = np.random.default_rng(o.seed)
        for f, part in zip(files, parts):
            arr = plan.read(f)
            if arr is None:
                continue
            arr, _ = square_crop(arr, o.crop, rng)
            yield {"x": to_resolution(arr, resolution), **({"y": classes.index(part[0])} if labelled else {})}

    plan.streams = [Stream(("x", "y") if labelled else ("x",), len(files), records, folder, files)]
    return plan


def _side_by_side(root: Path, resolution: int, split: str, o: Options) -> Plan:
    """pix2pix-style pairs: each image holds input A (left half) and target B (right half)."""
    folder, note = split_dir(root, split)
    files = list_images(folder)
    if not files:
        raise no_image_error(folder, files, [])
    na, nb = _names(o)
    a_res = o.a_resolution or resolution
    plan = Plan(root, "paired", "paired-sbs", files, [], {na: a_res, nb: resolution}, o,
                info={"format": "paired-sbs", **note, "direction": o.direction})

    def records():
        rng = np.random.default_rng(o.seed)
        for f in files:
            arr = plan.read(f)
            if arr is None:
                continue
            w = arr.shape[1]
            if w % 2:
                raise UserError(f"{f}: a paired A|B image must split into two halves of the same size, "
                                f"but its width {w} is odd")
            left, box = square_crop(arr[:, : w // 2], o.crop, rng)
            right, _ = square_crop(arr[:, w // 2 :], o.crop, box=box)  # the same crop for both halves
            yield {na: to_resolution(left, a_res), nb: to_resolution(right, resolution)}

    plan.streams = [Stream(("x", "a"), len(files), records, folder, files)]
    return plan


def _ab(root: Path, resolution: int, split: str, o: Options) -> Plan:
    """Pairs from ``A/`` and ``B/`` folders whose files match by name; a pair is skipped (both
    files reported) when either file cannot be read. The two images of a pair may differ in
    size: each is cropped to its central (or the same relative random) square and resized."""
    a_dir, b_dir, note = ab_dirs(root, split)
    pairs = match_ab(a_dir, b_dir)
    na, nb = _names(o)
    a_res = o.a_resolution or resolution
    plan = Plan(root, "paired", "paired-ab", [f for p in pairs for f in p], [], {na: a_res, nb: resolution}, o,
                info={"format": "paired-ab", **note, "direction": o.direction})

    def records():
        rng = np.random.default_rng(o.seed)
        for fa, fb in pairs:
            arrs = [plan.read(fa), plan.read(fb)]
            if arrs[0] is None or arrs[1] is None:
                continue
            ca, box = square_crop(arrs[0], o.crop, rng)
            cb, _ = square_crop(arrs[1], o.crop, box=box)
            yield {na: to_resolution(ca, a_res), nb: to_resolution(cb, resolution)}

    plan.streams = [Stream(("x", "a"), len(pairs), records, a_dir.parent, plan.files)]
    return plan


def _unpaired(root: Path, resolution: int, split: str, o: Options) -> Plan:
    """Two unpaired domains (CycleGAN): A from ``trainA/`` (``testA/``), B from ``trainB/``."""
    a_dir, b_dir, note = unpaired_dirs(root, split)
    na, nb = _names(o)
    a_res = o.a_resolution or resolution
    domains = [(a_dir, list_images(a_dir), na, a_res), (b_dir, list_images(b_dir), nb, resolution)]
    for folder, files, _, _ in domains:
        if not files:
            raise no_image_error(folder, files, [])
    plan = Plan(root, "unpaired", "unpaired", domains[0][1] + domains[1][1], [], {na: a_res, nb: resolution}, o,
                info={"format": "unpaired", **note, "direction": o.direction})
    rng = np.random.default_rng(o.seed)  # one stream of crops through A, then B

    def domain(files, name, res):
        def records():
            for f in files:
                arr = plan.read(f)
                if arr is not None:
                    yield {name: to_resolution(square_crop(arr, o.crop, rng)[0], res)}
        return records

    plan.streams = [Stream((name,), len(files), domain(files, name, res), folder, files)
                    for folder, files, name, res in domains]
    return plan
