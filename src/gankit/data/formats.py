"""Array file formats: ``.npz``/``.npy`` arrays, MNIST IDX files and CIFAR-10 python batches.

Each reader returns plain numpy arrays and raises :class:`~gankit.errors.UserError` naming the
file and what is wrong with it. Nothing here executes code from a file: ``.npz`` files are
read with ``allow_pickle=False`` and CIFAR pickles with :class:`RestrictedUnpickler`.
"""
from __future__ import annotations

import gzip
import io
import pickle
import re
from pathlib import Path

import numpy as np

from ..errors import UserError

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                   "Bag", "Ankle boot"]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

# ------------------------------------------------------------------------------ npz / npy
X_KEYS = ("x", "images", "X", "data", "arr_0")
Y_KEYS = ("y", "labels", "Y", "targets")
A_KEYS = ("a", "A", "inputs")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of a ``.npz`` (or the one array of a ``.npy``, as ``x``), without pickle."""
    try:
        if path.suffix.lower() == ".npy":
            return {"x": np.load(path, allow_pickle=False)}
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise UserError(f"{path}: holds pickled Python objects; gankit reads only plain numeric "
                            f"arrays (save with np.savez and numeric dtypes)") from None
        raise UserError(f"{path}: not a valid numpy file ({e})") from None
    except Exception as e:  # noqa: BLE001 - zip/format errors come in many types
        raise UserError(f"{path}: not a valid numpy file ({type(e).__name__}: {e})") from None


def npz_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """The shape of every array of a ``.npz`` (``.npy``: ``x``) from the headers alone: how
    ``guess_kind`` learns the data's kind without reading the arrays (the load reads them once)."""
    import zipfile

    def header(fh) -> tuple[int, ...]:
        version = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        return tuple(read(fh)[0])

    try:
        if path.suffix.lower() == ".npy":
            with open(path, "rb") as fh:
                return {"x": header(fh)}
        with zipfile.ZipFile(path) as z:
            return {n[:-4]: header(z.open(n)) for n in z.namelist() if n.endswith(".npy")}
    except Exception as e:  # noqa: BLE001 - zip/format errors come in many types
        raise UserError(f"{path}: not a valid numpy file ({type(e).__name__}: {e})") from None


def pick(arrays: dict, keys: tuple[str, ...], suffix: str = "") -> tuple[str, np.ndarray] | None:
    """The first of ``keys`` (+ ``suffix``) present in ``arrays``."""
    for k in keys:
        if k + suffix in arrays:
            return k + suffix, arrays[k + suffix]
    return None


def images_nchw(arr: np.ndarray, where: str, keep_alpha: bool = False) -> np.ndarray:
    """Image arrays of any accepted layout/dtype -> uint8 [N, C, H, W].

    Layouts: [N, H, W] (grayscale), [N, H, W, C] or [N, C, H, W] with C in (1, 3, 4); a 4th
    (alpha) channel is dropped unless ``keep_alpha`` (for inputs, which may carry extra
    channels such as a mask). 1, 3 or 4 in dim 1 and not in dim 3 means NCHW, else NHWC. Values: uint8 as is; bool as 0/255; other
    integers must lie in 0..255; floats in [0, 1] or [-1, 1] (if any value is negative) are
    scaled, floats in [0, 255] are rounded.
    """
    a = np.asarray(arr)
    chans = (1, 3, 4)
    if a.ndim == 3:
        a = a[:, None]
    elif a.ndim == 4:
        c1, c3 = a.shape[1], a.shape[3]
        if c1 in chans and c3 not in chans:
            pass  # NCHW
        elif c3 in chans:
            a = a.transpose(0, 3, 1, 2)  # NHWC (also the guess for tiny images where both fit)
        elif keep_alpha and c1 < a.shape[2]:
            pass  # inputs with extra channels (e.g. image + mask), NCHW
        else:
            raise UserError(f"{where}: cannot tell the channel axis of shape {list(arr.shape)} "
                            f"(expected N,H,W,C or N,C,H,W with 1, 3 or 4 channels)")
    else:
        raise UserError(f"{where}: images must be [N, H, W] or 4-D, got shape {list(arr.shape)}")
    if a.shape[1] == 4 and not keep_alpha:
        a = a[:, :3]
    return to_uint8_array(a, where)


