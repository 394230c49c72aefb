"""Checkpoints the studio serves: which exist, what each can do, and the math of each page.

Models are gankit checkpoint directories (safetensors + JSON, read by ``gankit.load``): the one
given with ``--checkpoint`` and every run under ``--runs`` that has a checkpoint. Loaded models
are cached (least recently used dropped); a run that is still training is re-loaded when a
newer checkpoint appears. Each model has a lock: forward passes of one model run one at a time,
which keeps modules with internal state (BatchNorm in eval mode is fine, but a StyleGAN's
``w_avg`` or a recipe's cached held-out data are shared) safe across the server's threads.

Features appear only when the checkpoint (and the installed gankit) supports them;
:func:`capabilities` says which, and why not, so the page can show "not available for this
checkpoint" instead of failing.
"""
from __future__ import annotations

import importlib
import inspect
import json
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError

MAX_DIRECTIONS = 12  # latent direction sliders shown
DIRECTION_FILES = ("directions.safetensors", "directions.json")


@dataclass
class Loaded:
    """A loaded checkpoint with its lock and (lazily found) latent directions."""

    id: str
    model: object  # gankit.checkpoint.Model
    lock: threading.Lock = field(default_factory=threading.Lock)
    _directions: dict | None = None

    @property
    def G(self):
        from ..checkpoint import unwrap

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

    def paths(self) -> dict[str, Path]:
        """Model id -> checkpoint or run directory (runs without a checkpoint yet are left out).

        The runs folder is scanned at most once a second (many requests arrive at once)."""
        from .monitor import find_runs

        now = time.monotonic()
        with self._lock:
            if self._paths is not None and now - self._paths[0] < 1.0:
                return dict(self._paths[1])
        out: dict[str, Path] = {}
        if self.checkpoint is not None:
            out["checkpoint"] = self.checkpoint
        if self.runs is not None:
            for name, run in find_runs(self.runs).items():
                if (run / "checkpoints").is_dir() and any((run / "checkpoints").glob("step_*")):
                    out[name] = run
        with self._lock:
            self._paths = (now, dict(out))
        return out

    def entries(self) -> list[dict]:
        """``[{id, label, recipe, data}]`` for the page's model picker (from config.yaml only: fast)."""
        from .monitor import _config_summary

        out = []
        for mid, p in self.paths().items():
            info = _config_summary(p)
            label = p.name if mid == "checkpoint" else mid
            out.append({"id": mid, "label": label if label != "." else p.resolve().name, "recipe": info.get("recipe"),
                        "data": info.get("data")})
        return out

    def get(self, model_id: str) -> Loaded:
        """The loaded model ``model_id`` (``UserError`` for an unknown id or a broken checkpoint)."""
        from .. import load
        from ..checkpoint import find_checkpoint

        paths = self.paths()
        if model_id not in paths:
            if not paths:
                raise UserError("no model: start the studio with --checkpoint C or --runs DIR (with a trained run)")
            raise UserError(f"model: unknown model {model_id!r}")
        ckpt = find_checkpoint(paths[model_id])
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
                hit = Loaded(model_id, load(ckpt))
                with self._lock:
                    for old in [k for k in self._cache if k[0] == model_id]:  # an older checkpoint of this run
                        del self._cache[old]
                    self._cache[key] = hit
                    while len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
                    self._loading.pop(key, None)
        return hit


# ------------------------------------------------------------------ capabilities


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def is_translation(lm: Loaded) -> bool:
    tr = _optional("gankit.translate")
    return bool(tr is not None and hasattr(tr, "is_translation_model") and tr.is_translation_model(lm.model))


def num_classes(lm: Loaded) -> int:
    return int(lm.model.meta.get("num_classes", 0)) if getattr(lm.G, "num_classes", 0) else 0


def is_style_based(lm: Loaded) -> bool:
    from ..nets.stylegan2 import is_style_based as style_net

    return style_net(lm.G)


def style_mix_fn():
    """gankit's style-mixing function when this gankit has one (``gankit.nets.stylegan2.style_mix``)."""
    mod = _optional("gankit.nets.stylegan2")
    return getattr(mod, "style_mix", None) if mod is not None else None


def takes_text(lm: Loaded) -> bool:
    """True for text-to-image models: their recipe's ``sample`` takes ``text``."""
    try:
        return "text" in inspect.signature(lm.model.recipe.sample).parameters
    except (TypeError, ValueError):
        return False


