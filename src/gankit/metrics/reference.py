"""Features of real data, cached on disk, and of generated samples, computed in batches.

Reference features of a dataset split are cached per (dataset, split, resolution, extractor)
under ``$GANKIT_CACHE`` (default ``~/.cache/gankit``) in ``reference/``, as safetensors. The
file name ends with a content hash of the real pixels and the extractor's weights, so a
changed dataset or extractor never reuses stale statistics. Features are computed a batch at a
time: memory holds the features (N x F floats), never a second copy of the images.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..data.base import Data
from .extractor_base import cache_dir
from .extractors import Extractor
from .fid import feature_stats

FEATURES_VERSION = "1"  # bump when preprocessing changes: invalidates every cached file


@dataclass
class FeatureSet:
    """Features [N, F] (float64) and, from a classifier, probabilities [N, C, K]."""

    features: np.ndarray
    probs: np.ndarray | None = None
    _stats: tuple | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.features)

    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, covariance) for FID, computed once."""
        if self._stats is None:
            self._stats = feature_stats(self.features)
        return self._stats

    def head(self, n: int) -> FeatureSet:
        return FeatureSet(self.features[:n], None if self.probs is None else self.probs[:n])


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Generated images [-1, 1] -> uint8 -> [-1, 1], exactly as if saved as PNG and reloaded,
    so generated and real images reach the extractor through identical preprocessing."""
    return ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().div_(127.5).sub_(1.0)


def extract(extractor: Extractor, batches) -> FeatureSet:
    """Run ``extractor`` over an iterable of batches ([B, C, H, W] in [-1, 1], or points)."""
    feats, probs = [], []
    for x in batches:
        f, p = extractor.extract(x)
        feats.append(f.detach().double().cpu().numpy())
        if p is not None:
            probs.append(p.detach().float().cpu().numpy())
    return FeatureSet(np.concatenate(feats), np.concatenate(probs) if probs else None)


def data_batches(data: Data, batch_size: int, n: int | None = None):
    """Examples of ``data`` as the nets see them, ``batch_size`` at a time."""
    n = len(data) if n is None else min(n, len(data))
    for s in range(0, n, batch_size):
        yield data.to_float(data.x[s:min(s + batch_size, n)])


def content_key(data: Data, extractor: Extractor) -> str:
    h = hashlib.sha256(f"{FEATURES_VERSION}|{extractor.fingerprint()}|{data.kind}|{tuple(data.x.shape)}|"
                       f"{data.x.dtype}".encode())
    for i in range(0, len(data.x), 4096):  # a chunk at a time: a memory-mapped dataset is never copied whole
        h.update(data.x[i : i + 4096].contiguous().numpy().tobytes())
    return h.hexdigest()


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in str(text).strip("/").split("/")[-1])[:40] or "data"


def reference_features(data: Data, extractor: Extractor, split: str, use_cache: bool = True) -> FeatureSet:
    """Features of every example of ``data`` (one split of a dataset), from the cache if there."""
    if extractor.points or not use_cache:  # coordinates: nothing worth caching
        return extract(extractor, data_batches(data, extractor.batch_size))
    res = data.x.shape[-1]
    key = content_key(data, extractor)
    path = cache_dir() / "reference" / f"{_slug(data.name)}-{split}-{res}px-{extractor.name}-{key[:20]}.safetensors"
    if path.is_file():
        from safetensors.numpy import load_file

        try:
            t = load_file(str(path))
            fs = FeatureSet(t["features"], t.get("probs"))
            fs._stats = (t["mu"], t["sigma"])
            return fs
        except Exception as e:  # noqa: BLE001  (a torn or foreign file: recompute and overwrite)
            print(f"gankit: warning: unreadable cache file {path} ({type(e).__name__}); recomputing",
                  file=sys.stderr)
    fs = extract(extractor, data_batches(data, extractor.batch_size))
    _save(path, fs, {"dataset": str(data.name), "split": split, "resolution": str(res),
                     "extractor": extractor.name, "key": key})
    return fs


def _save(path: Path, fs: FeatureSet, meta: dict) -> None:
    from safetensors.numpy import save_file

    mu, sigma = fs.stats()
    tensors = {"features": np.ascontiguousarray(fs.features), "mu": mu, "sigma": np.ascontiguousarray(sigma)}
    if fs.probs is not None:
        tensors["probs"] = np.ascontiguousarray(fs.probs)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".safetensors", dir=path.parent)
        os.close(fd)
        save_file(tensors, tmp, metadata=meta)
        os.replace(tmp, path)  # atomic: concurrent evaluations never read half a file
    except OSError as e:
        print(f"gankit: warning: cannot cache reference features in {path.parent} ({e}); "
              f"set GANKIT_CACHE to a writable directory", file=sys.stderr)


def generated_features(sampler: Callable, n: int, extractor: Extractor, seed: int = 0,
                       num_classes: int = 0, keep: int = 0, chunk: int = 500):
    """Sample ``n`` outputs in chunks and extract their features.

    ``sampler(m, seed, y) -> tensor`` is a generator's sampling function (``Model.sample`` or
    ``recipe.sample(G, ...)``). Conditional generators (``num_classes > 0``) are asked for the
    classes 0, 1, ..., K-1, 0, 1, ... in turn. Chunk ``i`` uses seed ``seed * 100_003 + i``, as
    ``gankit sample`` does. Returns ``(FeatureSet, asked labels [n] or None, the first ``keep``
    outputs)``; images are quantised to 8 bits first (:func:`quantize`).
    """
    labels = (np.arange(n) % num_classes) if num_classes else None
    kept: list[torch.Tensor] = []

    def batches():
        for i, s in enumerate(range(0, n, chunk)):
            m = min(chunk, n - s)
            y = torch.from_numpy(labels[s:s + m]).long() if labels is not None else None
            x = sampler(m, seed * 100_003 + i, y)
            x = x.detach().float().cpu() if extractor.points else quantize(x)
            if sum(len(k) for k in kept) < keep:
                kept.append(x[:keep - sum(len(k) for k in kept)].clone())
            for b in range(0, m, extractor.batch_size):
                yield x[b:b + extractor.batch_size]

    fs = extract(extractor, batches())
    return fs, labels, (torch.cat(kept) if kept else None)