def to_uint8_array(a: np.ndarray, where: str) -> np.ndarray:
    """Pixel values of any numeric dtype -> uint8 (see :func:`images_nchw` for the rules)."""
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.integer):
        lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
        if lo < 0 or hi > 255:
            raise UserError(f"{where}: integer pixels must be in 0..255, found {lo}..{hi}")
        return a.astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        if a.size and not np.isfinite(a).all():
            raise UserError(f"{where}: contains NaN or infinite values")
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 1.0)
        if lo >= 0.0 and hi <= 1.0:
            return np.round(a * 255.0).astype(np.uint8)
        if lo >= -1.0 and hi <= 1.0:
            return np.round((a + 1.0) * 127.5).astype(np.uint8)
        if lo >= 0.0 and hi <= 255.0:
            return np.round(a).astype(np.uint8)
        raise UserError(f"{where}: float pixels must be in [0, 1], [-1, 1] or [0, 255], "
                        f"found [{lo:g}, {hi:g}]")
    raise UserError(f"{where}: unsupported dtype {a.dtype}")


def labels_array(y: np.ndarray, n: int, where: str) -> np.ndarray:
    """Integer class labels [n] >= 0 (a float array of whole numbers is accepted)."""
    y = np.asarray(y).reshape(-1) if np.asarray(y).ndim == 2 and 1 in np.asarray(y).shape else np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise UserError(f"{where}: labels must be a 1-D array of {n} entries, got shape {list(y.shape)}")
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise UserError(f"{where}: labels must be whole numbers")
        y = y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.integer):
        raise UserError(f"{where}: labels must be integers, got dtype {y.dtype}")
    if len(y) and y.min() < 0:
        raise UserError(f"{where}: labels must be >= 0, found {int(y.min())}")
    return y.astype(np.int64)


def shallow_files(root: Path, depth: int = 3) -> list[Path]:
    """Files at most ``depth`` levels below ``root`` (e.g. ``MNIST/raw/train-images...``), sorted.

    Format detection looks only this deep, so probing a huge image folder stays cheap.
    """
    out, level = [], [root]
    for _ in range(depth):
        nxt = []
        for d in level:
            try:
                entries = list(d.iterdir())
            except OSError:
                continue
            out += [e for e in entries if e.is_file()]
            nxt += [e for e in entries if e.is_dir()]
        level = nxt
    return sorted(out)


