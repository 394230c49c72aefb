"""The studio's API: one function per request, plain dicts in and out (JSON on the wire).

:class:`Studio` holds the server's state (models, runs root, detector, sessions) and has one
method per endpoint. The web layer (:mod:`.app`) validates the shape of every request with
pydantic; the bounds that make sense for the page (``LIMITS``, and those of the selected
model: its classes, its style layers) are checked here, and every mistake is a ``UserError``
whose one-line message the page shows. These methods are what the unit tests call.
Nothing returned names an absolute path on the server.
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import UserError
from . import images, models, monitor, render
from .detector import Detector
from .playground import DATASETS_2D, MAX_PACK, MAX_STEPS, Playground, loss_names
from .sessions import SessionStore

LOCAL = "local"  # the client of calls made from Python (tests, notebooks)

MAX_BATCH = 64
MAX_TEXT = 200
MAX_SEED = 2**31 - 1
MAX_FRAMES = 12
MAX_MIX_SEEDS = 6
LIMITS = {"batch": MAX_BATCH, "steps": MAX_STEPS, "text": MAX_TEXT, "upload_bytes": images.MAX_UPLOAD_BYTES,
          "upload_pixels": images.MAX_UPLOAD_PIXELS, "seed": MAX_SEED, "frames": MAX_FRAMES,
          "mix_seeds": MAX_MIX_SEEDS, "pack": MAX_PACK}


# ------------------------------------------------------------------ parameter parsing


def _show(v) -> str:
    """A value for an error message, at most 40 characters (a 4,000-digit number is not shown whole)."""
    text = str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _not_bool(key: str, v) -> None:
    if isinstance(v, bool):  # a bool is an int to Python: true would be taken as 1
        raise UserError(f"{key}: expected a number, got {str(v).lower()}")


def _int(p: dict, key: str, default: int | None, lo: int, hi: int) -> int | None:
    v = p.get(key, default)
    if v is None or v == "":
        return default
    _not_bool(key, v)
    if isinstance(v, int) and not isinstance(v, bool):
        i = v  # exact: no detour through float, which overflows past 1e308
    else:
        try:
            f = float(v)
            if not math.isfinite(f) or f != int(f):
                raise ValueError
            i = int(f)
        except (TypeError, ValueError, OverflowError):
            raise UserError(f"{key}: expected a whole number, got {_show(v)}") from None
    if not lo <= i <= hi:
        raise UserError(f"{key} must be in {lo}..{hi}, got {_show(i)}")
    return i


def _float(p: dict, key: str, default: float | None, lo: float, hi: float, lo_open: bool = False) -> float | None:
    v = p.get(key, default)
    if v is None or v == "":
        return default
    _not_bool(key, v)
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        raise UserError(f"{key}: expected a number, got {_show(v)}") from None
    if not math.isfinite(f) or f > hi or f < lo or (lo_open and f == lo):
        raise UserError(f"{key} must be in {'(' if lo_open else '['}{lo:g}, {hi:g}], got {f:g}")
    return f


def _choice(p: dict, key: str, default: str, choices) -> str:
    v = str(p.get(key) or default)
    if v not in choices:
        raise UserError(f"{key} must be one of {', '.join(choices)}, got {_show(v)}")
    return v


def _seeds(p: dict, key: str, default: list[int]) -> list[int]:
    v = p.get(key, default)
    if isinstance(v, str):
        v = [s for s in v.replace(" ", ",").split(",") if s]
    if not isinstance(v, list) or not v or len(v) > MAX_MIX_SEEDS:
        raise UserError(f"{key}: give 1..{MAX_MIX_SEEDS} seeds, e.g. 1,2,3")
    return [_int({key: s}, key, None, 0, MAX_SEED) for s in v]


def _truncation(p: dict) -> float | None:
    t = _float(p, "truncation", None, 0.0, 10.0, lo_open=True)
    return None if t is None or t == 1.0 else t


class Studio:
    """Server state and one method per endpoint (see :mod:`gankit.studio.server` for the routes)."""

    def __init__(self, checkpoint: str | Path | None = None, runs: str | Path | None = None,
                 detector: str | Path | None = None):
        if checkpoint is not None:
            from ..checkpoint import find_checkpoint

            find_checkpoint(checkpoint)  # UserError now, not on the first request
        if runs is not None and not Path(runs).is_dir():
            raise UserError(f"--runs {runs}: no such directory")
        self.models = models.ModelStore(checkpoint, runs)
        self.runs_root = Path(runs) if runs is not None else None
        if self.runs_root is None and checkpoint is not None:
            # --checkpoint RUN_DIR: the monitor shows that run
            p = Path(checkpoint)
            self.runs_root = p if monitor.is_run(p) and (p / "metrics.jsonl").exists() else None
        self.detector = Detector(detector)
        self.sessions = SessionStore()
        self.metrics_cache = monitor.MetricsCache()

    def scrub(self, message: str) -> str:
        """``message`` with the server's absolute paths of the runs root and checkpoint replaced
        by their names (an error message must not reveal where files live)."""
        for base in {b for b in (self.runs_root, self.models.checkpoint) if b is not None}:
            for form in sorted({str(base.resolve()), str(base.absolute())}, key=len, reverse=True):
                message = message.replace(form, base.resolve().name)
        return message

    def _root_label(self) -> str | None:
        return self.runs_root.resolve().name if self.runs_root is not None else None

    # ------------------------------------------------------------------ app
    def info(self, p: dict, client: str = LOCAL) -> dict:
        """Start-up data for the page: a session id issued to ``client``, models, limits,
        playground choices (the runs folder by its name only)."""
        entries = self.models.entries()
        return {"version": __version__, "session": self.sessions.issue(client), "models": entries,
                "default_model": entries[0]["id"] if entries else None,
                "runs_root": self._root_label(), "limits": LIMITS,
                "playground": {"datasets": list(DATASETS_2D), "losses": loss_names(), "max_pack": MAX_PACK},
                "detector": {"available": self.detector.available, "status": self.detector.status}}

    def model(self, p: dict) -> dict:
        """What the selected model can do (:func:`models.capabilities`)."""
        return models.capabilities(self._model(p))

    def _model(self, p: dict) -> models.Loaded:
        mid = p.get("model")
        if not mid:
            entries = self.models.entries()
            if not entries:
                raise UserError("no model: start the studio with --checkpoint C or --runs DIR (with a trained run)")
            mid = entries[0]["id"]
        return self.models.get(str(mid))

    # ------------------------------------------------------------------ generate
    def generate(self, p: dict) -> dict:
        """A grid of ``batch`` samples (PNG with provenance chunks), plus points for 2D models."""
        lm = self._model(p)
        cap = models.capabilities(lm)
        if cap["generate"] is None:
            raise UserError(cap["why"]["generate"])
        seed = _int(p, "seed", 0, 0, MAX_SEED)
        n = _int(p, "batch", 16, 1, MAX_BATCH)
        ncls = cap["generate"]["classes"]
        cls = _int(p, "class", None, 0, max(ncls - 1, 0)) if ncls else None
        if not ncls and p.get("class") not in (None, ""):
            raise UserError("class: this model is not class-conditional")
        trunc = _truncation(p)
        text = p.get("text")
        if text is not None:
            text = str(text)
            if len(text) > MAX_TEXT:
                raise UserError(f"text: at most {MAX_TEXT} characters, got {len(text)}")
            if not cap["generate"]["text"]:
                text = None
        x = render.generate(lm, n, seed, cls, trunc, text)
        info = render.provenance(lm, seed=seed, batch=n, **{"class": cls}, truncation=trunc, text=text)
        out = {"n": n, "seed": seed, "filename": f"gankit-{lm.model.config.recipe}-seed{seed}.png"}
        if cap["generate"]["points"]:
            pts = np.nan_to_num(x.reshape(len(x), -1)[:, :2].numpy(), nan=0.0, posinf=1e6, neginf=-1e6)
            means = lm.model.meta.get("info", {}).get("means")
            png = images.scatter_png(pts, info, means, title=f"{n} samples, seed {seed}")
            out["points"] = [round(float(v), 4) for v in pts.reshape(-1)]
        else:
            png = images.grid_png(x, info, target=512)
        out["image"] = images.data_url(png)
        return out

    # ------------------------------------------------------------------ explore
    def _explore(self, p: dict) -> tuple[models.Loaded, dict]:
        lm = self._model(p)
        cap = models.capabilities(lm)
        if cap["explore"] is None:
            raise UserError(cap["why"]["explore"])
        return lm, cap

    def interpolate(self, p: dict) -> dict:
        """The image at ``t`` between seeds ``a`` and ``b`` (lerp/slerp in z) and a strip of frames."""
        lm, cap = self._explore(p)
        a, b = _int(p, "a", 0, 0, MAX_SEED), _int(p, "b", 1, 0, MAX_SEED)
        t = _float(p, "t", 0.5, 0.0, 1.0)
        mode = _choice(p, "mode", "slerp", ("slerp", "lerp"))
        frames = _int(p, "frames", 8, 2, MAX_FRAMES)
        ncls = cap["explore"]["classes"]
        cls = _int(p, "class", 0, 0, max(ncls - 1, 0)) if ncls else None
        trunc = _truncation(p)
        one, strip = render.interpolate(lm, a, b, t, mode, frames, cls, trunc)
        info = render.provenance(lm, seed=f"{a}->{b}", t=round(t, 4), interpolation=mode)
        return {"image": images.data_url(images.grid_png(one, info, target=256)),
                "strip": images.data_url(images.grid_png(strip, info, nrow=frames, target=768)), "t": t}

    def edit(self, p: dict) -> dict:
        """The image of ``seed`` moved along latent directions by ``amounts`` {name: -5..5}."""
        lm, cap = self._explore(p)
        seed = _int(p, "seed", 0, 0, MAX_SEED)
        raw = p.get("amounts") or {}
        if not isinstance(raw, dict) or len(raw) > models.MAX_DIRECTIONS:
            raise UserError("amounts: expected {direction name: number}")
        amounts = {str(k): _float(raw, k, 0.0, -5.0, 5.0) for k in raw}
        ncls = cap["explore"]["classes"]
        cls = _int(p, "class", 0, 0, max(ncls - 1, 0)) if ncls else None
        x = render.edit(lm, seed, amounts, cls, _truncation(p))
        info = render.provenance(lm, seed=seed, edit=", ".join(f"{k}={v:g}" for k, v in amounts.items() if v))
        return {"image": images.data_url(images.grid_png(x, info, target=256))}

    def stylemix(self, p: dict) -> dict:
        """A style-mixing grid: rows take coarse styles (layers < crossover) from ``coarse`` seeds,
        columns the fine styles from ``fine`` seeds."""
        lm, cap = self._explore(p)
        mix = cap["explore"]["style_mix"]
        if mix is None:
            raise UserError(cap["why"]["style_mix"])
        coarse, fine = _seeds(p, "coarse", [1, 2, 3]), _seeds(p, "fine", [4, 5, 6])
        crossover = _int(p, "crossover", min(4, mix["num_ws"]), 0, mix["num_ws"])
        x = render.mix(lm, coarse, fine, crossover, _truncation(p))
        info = render.provenance(lm, seed=f"coarse {coarse}, fine {fine}", crossover=crossover)
        return {"image": images.data_url(images.grid_png(x, info, nrow=len(fine) + 1, target=640))}

    # ------------------------------------------------------------------ translate
    def translate(self, p: dict, body: bytes) -> dict:
        """Translate an uploaded image (``body``): input | output pictures."""
        lm = self._model(p)
        cap = models.capabilities(lm)
        if cap["translate"] is None:
            raise UserError(cap["why"]["translate"])
        direction = _choice(p, "direction", cap["translate"]["directions"][0], cap["translate"]["directions"])
        ndom = len(cap["translate"]["domains"])
        domain = _int(p, "domain", 0, 0, ndom - 1) if ndom else None
        seed = _int(p, "seed", 0, 0, MAX_SEED)
        with tempfile.TemporaryDirectory(prefix="gankit-studio-") as tmp:
            path = images.upload_to_file(body, tmp)
            try:
                pic, y = render.translate_file(lm, path, direction, domain, seed)
            except UserError as e:  # the reader names the file: call it "upload", not its temp path
                raise UserError(str(e).replace(path, "upload")) from None
        info = render.provenance(lm, direction=direction, domain=domain, seed=seed)
        return {"input": images.data_url(images.grid_png(pic, None, target=320)),
                "output": images.data_url(images.grid_png(y, info, target=320)),
                "filename": f"gankit-{lm.model.config.recipe}-translated.png"}

    # ------------------------------------------------------------------ detect
    def detect(self, p: dict, body: bytes) -> dict:
        """The detector's probability that an uploaded image is generated."""
        im = images.decode_upload(body)  # bad uploads are reported even without a detector
        if not self.detector.available:
            raise UserError(self.detector.status)
        prob = self.detector.score(im)
        return {"generated": prob, "verdict": "generated" if prob >= self.detector.threshold else "real",
                "threshold": self.detector.threshold, "size": list(im.size)}

    # ------------------------------------------------------------------ monitor
    def _runs(self) -> dict[str, Path]:
        return monitor.find_runs(self.runs_root) if self.runs_root is not None else {}

    def runs(self, p: dict) -> dict:
        """The runs under ``--runs`` (newest first)."""
        runs = self._runs()
        rows = [monitor.run_summary(n, r, self.metrics_cache) for n, r in runs.items()]
        rows.sort(key=lambda r: -(r["updated"] or 0))
        return {"root": self._root_label(), "runs": rows}

    def _run(self, p: dict) -> tuple[str, Path]:
        name = str(p.get("name") or "")
        runs = self._runs()
        if name not in runs:
            raise UserError(f"run: unknown run {name[:80]!r}" if runs else
                            "run: no runs (start the studio with --runs DIR)")
        return name, runs[name]

    def run(self, p: dict) -> dict:
        """One run's curves, last values and newest-sample time (the page polls this)."""
        name, path = self._run(p)
        return monitor.run_detail(name, path, self.metrics_cache)

    def run_sample(self, p: dict) -> bytes:
        """The run's ``samples/latest.png`` bytes."""
        _, path = self._run(p)
        data = monitor.sample_file(path).read_bytes()
        # its text chunks were written by training (gankit:run = the run's absolute folder)
        return images.png_text_map(data, lambda key, value: self._public(value))

    def _public(self, value: str) -> str:
        """An absolute path as the page may see it: relative to the runs root, else its last part."""
        return self.models.label(value) if value != monitor.public(value) else value

    def compare(self, p: dict) -> dict:
        """Last value of each metric for runs ``names`` (comma list; default: all)."""
        runs = self._runs()
        names = p.get("names") or list(runs)
        if isinstance(names, str):
            names = [n for n in names.split(",") if n]
        return monitor.compare(runs, [str(n) for n in names][: monitor.MAX_RUNS], self.metrics_cache)

    # ------------------------------------------------------------------ 2D playground
    def playground_new(self, p: dict, sid: str | None, client: str = LOCAL) -> dict:
        """Start (or restart) this session's 2D playground; returns its first state.

        ``sid`` must be an id :meth:`info` issued to ``client``."""
        session = self.sessions.open(sid, client)
        pg = Playground(dataset=_choice(p, "dataset", "ring8", DATASETS_2D),
                        loss=_choice(p, "loss", "nonsaturating", loss_names()),
                        pack=_int(p, "pack", 1, 1, MAX_PACK), gp=_float(p, "gp", 0.0, 0.0, 100.0),
                        lr=_float(p, "lr", 1e-3, 0.0, 0.1, lo_open=True), seed=_int(p, "seed", 0, 0, MAX_SEED))
        with session.lock:
            session.data["playground"] = pg
            return pg.state()

    def playground_step(self, p: dict, sid: str | None, client: str = LOCAL) -> dict:
        """Advance this session's playground ``steps`` (1..500) steps; returns the new state."""
        session = self.sessions.get(sid, client)
        steps = _int(p, "steps", 10, 1, MAX_STEPS)
        if session is None:
            raise UserError("playground: press Reset to start one first")
        with session.lock:
            pg = session.data.get("playground")
            if pg is None:
                raise UserError("playground: press Reset to start one first")
            return pg.step(steps)
