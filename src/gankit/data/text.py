"""Character-level text, offline: the ``"text"`` data kind, its corpora, and its output files.

A text example is a window of ``seq_len`` characters, held as int64 ids ``[N, L]``; the
vocabulary (a string, id -> character) is ``info["vocab"]``, so a checkpoint's ``data.json``
alone decodes samples. Windows start at word boundaries (the first word is whole; the last
may be cut, which the n-gram metrics allow for).

Corpora that are on every machine with a Python, without a download:

* ``pydocs``: the docstrings of 20 pure-Python standard-library modules (``argparse``,
  ``calendar``, ``csv``, ``datetime``, ... see :data:`STDLIB_MODULES`), read from the source
  files under ``sysconfig.get_paths()["stdlib"]`` with :mod:`ast` (nothing is imported).
  Doctest lines and indented code blocks are dropped, so it is mostly English prose about
  programming; the split is by docstring (a seeded 10 % of docstrings is the test split).
* ``pylicense``: Python's own ``LICENSE.txt`` (``sys.base_prefix``/lib/pythonX.Y), 14 KB;
  small, repetitive legal English (the last 10 % of the file is the test split).

The exact text depends on the Python version (3.11 here); ``info["source"]`` says which
files, ``info["chars"]`` how much. A user's ``.txt`` file is read by :func:`load_text_file`
(``gankit train --data notes.txt --recipe gumbel-gan``).

Text is normalised the same way everywhere: lower-cased (``lowercase=True``), whitespace
runs collapsed to one space, characters seen fewer than ``min_count`` times dropped.
"""
from __future__ import annotations

import ast
import functools
import re
import sys
import sysconfig
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from .base import Data, register_dataset

SEQ_LEN = 32
TEST_FRACTION = 0.1
# Prose-rich, pure-Python stdlib modules (a module name, or a package's __init__).
STDLIB_MODULES = ("argparse", "calendar", "collections/__init__", "configparser", "csv", "datetime",
                  "difflib", "fractions", "functools", "heapq", "inspect", "json/__init__", "pathlib",
                  "random", "shutil", "statistics", "string", "subprocess", "textwrap", "threading")


# --------------------------------------------------------------------------- normalising
def normalize(text: str, lowercase: bool = True) -> str:
    """Lower-case (optionally), keep printable characters, collapse whitespace to one space."""
    if lowercase:
        text = text.lower()
    text = "".join(c if c.isprintable() else " " for c in text)
    return re.sub(r"\s+", " ", text).strip()


def build_vocab(text: str, min_count: int = 1, max_size: int = 200) -> str:
    """The characters of ``text`` seen at least ``min_count`` times (at most ``max_size``, the
    most frequent), sorted: id i is ``vocab[i]``. The space is always in."""
    counts = Counter(text)
    keep = [c for c, k in counts.most_common(max_size) if k >= min_count]
    return "".join(sorted(set(keep) | {" "}))


def encode(text: str, vocab: str) -> np.ndarray:
    """Ids of the characters of ``text`` that are in ``vocab`` (others are dropped)."""
    table = {c: i for i, c in enumerate(vocab)}
    return np.array([table[c] for c in text if c in table], dtype=np.int64)


def decode(ids, vocab: str) -> list[str]:
    """Character ids ``[N, L]`` (tensor or array; floats are rounded) -> N strings."""
    arr = torch.as_tensor(ids).round().long().clamp_(0, len(vocab) - 1).cpu().numpy()
    return ["".join(vocab[i] for i in row) for row in arr]


def windows(ids: np.ndarray, vocab: str, seq_len: int, limit: int = 0) -> torch.Tensor:
    """Windows of ``seq_len`` ids starting at each word start (after a space), ``[N, L]``.

    ``limit`` > 0 keeps that many, evenly spaced over the text (deterministic).
    """
    space = vocab.index(" ")
    starts = np.concatenate([[0], np.flatnonzero(ids[:-1] == space) + 1])
    starts = starts[(starts + seq_len <= len(ids)) & (ids[np.minimum(starts, len(ids) - 1)] != space)]
    if limit and len(starts) > limit:
        starts = starts[np.linspace(0, len(starts) - 1, limit).round().astype(np.int64)]
    if len(starts) == 0:
        return torch.zeros(0, seq_len, dtype=torch.int64)
    idx = starts[:, None] + np.arange(seq_len)[None, :]
    return torch.from_numpy(ids[idx])


