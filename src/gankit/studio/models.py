"""Checkpoints the studio serves: which exist, and what each one can do.

Models are gankit checkpoint directories (safetensors + JSON, read by ``gankit.load``): the one
given with ``--checkpoint`` and every run under ``--runs`` that has a checkpoint. Loaded models
are cached (least recently used dropped); a run that is still training is re-loaded when a
newer checkpoint appears. Each model has a lock: forward passes of one model run one at a time,
which keeps modules with internal state (a StyleGAN's ``w_avg``, a recipe's cached held-out
data) safe across the server's threads.

Features appear only when the checkpoint supports them; :func:`capabilities` says which, and
why not, so the page can show "not available for this checkpoint" instead of failing. The
maths of each page lives in the library (:mod:`gankit.latent`, :mod:`gankit.generate`,
:mod:`gankit.translate`); :mod:`.render` calls it. Paths shown to the page are relative to
the runs root (or the checkpoint's folder), never absolute.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import load
from ..checkpoint import find_checkpoint, unwrap
from ..errors import UserError
from ..generate import num_classes as model_classes
from ..latent import is_style_based as style_based
from ..latent import load_directions
from ..modality import modality
from ..translate import is_translation_model
from . import monitor

MAX_DIRECTIONS = 12  # latent direction sliders shown
DIRECTION_FILES = ("directions.safetensors", "directions.json")


@dataclass
class Loaded:
    """A loaded checkpoint with its lock, its public label and (lazily found) latent directions."""

    id: str
    model: object  # gankit.checkpoint.Model
    label: str = ""  # the checkpoint's path as the page sees it (relative)
    root: Path | None = None  # files beside the checkpoint are read only when they resolve inside
    lock: threading.Lock = field(default_factory=threading.Lock)
    _directions: dict | None = None

    @property
    def G(self):
        return unwrap(self.model.generator)


class ModelStore:
    """The models a studio serves, by id: ``"checkpoint"`` for ``--checkpoint``, else a run name."""

    def __init__(self, checkpoint: str | Path | None = None, runs: str | Path | None = None, cache_size: int = 3):
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.runs = Path(runs) if runs else None
        self.cache_size = cache_size
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, str], Loaded] = OrderedDict()
        self._loading: dict[tuple[str, str], threading.Lock] = {}
        self._paths: tuple[float, dict[str, Path]] | None = None

    def label(self, path: str | Path) -> str:
        """``path`` as the page may see it: relative to the runs root, or to the folder holding
        ``--checkpoint``; only the last part of any other path."""
        p = Path(path).resolve()
        for base in (self.runs, self.checkpoint.resolve().parent if self.checkpoint else None):
            if base is not None:
                try:
                    return p.relative_to(Path(base).resolve()).as_posix() or "."
                except ValueError:
                    pass
        return p.name

    def root(self, model_id: str, ckpt: Path) -> Path:
        """The folder whose files a model may read: the runs root, or for ``--checkpoint`` its
        run (the step folder's run directory, where directions files may also be)."""
        if model_id != "checkpoint" and self.runs is not None:
            return self.runs
        return ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt

    def paths(self) -> dict[str, Path]:
        """Model id -> checkpoint or run directory (runs without a checkpoint yet are left out).

        The runs folder is scanned at most once a second (many requests arrive at once)."""
        now = time.monotonic()
        with self._lock:
            if self._paths is not None and now - self._paths[0] < 1.0:
                return dict(self._paths[1])
        out: dict[str, Path] = {}
        if self.checkpoint is not None:
            out["checkpoint"] = self.checkpoint
        if self.runs is not None:
            for name, run in monitor.find_runs(self.runs).items():
                if monitor.has_checkpoint(run):
                    out[name] = run
        with self._lock:
            self._paths = (now, dict(out))
        return out

    def entries(self) -> list[dict]:
        """``[{id, label, recipe, data}]`` for the page's model picker (from config.yaml only: fast)."""
        out = []
        for mid, p in self.paths().items():
            info = monitor.config_summary(p)
            label = p.resolve().name if mid == "checkpoint" else mid
            out.append({"id": mid, "label": label, "recipe": info.get("recipe"), "data": info.get("data")})
        return out

    def get(self, model_id: str) -> Loaded:
        """The loaded model ``model_id`` (``UserError`` for an unknown id or a broken checkpoint)."""
        paths = self.paths()
        if model_id not in paths:
            if not paths:
                raise UserError("no model: start the studio with --checkpoint C or --runs DIR (with a trained run)")
            raise UserError(f"model: unknown model {model_id[:80]!r}")
        ckpt = find_checkpoint(paths[model_id])
        if self.runs is not None and model_id != "checkpoint" and not monitor.inside(self.runs, ckpt):
            raise UserError(f"model: {model_id[:80]!r} has no checkpoint inside the runs folder")
        key = (model_id, str(ckpt))
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:  # one thread loads a given checkpoint; the others wait for it
            with self._lock:
                hit = self._cache.get(key)
            if hit is None:
                root = self.root(model_id, ckpt)
                if not monitor.contained(root, ckpt):  # e.g. checkpoints/step_N/G -> /elsewhere
                    raise UserError(f"model: {model_id[:80]!r} has files linked outside "
                                    f"{'the runs folder' if model_id != 'checkpoint' else 'its run'}")
                hit = Loaded(model_id, load(ckpt), self.label(ckpt), root=root)
                with self._lock:
                    for old in [k for k in self._cache if k[0] == model_id]:  # an older checkpoint of this run
                        del self._cache[old]
                    self._cache[key] = hit
                    while len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
                    self._loading.pop(key, None)
        return hit


# ------------------------------------------------------------------ capabilities


def num_classes(lm: Loaded) -> int:
    return model_classes(lm.model)


def is_style_based(lm: Loaded) -> bool:
    return style_based(lm.model)


def takes_text(lm: Loaded) -> bool:
    """True for text-to-image models (their recipe declares ``text_conditional``)."""
    return bool(lm.model.recipe.text_conditional)


def capabilities(lm: Loaded) -> dict:
    """What each page can do with this model; ``None`` + a ``why`` text for what it cannot."""
    m = lm.model
    kind = m.meta.get("kind", "images")
    mod = modality(kind)
    translation = is_translation_model(m)
    has_z = hasattr(lm.G, "z_dim") and not translation
    why: dict[str, str] = {}
    gen = None
    if translation:
        why["generate"] = f"{m.config.recipe} is an image-to-image model: use the Translate page"
    elif not (mod.images or mod.points):
        why["generate"] = f"the studio shows images and 2D points; {m.config.recipe} makes {kind} (use gankit sample)"
    else:
        ncls = num_classes(lm)
        gen = {"classes": ncls, "class_names": list(m.meta.get("class_names") or [])[:ncls] if ncls else [],
               "truncation": has_z, "text": takes_text(lm), "points": mod.points}
    explore = None
    if has_z and mod.images and not takes_text(lm):
        dirs = directions(lm)
        style = is_style_based(lm)
        explore = {"interpolate": True, "style": style,
                   "directions": sorted(dirs["vectors"]) if dirs else None,
                   "directions_space": dirs["space"] if dirs else None,
                   "style_mix": {"num_ws": int(lm.G.num_ws)} if style else None,
                   "classes": num_classes(lm)}
        if not dirs:
            why["directions"] = f"no latent directions file ({' or '.join(DIRECTION_FILES)}) beside this checkpoint"
        if not style:
            why["style_mix"] = "style mixing needs a style-based generator (stylegan2)"
    else:
        why["explore"] = ("2D models: see the Generate page" if mod.points else
                          f"{m.config.recipe} has no latent space to explore (it translates inputs)" if translation
                          else f"{m.config.recipe} is conditioned on text: use the Generate page" if takes_text(lm)
                          else f"the studio explores image models; {m.config.recipe} makes {kind}")
    translate = None
    if translation:
        rec = m.recipe
        spec = rec.input_spec("AtoB")
        translate = {"directions": list(getattr(rec, "directions", ("AtoB",))), "domains": list(rec.domains()),
                     "input": spec["kind"], "resolution": int(spec["resolution"]),
                     "num_labels": int(spec.get("num_labels", 0))}
    else:
        why["translate"] = f"{m.config.recipe} is not an image-to-image model (translate needs pix2pix, cyclegan, ...)"
    return {"id": lm.id, "recipe": m.config.recipe, "kind": kind, "shape": list(m.meta.get("shape", [])),
            "data": monitor.public(m.meta.get("name")), "step": m.step, "path": lm.label, "generate": gen, "explore": explore,
            "translate": translate, "why": why}


# ------------------------------------------------------------------ latent directions


def directions(lm: Loaded) -> dict | None:
    """Latent directions saved beside the checkpoint (or in its run directory), or None.

    Read by :func:`gankit.latent.load_directions`: ``directions.safetensors`` (what ``gankit
    directions --out`` writes; a file without space metadata is taken as z) or
    ``directions.json``. Vectors whose length does not fit this generator's space are ignored.
    """
    if lm._directions is not None:
        return lm._directions or None
    found: dict = {}
    ckpt = Path(lm.model.path)
    files = [folder / name for folder in (ckpt, ckpt.parent.parent) for name in DIRECTION_FILES]
    for f in files:  # step dir, then the run dir
        if f.is_file() and (lm.root is None or monitor.inside(lm.root, f)):
            try:
                vecs, meta = load_directions(f, default_space="z")
            except UserError:
                continue  # a broken file means "no directions", not a failed page
            found = {"space": meta["gankit:space"], "vectors": vecs}
            break
    if found:
        style = is_style_based(lm)
        dim = {"z": int(lm.G.z_dim), "w": int(lm.G.w_dim) if style else -1}.get(found["space"], -1)
        vecs = {k: v.float().reshape(-1) for k, v in found["vectors"].items() if v.numel() == dim}
        found = {"space": found["space"], "vectors": dict(sorted(vecs.items())[:MAX_DIRECTIONS])} if vecs else {}
    lm._directions = found
    return found or None


def direction_offset(lm: Loaded, amounts: dict[str, float]) -> tuple[str, torch.Tensor]:
    """``(space, sum_k amounts[k] * d_k)`` for the named directions of this model."""
    dirs = directions(lm)
    if not dirs:
        raise UserError("directions: this checkpoint has no latent directions file")
    unknown = [k for k in amounts if k not in dirs["vectors"]]
    if unknown:
        raise UserError(f"directions: unknown direction {unknown[0][:40]!r}")
    offset = sum((float(a) * dirs["vectors"][k] for k, a in amounts.items()), torch.zeros(()))
    return dirs["space"], offset
