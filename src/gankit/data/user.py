"""User data on disk: image folders, paired and unpaired folders, ``.npz``, MNIST IDX, CIFAR-10.

``load_user_data(path, resolution, split, **kwargs)`` recognises the layout (or takes it from
``data.kwargs.layout``) and returns an in-memory :class:`Data` (uint8 images, decoded once):

========================  =====================================================================
layout                    what the path holds
========================  =====================================================================
images                    a folder of images, searched recursively; when every image sits in a
                          subfolder and there are two or more, the subfolders are the classes.
                          ``train/`` and ``test/`` (or ``val/``) subfolders are the splits.
paired (A|B)              ``layout=paired``: each image is input A (left half) and target B
                          (right half) side by side, as in pix2pix's datasets; the width must be
                          even. ``train/``, ``test/`` subfolders are the splits.
paired (A/ and B/)        auto: ``A/`` and ``B/`` folders (or ``A/train``, ``B/train`` ... or
                          ``train/A``, ``train/B``) whose files match by name (extension aside).
unpaired                  auto: ``trainA/`` and ``trainB/`` (CycleGAN); ``testA/``, ``testB/``
                          serve ``split="test"`` when present.
npz                       a ``.npz``/``.npy`` file; see :func:`load_npz` for the keys.
idx                       MNIST/Fashion-MNIST ``*-images-idx3-ubyte[.gz]`` (+ labels) files, or
                          a folder holding them (``t10k-*`` is the test split).
cifar                     CIFAR-10 python batches ``data_batch_*`` / ``test_batch``, or a folder
                          holding them (e.g. ``cifar-10-batches-py/``).
text (.txt)               a UTF-8 text file: character windows (kind "text"),
                          :func:`gankit.data.text.load_text_file`.
table (.csv)              a CSV with a header, one example per row (kind "tabular"),
                          :func:`gankit.data.tabular.load_csv_table`; with ``layout=series``
                          one time step per row (kind "sequence"),
                          :func:`gankit.data.timeseries.load_csv_series`.
========================  =====================================================================

When a split is asked for that the data does not have (e.g. ``test`` of a plain folder), the
training data is returned and ``info["split"]`` says so.

Options (``--set data.kwargs.NAME=VALUE``): ``layout`` (auto | images | paired | unpaired),
``crop`` (center | random | none: how a non-square image becomes square before resizing;
``random`` draws one position per image from ``seed``, ``none`` squashes), ``seed``,
``labels`` (false: ignore class subfolders / label arrays), ``direction`` (AtoB | BtoA: which
side is the input), ``a_resolution`` (paired/unpaired inputs at another size, e.g.
resolution/4 for super-resolution; 0: same), ``max_pixels`` (larger images are refused
before decoding).

Unreadable, truncated or oversized files are skipped and listed in ``info["skipped"]``
(the training loop reports how many); a folder with no usable image is an error.
Large datasets are not streamed: everything is decoded into memory once.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from . import formats
from .base import Data, convert_channels, resize_images, to_uint8
from .transforms import (
    CROPS,
    MAX_PIXELS,
    BadImage,
    image_array,
    open_image,
    square_crop,
    to_resolution,
)

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}
LAYOUTS = ("auto", "images", "paired", "unpaired")
SPLIT_DIRS = {"train": ("train",), "test": ("test", "val", "valid", "validation")}


@dataclass
class Options:
    """The ``data.kwargs`` a user path accepts (see the module docstring)."""

    layout: str = "auto"
    crop: str = "center"
    seed: int = 0
    labels: bool = True
    direction: str = "AtoB"
    a_resolution: int = 0
    max_pixels: int = MAX_PIXELS


def parse_options(kwargs: dict) -> Options:
    """Check ``data.kwargs`` for a user path; UserError naming the bad key or value."""
    allowed = Options.__dataclass_fields__
    for k in kwargs:
        if k not in allowed:
            raise UserError(f"data.kwargs.{k}: not an option for a data path; options: {', '.join(allowed)}")
    o = Options(**kwargs)
    for key, choices in (("layout", LAYOUTS), ("crop", CROPS), ("direction", ("AtoB", "BtoA"))):
        if getattr(o, key) not in choices:
            raise UserError(f"data.kwargs.{key} must be one of {', '.join(choices)}, got {getattr(o, key)!r}")
    if o.a_resolution < 0 or o.max_pixels < 1:
        raise UserError("data.kwargs.a_resolution must be >= 0 and max_pixels >= 1")
    return o


# ------------------------------------------------------------------------- detection
def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted), ignoring hidden files and folders.

    Hidden entries (names starting with ".") are skipped because they are not pictures:
    macOS ``._*`` resource forks, ``.ipynb_checkpoints`` and the like.
    """
    out = []
    for f in folder.rglob("*"):
        rel = f.relative_to(folder).parts
        if any(p.startswith(".") for p in rel):
            continue
        if f.suffix.lower() in IMAGE_EXTS and f.is_file():
            out.append(f)
    return sorted(out)


