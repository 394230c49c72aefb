"""How a user's data path is laid out, found without decoding anything.

:func:`detect_format` names the layout of a path (see :mod:`gankit.data.user` for the table),
:func:`guess_kind` the data kind it will load as, :func:`recipe_for_path` the recipe
``gankit train --data PATH`` uses; the helpers find the split folders (``train/``,
``test/``), the paired ``A/`` + ``B/`` and unpaired ``trainA/`` + ``trainB/`` folders and the
image files in them. :class:`Options` are the ``data.kwargs`` a user path accepts.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from . import formats
from .transforms import CROPS, MAX_PIXELS

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}
LAYOUTS = ("auto", "images", "paired", "unpaired", "midi")
MIDI_EXTS = (".mid", ".midi")  # music (gankit.data.midi)
MODALITY_FILES = (".txt", ".csv")  # files of the kinds beyond images (their own data.kwargs)
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


MANIFEST = "manifest.json"  # names a folder written by `gankit data prepare`


def prepared_manifest(p: Path) -> dict | None:
    """The manifest of a prepared dataset folder (``gankit data prepare``), or None."""
    f = p / MANIFEST
    if not f.is_file():
        return None
    import json

    try:
        m = json.loads(f.read_text())
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise UserError(f"{f}: not a readable manifest ({e})") from None
    return m if isinstance(m, dict) and "gankit_prepared" in m else None


def detect_format(p: Path, layout: str = "auto") -> str:
    """One of prepared, midi, npz, idx, cifar, images, paired-sbs (A|B side by side), paired-ab, unpaired.

    Remembered per (path, layout, modification time, size): choosing the recipe for a user path
    and loading it look at the path once."""
    if not p.exists():
        raise UserError(f"{p}: no such file or directory")
    st = p.stat()
    return _detect_format(str(p), str(p.resolve()), layout, (st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=32)
def _detect_format(path: str, resolved: str, layout: str, stamp: tuple[int, int]) -> str:
    p = Path(path)  # as the user wrote it (messages); ``resolved`` and ``stamp`` key the cache
    if p.is_dir() and prepared_manifest(p) is not None:
        return "prepared"
    if layout in ("auto", "midi") and is_midi(p):
        return "midi"
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


def is_midi(p: Path) -> bool:
    """A ``.mid``/``.midi`` file, or a folder whose files include MIDI files and no images
    (music data, :mod:`gankit.data.midi`)."""
    if p.is_file():
        return p.suffix.lower() in MIDI_EXTS
    if not p.is_dir():
        return False
    exts = {f.suffix.lower() for f in p.rglob("*") if not any(q.startswith(".") for q in f.relative_to(p).parts)}
    return bool(exts & set(MIDI_EXTS)) and not exts & IMAGE_EXTS


# Recipe for a user path when --recipe is not given: the same default as built-in data of that kind.
KIND_RECIPES = {"points": "gan", "images": "dcgan", "paired": "pix2pix", "unpaired": "cyclegan",
                "text": "gumbel-gan", "tabular": "ctgan", "sequence": "rgan", "music": "musegan"}


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
    if fmt == "prepared":
        return prepared_manifest(p)["kind"]
    if fmt == "npz":
        shapes = formats.npz_shapes(p)  # headers only: the arrays are read once, by the load
        found = formats.pick(shapes, formats.X_KEYS)
        if found is None and len([k for k in shapes if not k.endswith("_test")]) == 1:
            found = next((k, v) for k, v in shapes.items() if not k.endswith("_test"))
        if found is not None and len(found[1]) == 2:
            return "points"
        return "paired" if formats.pick(shapes, formats.A_KEYS) is not None else "images"
    return {"unpaired": "unpaired", "paired-ab": "paired", "paired-sbs": "paired", "midi": "music"}.get(fmt, "images")


def recipe_for_path(path: str, kwargs: dict | None = None) -> str:
    """The default recipe for the user data at ``path`` (see ``KIND_RECIPES``)."""
    return KIND_RECIPES[guess_kind(path, kwargs)]


