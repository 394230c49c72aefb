"""``gankit data download NAME --out DIR``: fetch MNIST, Fashion-MNIST or CIFAR-10 on request.

Opt-in only: nothing in gankit calls this by itself, and tests never do. Files are streamed
with urllib, checked against the MD5 sums the datasets' publishers give (also the ones
torchvision verifies), and only then moved into place; CIFAR-10's archive is unpacked with
tarfile's ``data`` filter so no member can land outside ``--out``. The result is a folder
``gankit train --data DIR`` reads directly (IDX files or ``cifar-10-batches-py/``).
"""
from __future__ import annotations

import hashlib
import shutil
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import UserError

_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
_FASHION_FILES = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}

# name -> (mirrors tried in order, {file: md5}, archive to unpack or None)
SOURCES = {
    "mnist": (["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
              _MNIST_FILES, None),
    "fashion-mnist": (["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                       "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"],
                      _FASHION_FILES, None),
    "cifar10": (["https://www.cs.toronto.edu/~kriz/"],
                {"cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a"}, "cifar-10-python.tar.gz"),
}


def file_md5(path: Path) -> str:
    """MD5 hex digest of a file (integrity against the published sums, not security)."""
    h = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fetch(urls: list[str], dest: Path, md5: str, timeout: float, log) -> None:
    """Download the first mirror that works into ``dest`` and verify its MD5."""
    errors = []
    for base in urls:
        url = base + dest.name
        part = dest.with_name(dest.name + ".part")
        try:
            log(f"downloading {url}")
            with urllib.request.urlopen(url, timeout=timeout) as r, part.open("wb") as f:
                shutil.copyfileobj(r, f, 1 << 20)
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            part.unlink(missing_ok=True)
            errors.append(f"{url}: {getattr(e, 'reason', e)}")
            continue
        got = file_md5(part)
        if got != md5:
            part.unlink(missing_ok=True)
            errors.append(f"{url}: checksum mismatch (md5 {got}, expected {md5})")
            continue
        part.replace(dest)
        return
    raise UserError(f"download {dest.name} failed: " + "; ".join(errors))


def download(name: str, out: str | Path, timeout: float = 60.0, log=None) -> Path:
    """Fetch dataset ``name`` (mnist, fashion-mnist, cifar10) into ``out``; returns the data path.

    Files already present with the right checksum are not fetched again.
    """
    log = log or (lambda msg: print(f"gankit: {msg}", file=sys.stderr))
    if name not in SOURCES:
        raise UserError(f"data download: unknown dataset {name!r}; choices: {', '.join(SOURCES)}")
    urls, files, archive = SOURCES[name]
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--out {out}: cannot create ({e})") from None
    for fname, md5 in files.items():
        dest = out / fname
        if dest.is_file() and file_md5(dest) == md5:
            log(f"{dest}: present, checksum ok")
            continue
        _fetch(urls, dest, md5, timeout, log)
    if archive is None:
        return out
    target = out / "cifar-10-batches-py"
    if not (target / "test_batch").is_file():
        log(f"unpacking {out / archive}")
        with tarfile.open(out / archive, "r:gz") as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(out, filter="data")  # refuses absolute paths, "..", links outside
            else:  # Python < 3.11.4: check members ourselves
                root = out.resolve()
                for m in tar.getmembers():
                    if not (m.isfile() or m.isdir()) or not (root / m.name).resolve().is_relative_to(root):
                        raise UserError(f"{out / archive}: unsafe archive member {m.name!r}")
                tar.extractall(out)
    return target