# ------------------------------------------------------------------------------ IDX (MNIST)
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IDX_IMAGES = re.compile(r"^(?P<prefix>.*?)images[-.]idx3[-.]ubyte(?:\.gz)?$", re.IGNORECASE)


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (LeCun et al., the MNIST distribution format), gzipped or not.

    Header: two zero bytes, a type code (0x08 = uint8 ...), the number of dimensions, then one
    big-endian uint32 per dimension; the data follow in C order.
    """
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise UserError(f"{path}: cannot read ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise UserError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise UserError(f"{path}: truncated IDX header")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    dt = np.dtype(IDX_DTYPES[raw[2]])
    need = int(np.prod(dims)) * dt.itemsize
    if len(raw) - head < need:
        raise UserError(f"{path}: truncated: header promises {dims} ({need:,} bytes of data), "
                        f"file has {len(raw) - head:,}")
    return np.frombuffer(raw, dt, count=int(np.prod(dims)), offset=head).reshape(dims).astype(dt.newbyteorder("="))


def find_idx(root: Path) -> dict[str, tuple[Path, Path | None]]:
    """IDX image files under a folder (or the file itself) by split: {"train": (images, labels?)}.

    Files named like ``train-images-idx3-ubyte[.gz]`` / ``t10k-images-idx3-ubyte[.gz]``
    (``.`` instead of ``-`` before idx3 also works); labels are the file with ``labels-idx1`` in
    place of ``images-idx3``. ``t10k``/``test`` prefixes are the test split, the rest train.
    """
    files = [root] if root.is_file() else shallow_files(root)
    out: dict[str, tuple[Path, Path | None]] = {}
    for f in files:
        m = IDX_IMAGES.match(f.name)
        if not m:
            continue
        prefix = m.group("prefix")
        split = "test" if prefix.lower().startswith(("t10k", "test")) else "train"
        lab = None
        for sep in ("-", "."):
            for gz in ("", ".gz"):
                cand = f.with_name(f"{prefix}labels{sep}idx1-ubyte{gz}")
                if cand.is_file():
                    lab = cand
        out.setdefault(split, (f, lab))
    return out


def load_idx_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray | None, list[str], dict]:
    """Images uint8 [N, 1, H, W], labels and class names of one split of an IDX dataset."""
    found = find_idx(root)
    if not found:
        raise UserError(f"{root}: no *-images-idx3-ubyte[.gz] file found")
    note = {}
    if split not in found:
        other = next(iter(found))
        note["split"] = f"{split} requested but only {other} files exist: using them"
        split = other
    img_f, lab_f = found[split]
    x = read_idx(img_f)
    if x.ndim != 3:
        raise UserError(f"{img_f}: expected images [N, H, W], got shape {list(x.shape)}")
    x = to_uint8_array(x, str(img_f))[:, None]
    y = None
    if lab_f is not None:
        y = labels_array(read_idx(lab_f), len(x), str(lab_f))
    fashion = "fashion" in str(root.resolve()).lower()
    k = int(y.max()) + 1 if y is not None and len(y) else 0
    names = FASHION_CLASSES if fashion and k <= 10 and y is not None else [str(i) for i in range(k)]
    return x, y, names, {"files": [str(img_f)] + ([str(lab_f)] if lab_f else []), **note}


# ------------------------------------------------------------------------------ CIFAR-10
class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles only builtins data (dict, list, str, bytes, numbers) and numpy arrays.

    A pickle can call any importable function while loading; this unpickler resolves only the
    handful of numpy reconstructors needed for ``ndarray``/``dtype`` and refuses every other
    global, so a malicious "CIFAR batch" cannot run code.
    """

    @staticmethod
    def _allowed() -> dict[tuple[str, str], object]:
        import codecs

        try:
            from numpy._core import multiarray as ma
            from numpy._core import numeric as nu
        except ImportError:  # numpy < 2
            from numpy.core import multiarray as ma  # type: ignore
            from numpy.core import numeric as nu
        allowed = {
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("_codecs", "encode"): codecs.encode,  # bytes inside protocol-2 pickles made by py3
        }
        for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
            allowed[(mod, "_reconstruct")] = ma._reconstruct
            allowed[(mod, "scalar")] = ma.scalar
        for mod in ("numpy.core.numeric", "numpy._core.numeric"):
            allowed[(mod, "_frombuffer")] = nu._frombuffer  # protocol-5 pickles of arrays
        return allowed

    def find_class(self, module, name):
        """The allowed object for ``module.name``; anything else is refused."""
        obj = self._allowed().get((module, name))
        if obj is None:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}")
        return obj


def restricted_load(data: bytes):
    """Unpickle ``data`` with :class:`RestrictedUnpickler` (``latin1`` for Python 2 pickles' str)."""
    return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()