def capabilities(lm: Loaded) -> dict:
    """What each page can do with this model; ``None`` + a ``why`` text for what it cannot."""
    m = lm.model
    kind = m.meta.get("kind", "images")
    translation = is_translation(lm)
    has_z = hasattr(lm.G, "z_dim") and not translation
    why: dict[str, str] = {}
    gen = None
    if translation:
        why["generate"] = f"{m.config.recipe} is an image-to-image model: use the Translate page"
    elif kind not in ("images", "points"):
        why["generate"] = f"the studio shows images and 2D points; {m.config.recipe} makes {kind} (use gankit sample)"
    else:
        ncls = num_classes(lm)
        gen = {"classes": ncls, "class_names": list(m.meta.get("class_names") or [])[:ncls] if ncls else [],
               "truncation": has_z, "text": takes_text(lm), "points": kind == "points"}
    explore = None
    if has_z and kind == "images":
        dirs = directions(lm)
        mix = style_mix_fn() if is_style_based(lm) else None
        explore = {"interpolate": True, "style": is_style_based(lm),
                   "directions": sorted(dirs["vectors"]) if dirs else None,
                   "directions_space": dirs["space"] if dirs else None,
                   "style_mix": {"num_ws": int(lm.G.num_ws)} if mix is not None else None,
                   "classes": num_classes(lm)}
        if not dirs:
            why["directions"] = f"no latent directions file ({' or '.join(DIRECTION_FILES)}) beside this checkpoint"
        if mix is None:
            why["style_mix"] = "style mixing needs a style-based generator (stylegan2)"
    else:
        why["explore"] = ("2D models: see the Generate page" if kind == "points" else
                          f"{m.config.recipe} has no latent space to explore (it translates inputs)" if translation
                          else f"the studio explores image models; {m.config.recipe} makes {kind}")
    translate = None
    if translation:
        rec = m.recipe
        spec = rec.input_spec("AtoB")
        translate = {"directions": list(getattr(rec, "directions", ("AtoB",))), "domains": list(rec.domains()),
                     "input": spec["kind"], "resolution": int(spec["resolution"]),
                     "num_labels": int(spec.get("num_labels", 0))}
    elif _optional("gankit.translate") is None:
        why["translate"] = "this gankit has no translation module yet"
    else:
        why["translate"] = f"{m.config.recipe} is not an image-to-image model (translate needs pix2pix, cyclegan, ...)"
    return {"id": lm.id, "recipe": m.config.recipe, "kind": kind, "shape": list(m.meta.get("shape", [])),
            "data": m.meta.get("name"), "step": m.step, "path": str(m.path), "generate": gen, "explore": explore,
            "translate": translate, "why": why}


# ------------------------------------------------------------------ generate


def provenance(lm: Loaded, seed=None, **extra) -> dict:
    """PNG text chunks of a generated picture: what made it (recipe, checkpoint and, where
    gankit computes it, the weights' sha256), the seed, and that it is synthetic."""
    from .. import generate as gen

    info = dict(gen.provenance(lm.model, seed))  # the chunks `gankit sample` writes
    info.update({f"gankit:{k}": v for k, v in extra.items() if v is not None})
    info["synthetic"] = "true"
    info["Software"] = "gankit studio (generated image)"
    return info


def generate(lm: Loaded, n: int, seed: int, class_: int | None = None, truncation: float | None = None,
             text: str | None = None) -> torch.Tensor:
    """``n`` samples (the same as ``gankit sample --seed``), or for text models of ``text``."""
    from .. import generate as gen

    if text is not None and takes_text(lm):
        ncls = num_classes(lm)
        y = torch.full((n,), class_) if (ncls and class_ is not None) else None
        with lm.lock, torch.no_grad():
            return lm.model.sample(n, seed=seed, y=y, truncation=truncation, text=[text] * n).float().cpu()
    with lm.lock:
        return gen.sample(lm.model, n, seed, class_, truncation)


# ------------------------------------------------------------------ explore


def seed_z(lm: Loaded, seed: int) -> torch.Tensor:
    """The z of a seed, ``[1, z_dim]``: the first z that ``model.sample(n, seed)`` draws."""
    return torch.randn(1, lm.G.z_dim, generator=torch.Generator().manual_seed(int(seed)))


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; for GAN latents White 2016, "Sampling Generative
    Networks"): keeps |z| typical of a Gaussian, where lerp's midpoints are too short."""
    an, bn = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((an * bn).sum(-1, keepdim=True).clamp(-1, 1))
    so = torch.sin(omega)
    if float(so.abs().min()) < 1e-6:  # (anti)parallel: lerp is the same curve
        return torch.lerp(a, b, t)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def _ws(lm: Loaded, z: torch.Tensor, truncation: float | None) -> torch.Tensor:
    return lm.G.mapping(z, truncation)  # [N, num_ws, w_dim]