def split_dir(root: Path, split: str) -> tuple[Path, dict]:
    """The folder holding ``split`` when ``root`` has ``train/`` + ``test/`` (or ``val/``) folders."""
    subs = {d.name for d in root.iterdir() if d.is_dir()} if root.is_dir() else set()
    if "train" not in subs and not subs & set(SPLIT_DIRS["test"]):
        return root, ({"split": f"{split} requested, the folder has no splits: using all of it"}
                      if split != "train" else {})
    for name in SPLIT_DIRS[split]:
        if name in subs:
            return root / name, {}
    fallback = "train" if "train" in subs else next(n for n in SPLIT_DIRS["test"] if n in subs)
    return root / fallback, {"split": f"{split} requested but the folder has no {split} folder: using {fallback}/"}


def ab_dirs(root: Path, split: str) -> tuple[Path, Path, dict] | None:
    """(A, B, note) for a paired A/ + B/ layout, or None if ``root`` does not have one.

    Accepted: ``train/A`` + ``train/B`` (``test/A`` ...), ``A/train`` + ``B/train`` (pix2pix's
    ``combine_A_and_B`` layout), or plain ``A/`` + ``B/`` (one split).
    """
    base, note = split_dir(root, split)
    if base != root and (base / "A").is_dir() and (base / "B").is_dir():
        return base / "A", base / "B", note
    if not ((root / "A").is_dir() and (root / "B").is_dir()):
        return None
    a, b = root / "A", root / "B"
    for name in SPLIT_DIRS[split]:
        if (a / name).is_dir() and (b / name).is_dir():
            return a / name, b / name, {}
    for name in SPLIT_DIRS["train"]:
        if (a / name).is_dir() and (b / name).is_dir():
            return a / name, b / name, {"split": f"{split} requested but A/ has no {split} folder: using {name}/"}
    return a, b, ({"split": f"{split} requested, A/ and B/ have no splits: using all of them"}
                  if split != "train" else {})


def unpaired_dirs(root: Path, split: str) -> tuple[Path, Path, dict] | None:
    """(A, B, note) for CycleGAN's trainA/ trainB/ (testA/ testB/) layout, or None."""
    if not ((root / "trainA").is_dir() and (root / "trainB").is_dir()):
        return None
    if split == "test":
        if (root / "testA").is_dir() and (root / "testB").is_dir():
            return root / "testA", root / "testB", {}
        return root / "trainA", root / "trainB", {"split": "test requested, no testA/testB: using trainA/trainB"}
    return root / "trainA", root / "trainB", {}