def read_cifar_batch(path: Path) -> dict:
    """One CIFAR python batch as ``{"data": uint8 [N, 3, 32, 32], "labels": int64 [N]}``.

    The official files are Python 2 pickles of a dict with bytes keys: ``data`` (uint8
    [N, 3072], row-major R then G then B planes) and ``labels`` (CIFAR-10) or ``fine_labels``
    (CIFAR-100); ``batches.meta`` holds ``label_names``.
    """
    try:
        d = restricted_load(path.read_bytes())
    except pickle.UnpicklingError as e:
        raise UserError(f"{path}: refused: {e} (only plain data and numpy arrays are read)") from None
    except Exception as e:  # noqa: BLE001 - truncated or not a pickle
        raise UserError(f"{path}: not a readable CIFAR batch ({type(e).__name__}: {e})") from None
    if not isinstance(d, dict):
        raise UserError(f"{path}: not a CIFAR batch (expected a pickled dict)")
    d = {(k.decode("latin1") if isinstance(k, bytes) else str(k)): v for k, v in d.items()}
    if "data" not in d:
        if "label_names" in d or "fine_label_names" in d:
            return d  # a meta file
        raise UserError(f"{path}: not a CIFAR batch (no 'data' entry)")
    data = np.asarray(d["data"])
    flat = data.ndim == 2 and data.shape[1] == 3072
    if not (flat or (data.ndim == 4 and data.shape[1:] == (3, 32, 32))):
        raise UserError(f"{path}: 'data' must be [N, 3072] (or [N, 3, 32, 32]), got {list(data.shape)}")
    x = to_uint8_array(data.reshape(-1, 3, 32, 32), str(path))
    lab = d.get("labels", d.get("fine_labels"))
    y = None if lab is None else labels_array(np.asarray(lab), len(x), str(path))
    return {"data": x, "labels": y}


CIFAR_TRAIN = re.compile(r"^data_batch_\d+$")


def find_cifar(root: Path) -> dict[str, list[Path]]:
    """CIFAR batch files by split: ``data_batch_*`` train, ``test_batch`` test (searches subfolders)."""
    if root.is_file():
        return {"test" if root.name == "test_batch" else "train": [root]}
    out: dict[str, list[Path]] = {}
    for f in shallow_files(root):
        if CIFAR_TRAIN.match(f.name):
            out.setdefault("train", []).append(f)
        elif f.name == "test_batch":
            out.setdefault("test", []).append(f)
    return out


def load_cifar_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray | None, list[str], dict]:
    """Images uint8 [N, 3, 32, 32], labels and class names of one split of CIFAR-10 batches."""
    found = find_cifar(root)
    if not found:
        raise UserError(f"{root}: no CIFAR batches (data_batch_*, test_batch) found")
    note = {}
    if split not in found:
        other = next(iter(found))
        note["split"] = f"{split} requested but only {other} batches exist: using them"
        split = other
    xs, ys = [], []
    for f in found[split]:
        b = read_cifar_batch(f)
        xs.append(b["data"])
        ys.append(b["labels"])
    x = np.concatenate(xs)
    y = None if any(v is None for v in ys) else np.concatenate(ys)
    names = CIFAR10_CLASSES if y is not None and len(y) and y.max() < 10 else []
    meta = found[split][0].with_name("batches.meta")
    if meta.is_file():
        m = read_cifar_batch(meta)
        ln = m.get("label_names")
        if ln:
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in ln]
    if y is not None and (not names or len(names) <= int(y.max())):
        names = [str(i) for i in range(int(y.max()) + 1)]
    return x, y, names, {"files": [str(f) for f in found[split]], **note}


def looks_like_cifar(p: Path) -> bool:
    """A CIFAR batch file, or a folder holding one (directly or in a subfolder)."""
    if p.is_file():
        return bool(CIFAR_TRAIN.match(p.name)) or p.name == "test_batch"
    return bool(find_cifar(p)) if p.is_dir() else False


def looks_like_idx(p: Path) -> bool:
    """An IDX images file, or a folder holding one."""
    if p.is_file():
        return bool(IDX_IMAGES.match(p.name))
    return bool(find_idx(p)) if p.is_dir() else False