def render(lm: Loaded, z: torch.Tensor, class_: int | None = None, truncation: float | None = None,
           w_offset: torch.Tensor | None = None) -> torch.Tensor:
    """Images of latents ``z [N, z_dim]``. Style-based G: z -> w (truncated towards the mean w
    by ``truncation``), ``w_offset [w_dim]`` added, constant noise (a seed is always the same
    image). Conditional G: all of class ``class_`` (default 0)."""
    G = lm.G
    with lm.lock, torch.no_grad():
        if is_style_based(lm):
            ws = _ws(lm, z, truncation)
            if w_offset is not None:
                ws = ws + w_offset.to(ws)
            return G.synthesis(ws, noise_mode="const").float().cpu()
        ncls = num_classes(lm)
        y = torch.full((len(z),), int(class_ or 0)) if ncls else None
        return G(z, y).float().cpu() if ncls else G(z).float().cpu()


def interpolate(lm: Loaded, seed_a: int, seed_b: int, t: float, mode: str = "slerp", frames: int = 8,
                class_: int | None = None, truncation: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The image at ``t`` in [0, 1] between two seeds' z, and a strip of ``frames`` evenly spaced ones."""
    if mode not in ("lerp", "slerp"):
        raise UserError(f"mode must be lerp or slerp, got {mode!r}")
    za, zb = seed_z(lm, seed_a), seed_z(lm, seed_b)
    f = slerp if mode == "slerp" else torch.lerp
    ts = [i / (frames - 1) for i in range(frames)] + [t]
    z = torch.cat([f(za, zb, s) for s in ts])  # [frames + 1, z_dim]
    x = render(lm, z, class_, truncation)
    return x[-1:], x[:-1]


def directions(lm: Loaded) -> dict | None:
    """Latent directions saved beside the checkpoint (or in its run directory), or None.

    ``directions.safetensors`` (what ``gankit directions --out`` writes): one float vector per
    name, ``[z_dim]`` (or ``[w_dim]`` when the file's metadata says ``{"space": "w"}`` or
    ``{"gankit:space": "w"}``). ``directions.json``: ``{"space": "z" | "w",
    "directions": {name: [floats]}}``. Vectors of the wrong length are ignored.
    """
    if lm._directions is not None:
        return lm._directions or None
    found: dict = {}
    ckpt = Path(lm.model.path)
    for folder in (ckpt, ckpt.parent.parent):  # step dir, then the run dir
        for name in DIRECTION_FILES:
            f = folder / name
            if f.is_file() and not found:
                found = _read_directions(f)
    if found:
        dim = int(lm.G.mapping.w_avg.numel()) if found["space"] == "w" and is_style_based(lm) \
            else int(lm.G.z_dim) if found["space"] == "z" else -1
        vecs = {k: v for k, v in found["vectors"].items() if v.numel() == dim}
        found = {"space": found["space"], "vectors": dict(sorted(vecs.items())[:MAX_DIRECTIONS])} if vecs else {}
    lm._directions = found
    return found or None


def _read_directions(f: Path) -> dict:
    try:
        if f.suffix == ".json":
            raw = json.loads(f.read_text())
            space = raw.get("space", "z")
            vecs = {str(k): torch.tensor(v, dtype=torch.float32).reshape(-1) for k, v in raw["directions"].items()}
        else:
            from safetensors import safe_open

            with safe_open(str(f), framework="pt") as fh:
                meta = fh.metadata() or {}
                space = meta.get("space") or meta.get("gankit:space", "z")  # `gankit directions` writes gankit:space
                vecs = {k: fh.get_tensor(k).float().reshape(-1) for k in fh.keys()}  # noqa: SIM118 (not a dict)
    except Exception:  # noqa: BLE001 - a broken file means "no directions", not a failed page
        return {}
    return {"space": space, "vectors": vecs} if space in ("z", "w") else {}


def edit(lm: Loaded, seed: int, amounts: dict[str, float], class_: int | None = None,
         truncation: float | None = None) -> torch.Tensor:
    """The image of ``seed`` moved along latent directions: ``z + sum_k amounts[k] * d_k``."""
    dirs = directions(lm)
    if not dirs:
        raise UserError("directions: this checkpoint has no latent directions file")
    unknown = [k for k in amounts if k not in dirs["vectors"]]
    if unknown:
        raise UserError(f"directions: unknown direction {unknown[0]!r}")
    offset = sum((float(a) * dirs["vectors"][k] for k, a in amounts.items()), torch.zeros(()))
    z = seed_z(lm, seed)
    if dirs["space"] == "w":
        return render(lm, z, class_, truncation, w_offset=offset)
    return render(lm, z + offset, class_, truncation)


def mix(lm: Loaded, coarse: list[int], fine: list[int], crossover: int, truncation: float | None = None) -> torch.Tensor:
    """A style-mixing grid ``[len(coarse) + 1, len(fine) + 1]`` flattened, with the plain images
    as the top row (fine sources) and left column (coarse sources), the corner blank."""
    fn = style_mix_fn()
    if fn is None or not is_style_based(lm):
        raise UserError("style mixing: this checkpoint has no style-based generator")
    G = lm.G
    with lm.lock, torch.no_grad():
        grid = fn(G, coarse, fine, crossover, truncation=truncation).float().cpu()  # [A, B, C, R, R]
        plain_c = G.synthesis(_ws(lm, torch.cat([seed_z(lm, s) for s in coarse]), truncation), noise_mode="const")
        plain_f = G.synthesis(_ws(lm, torch.cat([seed_z(lm, s) for s in fine]), truncation), noise_mode="const")
    a = grid.shape[0]
    blank = torch.full_like(grid[0, :1], 96 / 127.5 - 1)  # the corner: the grid's gutter grey
    rows = [torch.cat([blank, plain_f.float().cpu()])]
    for i in range(a):
        rows.append(torch.cat([plain_c[i:i + 1].float().cpu(), grid[i]]))
    return torch.cat(rows)  # [(A + 1) * (B + 1), C, R, R]


# ------------------------------------------------------------------ translate


def translate_file(lm: Loaded, path: str, direction: str = "AtoB", domain: int | None = None,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(input as a picture, output) of a translation model on one image file ``[1, C, R, R]`` each."""
    from .. import translate as tr

    if not is_translation(lm):
        raise UserError(f"translate: {lm.model.config.recipe} is not an image-to-image model")
    rec = lm.model.recipe
    rec.translator(lm.model.nets, direction)  # UserError for a direction the model cannot do
    domains = rec.domains()
    if domains:
        domain = 0 if domain is None else domain
        if not 0 <= domain < len(domains):
            raise UserError(f"domain must be in 0..{len(domains) - 1}, got {domain}")
    else:
        domain = None
    x = tr.read_input(Path(path), rec.input_spec(direction))
    with lm.lock:
        y = tr.translate(lm.model, x, direction, domain, seed)
        pic = rec.picture(x, direction).float().cpu()
    return pic, y


# ------------------------------------------------------------------ detect


class Detector:
    """The real-vs-generated detector (``gankit.detect``), when the studio was given one.

    Uses ``gankit.detect.detector.load_detector`` (a detector folder: config.json +
    safetensors) and scores an image as ``gankit detect`` does (centre square crop, resized
    to the detector's resolution). When this gankit has no detector module, or no
    ``--detector`` was given, :attr:`status` says why and the page shows it.
    """

    def __init__(self, path: str | Path | None = None):
        self.path, self.det, self.lock = path, None, threading.Lock()
        mod, imgs = _optional("gankit.detect.detector"), _optional("gankit.detect.images")
        run = _optional("gankit.detect.run")
        self.threshold = float(getattr(run, "THRESHOLD", 0.5))
        if mod is None or imgs is None or not hasattr(mod, "load_detector") or not hasattr(imgs, "to_batch"):
            self.status = "no detector loaded: this gankit has no detector yet (gankit detect)"
        elif path is None:
            self.status = ("no detector loaded: start the studio with --detector DIR "
                           "(train one with `gankit detect train --real DATA --fake CHECKPOINT --out DIR`)")
        else:
            self.det, self._to_batch = mod.load_detector(path, flag="--detector"), imgs.to_batch
            self.status = f"detector: {path}"

    @property
    def available(self) -> bool:
        return self.det is not None

    def score(self, image) -> float:
        """Probability that ``image`` (a decoded PIL image) is generated, in [0, 1]."""
        from ..data.transforms import image_array

        if self.det is None:
            raise UserError(self.status)
        arr = np.array(image_array(image))  # a writable copy, [H, W] or [H, W, C]
        arr = arr[..., None] if arr.ndim == 2 else arr  # [H, W, C]
        with self.lock:
            p = float(self.det.score(self._to_batch([arr], self.det.channels, self.det.resolution))[0])
        if not math.isfinite(p):
            raise UserError("detector: returned a non-finite score")
        return p