# --------------------------------------------------------------------------- corpora
def stdlib_file(module: str) -> Path | None:
    """The source file of a stdlib module name like ``"json/__init__"`` (None if absent)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    for f in (root / f"{module}.py", root / module / "__init__.py"):
        if f.is_file():
            return f
    return None


def prose(doc: str) -> str:
    """A docstring without its doctest lines and indented code blocks."""
    keep = [ln for ln in doc.splitlines()
            if not ln.lstrip().startswith((">>>", "...")) and not ln.startswith(("    ", "\t"))]
    return " ".join(keep)


@functools.lru_cache(maxsize=2)
def stdlib_docstrings() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(docstrings, the files they come from) of :data:`STDLIB_MODULES`, parsed, not imported."""
    docs, files = [], []
    for m in STDLIB_MODULES:
        f = stdlib_file(m)
        if f is None:
            continue
        try:
            tree = ast.parse(f.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        files.append(str(f))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(prose(doc).strip()) > 1:
                    docs.append(prose(doc))
    return tuple(docs), tuple(files)


def python_license() -> Path:
    """Python's ``LICENSE.txt`` beside the standard library of ``sys.base_prefix``."""
    for f in (Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt",
              Path(sys.base_prefix) / "LICENSE.txt", Path(sys.base_prefix) / "LICENSE"):
        if f.is_file():
            return f
    raise UserError("pylicense: Python's LICENSE.txt is not installed on this machine; use pydocs")


def text_data(name: str, train: str, test: str, split: str, seq_len: int, limit: int, lowercase: bool,
              min_count: int, info: dict) -> Data:
    """Data of kind "text" from normalised train/test texts (vocabulary from both)."""
    if seq_len < 2:
        raise UserError(f"data.kwargs.seq_len must be >= 2, got {seq_len}")
    vocab = build_vocab(train + " " + test, min_count)
    body = train if split == "train" else test
    x = windows(encode(body, vocab), vocab, seq_len, limit)
    if len(x) < 2:
        raise UserError(f"{name}: the {split} text has {len(body)} characters, too few for two "
                        f"windows of {seq_len}; use more text or a smaller data.kwargs.seq_len")
    return Data(name, "text", x, info={**info, "vocab": vocab, "seq_len": seq_len, "lowercase": lowercase,
                                       "split": split, "chars": len(body)})


@register_dataset("pydocs", "docstrings of 20 stdlib modules (offline prose), 32-char windows", recipe="gumbel-gan")
def pydocs(resolution: int = 0, split: str = "train", seq_len: int = SEQ_LEN, n: int = 20000,
           lowercase: bool = True, min_count: int = 20) -> Data:
    """Docstring prose of the standard library; a seeded 10 % of the docstrings is the test split."""
    docs, files = stdlib_docstrings()
    if not docs:
        raise UserError("pydocs: no standard-library source files found (a Python without its .py files?)")
    order = torch.randperm(len(docs), generator=torch.Generator().manual_seed(0)).tolist()
    n_test = max(1, int(len(docs) * TEST_FRACTION))
    test_ids = set(order[:n_test])
    train = normalize(" ".join(d for i, d in enumerate(docs) if i not in test_ids), lowercase)
    test = normalize(" ".join(d for i, d in enumerate(docs) if i in test_ids), lowercase)
    info = {"source": f"docstrings of {len(files)} stdlib modules (Python {sys.version.split()[0]})",
            "files": [Path(f).name if Path(f).name != "__init__.py" else Path(f).parent.name for f in files]}
    return text_data("pydocs", train, test, split, seq_len, n if split == "train" else n // 4, lowercase,
                     min_count, info)


@register_dataset("pylicense", "Python's own LICENSE.txt (14 KB of legal English), 32-char windows",
                  recipe="gumbel-gan")
def pylicense(resolution: int = 0, split: str = "train", seq_len: int = SEQ_LEN, lowercase: bool = True,
              min_count: int = 3) -> Data:
    """Python's licence text; its last 10 % is the test split."""
    f = python_license()
    text = normalize(f.read_text(encoding="utf-8", errors="replace"), lowercase)
    cut = text.rfind(" ", 0, int(len(text) * (1 - TEST_FRACTION)))
    return text_data("pylicense", text[:cut], text[cut + 1:], split, seq_len, 0, lowercase, min_count,
                     {"source": str(f)})


# --------------------------------------------------------------------------- user .txt
def read_text_file(path: Path) -> str:
    """A user's UTF-8 text file; UserError naming it if it is binary, not UTF-8, or empty."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror or e})") from None
    if b"\x00" in raw[: 1 << 16]:
        raise UserError(f"{path}: a binary file (NUL bytes), not UTF-8 text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})") from None
    if not text.strip():
        raise UserError(f"{path}: an empty text file")
    return text


def load_text_file(path: Path, split: str = "train", seq_len: int = SEQ_LEN, lowercase: bool = True,
                   min_count: int = 1, limit: int = 0) -> Data:
    """A user's ``.txt`` as 32-character windows; the last 10 % of the text is the test split.

    ``data.kwargs``: ``seq_len``, ``lowercase``, ``min_count`` (rarer characters are dropped),
    ``limit`` (at most this many windows, 0: all).
    """
    text = normalize(read_text_file(path), lowercase)
    cut = text.rfind(" ", 0, int(len(text) * (1 - TEST_FRACTION)))
    cut = cut if cut > 0 else int(len(text) * (1 - TEST_FRACTION))
    return text_data(str(path), text[:cut], text[cut:].strip(), split, seq_len, limit, lowercase, min_count,
                     {"source": str(path), "format": "txt"})