def detect_format(p: Path, layout: str = "auto") -> str:
    """One of npz, idx, cifar, images, paired-sbs (A|B side by side), paired-ab, unpaired.

    Remembered per (path, layout, modification time, size): choosing the recipe for a user path
    and loading it look at the path once."""
    if not p.exists():
        raise UserError(f"{p}: no such file or directory")
    st = p.stat()
    return _detect_format(str(p), str(p.resolve()), layout, (st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=32)
def _detect_format(path: str, resolved: str, layout: str, stamp: tuple[int, int]) -> str:
    p = Path(path)  # as the user wrote it (messages); ``resolved`` and ``stamp`` key the cache
    if p.is_file():
        if p.suffix.lower() in (".npz", ".npy"):
            return "npz"
        if formats.looks_like_idx(p):
            return "idx"
        if formats.looks_like_cifar(p):
            return "cifar"
        if p.suffix.lower() in IMAGE_EXTS:
            raise UserError(f"{p}: a single image; point the data path at the folder that holds the images")
        raise UserError(f"{p}: unsupported data file (expected a folder of images, .npz/.npy, MNIST IDX "
                        f"*-images-idx3-ubyte[.gz], a CIFAR data_batch_*/test_batch, .txt or .csv)")
    if layout == "unpaired" or (layout == "auto" and unpaired_dirs(p, "train")):
        if not unpaired_dirs(p, "train"):
            raise UserError(f"{p}: layout=unpaired needs trainA/ and trainB/ folders")
        return "unpaired"
    if layout == "paired":
        return "paired-ab" if ab_dirs(p, "train") else "paired-sbs"
    if layout == "images":
        return "images"
    if ab_dirs(p, "train"):
        return "paired-ab"
    if formats.looks_like_idx(p):
        return "idx"
    if formats.looks_like_cifar(p):
        return "cifar"
    return "images"


# Recipe for a user path when --recipe is not given: the same default as built-in data of that kind.
KIND_RECIPES = {"points": "gan", "images": "dcgan", "paired": "pix2pix", "unpaired": "cyclegan",
                "text": "gumbel-gan", "tabular": "ctgan", "sequence": "rgan"}


def guess_kind(path: str, kwargs: dict | None = None) -> str:
    """The data kind a user path will load as, found cheaply (no image decoding).

    ``.txt`` is text, ``.csv`` a table (a series with ``layout=series``), an ``.npz`` with a
    2-D examples array points (with an inputs array paired), an unpaired ``trainA/trainB``
    folder unpaired, an ``A/B`` folder (or ``layout=paired``) paired, anything else images.
    A path that does not exist raises the same UserError as loading it would.
    """
    kwargs = kwargs or {}
    p = Path(path)
    layout = kwargs.get("layout", "auto")
    if p.is_file() and p.suffix.lower() == ".txt":
        return "text"
    if p.is_file() and p.suffix.lower() == ".csv":
        return "sequence" if layout == "series" else "tabular"
    fmt = detect_format(p, layout)
    if fmt == "npz":
        shapes = formats.npz_shapes(p)  # headers only: the arrays are read once, by the load
        found = formats.pick(shapes, formats.X_KEYS)
        if found is None and len([k for k in shapes if not k.endswith("_test")]) == 1:
            found = next((k, v) for k, v in shapes.items() if not k.endswith("_test"))
        if found is not None and len(found[1]) == 2:
            return "points"
        return "paired" if formats.pick(shapes, formats.A_KEYS) is not None else "images"
    return {"unpaired": "unpaired", "paired-ab": "paired", "paired-sbs": "paired"}.get(fmt, "images")


def recipe_for_path(path: str, kwargs: dict | None = None) -> str:
    """The default recipe for the user data at ``path`` (see ``KIND_RECIPES``)."""
    return KIND_RECIPES[guess_kind(path, kwargs)]


# ------------------------------------------------------------------------- loading
MODALITY_FILES = (".txt", ".csv")  # files of the kinds beyond images (their own data.kwargs)


def load_modality_file(p: Path, split: str, kwargs: dict) -> Data:
    """A ``.txt`` (text) or ``.csv`` (table, or with ``layout=series`` a time series) file.

    Their ``data.kwargs`` are the loader's keyword arguments (checked: a wrong key is a
    UserError listing the right ones); bad content is a UserError naming the file and line.
    """
    from ..registry import check_kwargs

    kwargs = dict(kwargs)
    layout = kwargs.pop("layout", "auto")
    if p.suffix.lower() == ".txt":
        from .text import load_text_file as loader

        if layout not in ("auto", "text"):
            raise UserError(f"data.kwargs.layout={layout!r}: {p} is a .txt file (layout: text)")
    elif layout in ("auto", "table"):
        from .tabular import load_csv_table as loader
    elif layout == "series":
        from .timeseries import load_csv_series as loader
    else:
        raise UserError(f"data.kwargs.layout={layout!r}: a .csv file is a table or a series (layout=series)")
    check_kwargs(loader, kwargs, f"data.kwargs for {p.name}")
    return loader(p, split, **kwargs)


def load_user_data(path: str, resolution: int = 32, split: str = "train", **kwargs) -> Data:
    """Load the user dataset at ``path`` (any layout in the module docstring) at ``resolution``."""
    if Path(path).suffix.lower() in MODALITY_FILES and Path(path).is_file():
        return load_modality_file(Path(path), split, kwargs)
    o = parse_options(kwargs)
    if resolution < 1:
        raise UserError(f"data.resolution must be >= 1, got {resolution}")
    p = Path(path)
    fmt = detect_format(p, o.layout)
    if fmt == "npz":
        return load_npz(p, resolution, split, o)
    if fmt in ("idx", "cifar"):
        loader = formats.load_idx_split if fmt == "idx" else formats.load_cifar_split
        x, y, names, info = loader(p, split)
        x = resize_uint8(torch.from_numpy(x), resolution, o.crop)
        use = o.labels and y is not None
        return Data(str(p), "images", x, torch.from_numpy(y) if use else None, names if use else [],
                    {"format": fmt, **info})
    if fmt == "images":
        return load_image_folder(p, resolution, split, o)
    if fmt == "paired-sbs":
        return load_side_by_side(p, resolution, split, o)
    if fmt == "paired-ab":
        a_dir, b_dir, note = ab_dirs(p, split)
        return load_ab_folders(p, a_dir, b_dir, resolution, o, note)
    a_dir, b_dir, note = unpaired_dirs(p, split)
    return load_unpaired(p, a_dir, b_dir, resolution, o, note)


def decode_files(files: list[Path], resolution: int, o: Options, rng=None):
    """Decode, square-crop and resize each file: (tensors [1, C, R, R], kept files, skipped)."""
    rng = rng if rng is not None else np.random.default_rng(o.seed)
    out, kept, skipped = [], [], []
    for f in files:
        try:
            with open_image(f, o.max_pixels) as im:
                arr = image_array(im)
        except BadImage as e:
            skipped.append((f, str(e)))
            continue
        arr, _ = square_crop(arr, o.crop, rng)
        out.append(to_resolution(arr, resolution))
        kept.append(f)
    return out, kept, skipped


def stack_images(ts: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate [1, C, R, R] tensors; if any is colour, grayscale ones become RGB."""
    c = max(t.shape[1] for t in ts)
    return torch.cat([convert_channels(t, c) for t in ts])


def _none_readable(folder: Path, files: list, skipped: list) -> UserError:
    if not files:
        return UserError(f"{folder}: no image files found (looked for {', '.join(sorted(IMAGE_EXTS))})")
    f, why = skipped[0]
    return UserError(f"{folder}: no usable image: all {len(files)} files failed (first: {f}: {why})")


def load_image_folder(root: Path, resolution: int, split: str = "train", o: Options | None = None) -> Data:
    """Every image under the split's folder, square-cropped, resized, kept as uint8.

    Labels come from class subfolders when every image sits in one and there are at least two
    (so a folder with stray top-level files stays unlabelled rather than mislabelled). All
    images become RGB if any is colour; a folder of grayscale images stays one channel.
    """
    o = o or Options()
    folder, note = split_dir(root, split)
    files = list_images(folder)
    xs, kept, skipped = decode_files(files, resolution, o)
    if not xs:
        raise _none_readable(folder, files, skipped)
    parts = [f.relative_to(folder).parts for f in kept]
    classes = sorted({p[0] for p in parts if len(p) > 1})
    use_labels = o.labels and len(classes) > 1 and all(len(p) > 1 for p in parts)
    y = torch.tensor([classes.index(p[0]) for p in parts]) if use_labels else None
    return Data(str(root), "images", stack_images(xs), y, classes if use_labels else [],
                {"format": "images", "skipped": [str(f) for f, _ in skipped], **note})


def load_side_by_side(root: Path, resolution: int, split: str, o: Options) -> Data:
    """pix2pix-style pairs: each image holds input A (left half) and target B (right half)."""
    folder, note = split_dir(root, split)
    files = list_images(folder)
    rng = np.random.default_rng(o.seed)
    a_list, b_list, skipped = [], [], []
    a_res = o.a_resolution or resolution
    for f in files:
        try:
            with open_image(f, o.max_pixels) as im:
                arr = image_array(im)
        except BadImage as e:
            skipped.append((f, str(e)))
            continue
        w = arr.shape[1]
        if w % 2:
            raise UserError(f"{f}: a paired A|B image must split into two halves of the same size, "
                            f"but its width {w} is odd")
        left, right = arr[:, : w // 2], arr[:, w // 2 :]
        left, box = square_crop(left, o.crop, rng)
        right, _ = square_crop(right, o.crop, box=box)  # the same crop for both halves
        a_list.append(to_resolution(left, a_res))
        b_list.append(to_resolution(right, resolution))
    if not a_list:
        raise _none_readable(folder, files, skipped)
    return _pair_data(root, stack_images(a_list), stack_images(b_list), o, "paired",
                      {"format": "paired-sbs", "skipped": [str(f) for f, _ in skipped], **note})


def _pair_data(root: Path, a: torch.Tensor, b: torch.Tensor, o: Options, kind: str, info: dict) -> Data:
    if o.direction == "BtoA":
        a, b = b, a
    return Data(str(root), kind, b, None, [], {**info, "direction": o.direction}, a=a)


def _stems(folder: Path) -> dict[str, Path]:
    out = {}
    for f in list_images(folder):
        key = str(f.relative_to(folder).with_suffix(""))
        out.setdefault(key, f)
    return out


def match_ab(a_dir: Path, b_dir: Path) -> list[tuple[Path, Path]]:
    """Pairs of files with the same name (extension aside) in A/ and B/; UserError on a mismatch."""
    a, b = _stems(a_dir), _stems(b_dir)
    if not a and not b:
        raise UserError(f"{a_dir.parent}: A/ and B/ hold no image files")
    for key in sorted(set(a) | set(b)):
        if key not in b:
            raise UserError(f"{a[key]}: no file with the same name in {b_dir}")
        if key not in a:
            raise UserError(f"{b[key]}: no file with the same name in {a_dir}")
    return [(a[k], b[k]) for k in sorted(a)]


def load_ab_folders(root: Path, a_dir: Path, b_dir: Path, resolution: int, o: Options, note: dict) -> Data:
    """Paired data from ``A/`` and ``B/`` folders whose files match by name.

    A pair is skipped (and both files reported) when either file cannot be read. The two
    images of a pair may differ in size (e.g. low-res A, high-res B): each is cropped to its
    central (or same relative random) square and resized.
    """
    pairs = match_ab(a_dir, b_dir)
    rng = np.random.default_rng(o.seed)
    a_res = o.a_resolution or resolution
    a_list, b_list, skipped = [], [], []
    for fa, fb in pairs:
        arrs = []
        for f in (fa, fb):
            try:
                with open_image(f, o.max_pixels) as im:
                    arrs.append(image_array(im))
            except BadImage as e:
                skipped.append((f, str(e)))
        if len(arrs) < 2:
            continue
        ca, box = square_crop(arrs[0], o.crop, rng)
        cb, _ = square_crop(arrs[1], o.crop, box=box)
        a_list.append(to_resolution(ca, a_res))
        b_list.append(to_resolution(cb, resolution))
    if not a_list:
        raise UserError(f"{root}: no usable pair: all {len(pairs)} pairs have an unreadable file "
                        f"(first: {skipped[0][0]}: {skipped[0][1]})")
    return _pair_data(root, stack_images(a_list), stack_images(b_list), o, "paired",
                      {"format": "paired-ab", "skipped": [str(f) for f, _ in skipped], **note})


def load_unpaired(root: Path, a_dir: Path, b_dir: Path, resolution: int, o: Options, note: dict) -> Data:
    """Two unpaired domains (CycleGAN): ``a`` from ``a_dir``, ``x`` from ``b_dir``."""
    rng = np.random.default_rng(o.seed)
    doms, skipped = [], []
    for folder, res in ((a_dir, o.a_resolution or resolution), (b_dir, resolution)):
        files = list_images(folder)
        xs, _, sk = decode_files(files, res, o, rng)
        skipped += sk
        if not xs:
            raise _none_readable(folder, files, sk)
        doms.append(stack_images(xs))
    return _pair_data(root, doms[0], doms[1], o, "unpaired",
                      {"format": "unpaired", "skipped": [str(f) for f, _ in skipped], **note})


# ------------------------------------------------------------------------- arrays
def resize_uint8(x: torch.Tensor, resolution: int, crop: str = "center", chunk: int = 2048) -> torch.Tensor:
    """uint8 [N, C, H, W] -> uint8 [N, C, R, R]: central square crop (unless crop="none"), resize.

    Works in chunks so a 60,000-image array is never held as float all at once.
    """
    h, w = x.shape[-2:]
    if crop != "none" and h != w:
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        x = x[..., top : top + s, left : left + s]
    if x.shape[-2:] == (resolution, resolution):
        return x.contiguous()
    return torch.cat([to_uint8(resize_images(x[i : i + chunk].float() / 255.0, resolution))
                      for i in range(0, len(x), chunk)])


def load_npz(path: Path, resolution: int, split: str, o: Options) -> Data:
    """Arrays from a ``.npz`` (or ``.npy``) file.

    Keys: the examples under ``x`` (or ``images``, ``X``, ``data``, ``arr_0``; a file with a
    single array may use any name); labels under ``y`` (or ``labels``, ``Y``, ``targets``),
    optional ``class_names`` (strings); paired inputs under ``a`` (or ``A``, ``inputs``), which
    makes the data kind "paired". ``split="test"`` uses the same keys with a ``_test`` suffix
    (``x_test``, ``y_test``, ``a_test``) when present.

    Examples: a 2-D float array [N, D] is kind "points" (float32, used as is). Images are
    [N, H, W], [N, H, W, C] or [N, C, H, W] (C = 1, 3, or 4 with alpha dropped); uint8 as is,
    floats in [0, 1] or [-1, 1] (or [0, 255]) are scaled to uint8. Non-square images are
    centre-cropped, then resized to the resolution.
    """
    arrays = formats.read_npz(path)
    suffix, note = "", {}
    if split == "test":
        if formats.pick(arrays, formats.X_KEYS, "_test"):
            suffix = "_test"
        else:
            note["split"] = "test requested, no x_test in the file: using the training arrays"
    found = formats.pick(arrays, formats.X_KEYS, suffix)
    if found is None:
        plain = [k for k in arrays if not k.endswith("_test")]
        if len(plain) != 1:
            raise UserError(f"{path}: no examples array; name it 'x' (found keys: {', '.join(arrays) or 'none'})")
        found = (plain[0], arrays[plain[0]])
    xkey, x = found
    where = f"{path}[{xkey}]"
    y = None
    yf = formats.pick(arrays, formats.Y_KEYS, suffix)
    if yf is not None and o.labels:
        y = formats.labels_array(yf[1], len(x), f"{path}[{yf[0]}]")
    names = []
    if y is not None:
        if "class_names" in arrays:
            names = [str(s) for s in np.asarray(arrays["class_names"]).reshape(-1)]
            if len(names) <= int(y.max(initial=0)):
                raise UserError(f"{path}[class_names]: {len(names)} names but labels go up to {int(y.max())}")
        else:
            names = [str(i) for i in range(int(y.max(initial=-1)) + 1)]
    yt = None if y is None else torch.from_numpy(y)
    info = {"format": "npz", "key": xkey, **note}
    if x.ndim == 2:
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise UserError(f"{where}: points must be numeric, got dtype {x.dtype}")
        if not np.isfinite(x).all():
            raise UserError(f"{where}: contains NaN or infinite values")
        return Data(str(path), "points", torch.from_numpy(x.astype(np.float32)), yt, names, info)
    xi = resize_uint8(torch.from_numpy(formats.images_nchw(x, where)), resolution, o.crop)
    af = formats.pick(arrays, formats.A_KEYS, suffix)
    if af is None:
        return Data(str(path), "images", xi, yt, names, info)
    a = formats.images_nchw(af[1], f"{path}[{af[0]}]", keep_alpha=True)
    if len(a) != len(xi):
        raise UserError(f"{path}[{af[0]}]: {len(a)} inputs for {len(xi)} targets; paired arrays must match")
    a = resize_uint8(torch.from_numpy(a), o.a_resolution or resolution, o.crop)
    d = _pair_data(path, a, xi, o, "paired", info)
    d.y, d.class_names = yt, names
    return d
