"""User data on disk: image folders, paired and unpaired folders, ``.npz``, MNIST IDX, CIFAR-10.

``load_user_data(path, resolution, split, **kwargs)`` recognises the layout (or takes it from
``data.kwargs.layout``) and returns an in-memory :class:`Data` (uint8 images, decoded once):

========================  =====================================================================
layout                    what the path holds
========================  =====================================================================
prepared                  a folder written by ``gankit data prepare`` (``manifest.json``).
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
midi                      a folder of ``.mid``/``.midi`` files (or one file): piano rolls (kind
                          "music"), :func:`gankit.data.midi.load_midi`.
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

Image folders are decoded once, into the prepared-data cache (:mod:`gankit.data.cache`;
``data.cache``), and memory-mapped from there by every run; a folder written by
``gankit data prepare`` (:mod:`gankit.data.prepare`) is memory-mapped directly. Arrays
(``.npz``, IDX, CIFAR) are read into memory. The code is split by responsibility: layout
detection in :mod:`~gankit.data.layouts`, folder decoding in :mod:`~gankit.data.folders`,
arrays in :mod:`~gankit.data.arrays`.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from .arrays import load_array_split, load_npz, pair_data, resize_uint8  # noqa: F401  (re-exported)
from .base import Data
from .layouts import (  # noqa: F401  (re-exported: the names other modules import from here)
    IMAGE_EXTS,
    KIND_RECIPES,
    LAYOUTS,
    MODALITY_FILES,
    SPLIT_DIRS,
    Options,
    _detect_format,
    ab_dirs,
    detect_format,
    guess_kind,
    list_images,
    match_ab,
    parse_options,
    prepared_manifest,
    recipe_for_path,
    split_dir,
    unpaired_dirs,
)


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


def load_user_data(path: str, resolution: int = 32, split: str = "train", channels: int = 0,
                   cache: str = "auto", **kwargs) -> Data:
    """Load the user dataset at ``path`` (any layout in the module docstring) at ``resolution``.

    ``channels`` (0: as decoded; 1 or 3) converts image folders while they are prepared;
    ``cache`` is ``data.cache`` (where prepared folders are kept, or ``off``).
    """
    if Path(path).suffix.lower() in MODALITY_FILES and Path(path).is_file():
        return load_modality_file(Path(path), split, kwargs)
    if detect_format(Path(path), kwargs.get("layout", "auto")) == "midi":  # music: its own data.kwargs
        from ..registry import check_kwargs
        from .midi import load_midi

        check_kwargs(load_midi, kwargs, f"data.kwargs for {path}")
        return load_midi(Path(path), split, cache, **kwargs)
    o = parse_options(kwargs)
    p = Path(path)
    fmt = detect_format(p, o.layout)
    if fmt == "prepared":  # resolution 0 (data without one, e.g. music): as prepared
        from .prepare import open_prepared

        return open_prepared(p, split, max(resolution, 0))
    if resolution < 1:
        raise UserError(f"data.resolution must be >= 1, got {resolution}")
    if fmt in ("npz", "idx", "cifar"):
        return load_array_split(p, fmt, resolution, split, o)
    from .cache import load_folder

    return load_folder(p, fmt, resolution, split, o, channels, cache)
