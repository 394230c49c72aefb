"""The lectures' interactive demos in the studio: paint a scene, "real or fake?" (and listen:
a music checkpoint's samples, :mod:`.listen`).

**Paint a scene** (GauGAN: Park et al. 2019, "Semantic image synthesis with spatially-adaptive
normalization"; pix2pix's edges -> photo: Isola et al. 2017). The page keeps a *grid* of palette
indices, one per model input pixel (``min(resolution, MAX_GRID)`` on a side), so what the
visitor paints is exactly what the model sees; it sends the grid as JSON, a list of rows of
integers. A label-map model (spade: ``input_spec`` kind ``labels``) gets the indices as class
ids; a one-channel image model (pix2pix on ``edges2photo``: dark strokes on white) gets index
0 as white paper and 1 as black ink. Any other input (colour photos, inpainting masks,
low-resolution images) has no paint demo: the Translate page takes those.

**Real or fake?** (HYPE, Zhou et al. 2019, "HYPE: a benchmark for human eye perceptual
evaluation of generative models", the HYPE-infinity task). A quiz is ``n`` images, half drawn
from the model's held-out data (its test split, or the training split when there is none),
half sampled from the model, shuffled with the operating system's randomness. The page gets
only the pictures, encoded identically (same size, same PNG encoder, no text chunks), and an
unguessable quiz id; which item was real stays on the server until the visitor has answered
every item, and :func:`score` is the whole scoring. Nothing about the visitor is stored (no
address, no session): a quiz is its id, its truth and its model, and expires after
``QUIZ_TTL`` seconds.
"""
from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from .. import __version__
from .. import generate as gen
from .. import translate as tr
from ..errors import UserError
from ..modality import modality
from . import images, models, render
from .api import MAX_SEED, _int
from .listen import listen, listen_spec, listen_wav
from .monitor import NotFound
from .sessions import SessionsFull

MAX_GRID = 128  # the painting's side at most (a 256 px model gets a 128 grid, doubled)
QUIZ_DEFAULT, QUIZ_MIN, QUIZ_MAX = 20, 4, 40  # images per quiz (even: half real, half fake)
QUIZ_TTL = 2 * 3600.0  # seconds a quiz waits for its answers
MAX_QUIZZES = 512  # quizzes kept at once (each is a few hundred bytes of truth)
QUIZ_IMAGE_PX = 256  # the side the quiz pictures are shown at (nearest-neighbour upscaling)
Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile: two-sided 95 %
STROKES = [{"id": 0, "name": "paper (white)", "color": "#ffffff", "value": 255},
           {"id": 1, "name": "ink (black)", "color": "#000000", "value": 0}]


# ------------------------------------------------------------------ paint a scene


def _hex(rgb: torch.Tensor) -> str:
    """A colour in [-1, 1] (3 channels, or 1 for gray) as ``#rrggbb``."""
    v = ((rgb.float().clamp(-1, 1) + 1) * 127.5).round().int().tolist()
    v = v * 3 if len(v) == 1 else v
    return "#" + "".join(f"{c:02x}" for c in v[:3])


def paint_spec(lm: models.Loaded) -> tuple[dict | None, str | None]:
    """What the paint demo needs for this model, or ``(None, why not)``.

    ``{"mode": "labels" | "strokes", "grid": side of the painting, "resolution": the model's
    input side, "palette": [{"id", "name", "color"}], "eraser": the palette id of the background}``.
    Label colours are the recipe's own picture of each class id (what the Translate page and the
    training previews show), so a painting looks like the model's input pictures.
    """
    m = lm.model
    if not tr.is_translation_model(m):
        return None, f"{m.config.recipe} samples from noise: painting needs a spade (label map) or an edges model"
    spec = m.recipe.input_spec("AtoB")
    res = int(spec["resolution"])
    grid = min(res, MAX_GRID)
    if spec["kind"] == "labels":
        k = int(spec["num_labels"])
        names = list(spec.get("label_names") or [])
        colours = m.recipe.picture(torch.arange(k).view(1, 1, k), "AtoB")[0, :, 0]  # [C, K]
        palette = [{"id": i, "name": names[i] if i < len(names) else f"class {i}", "color": _hex(colours[:, i])}
                   for i in range(k)]
        return {"mode": "labels", "grid": grid, "resolution": res, "palette": palette, "eraser": 0}, None
    if spec["kind"] == "image" and int(spec["channels"]) == 1:
        palette = [{k: v for k, v in s.items() if k != "value"} for s in STROKES]
        return {"mode": "strokes", "grid": grid, "resolution": res, "palette": palette, "eraser": 0}, None
    return None, (f"{m.config.recipe} on {m.meta.get('name')} takes {spec['channels']}-channel "
                  f"{spec['kind']} inputs: upload one on the Translate page (painting needs label maps or edges)")


def read_grid(raw, side: int, colours: int) -> torch.Tensor:
    """The painted grid (a list of ``side`` rows of ``side`` palette ids in ``0..colours-1``)
    as int64 ``[side, side]``; ``UserError`` naming the first thing that is wrong."""
    if not isinstance(raw, list) or len(raw) != side:
        got = len(raw) if isinstance(raw, list) else type(raw).__name__
        raise UserError(f"labels: expected {side} rows of {side} palette ids, got {got} rows")
    for i, row in enumerate(raw):
        if not isinstance(row, list) or len(row) != side:
            got = f"{len(row)}" if isinstance(row, list) else type(row).__name__
            raise UserError(f"labels: row {i} must hold {side} palette ids, got {got}")
        bad = [v for v in row if type(v) is not int or not 0 <= v < colours][:1]  # bool is not int here
        if bad:
            raise UserError(f"labels: row {i}: palette ids are whole numbers in 0..{colours - 1}, got {bad[0]!r}"[:200])
    return torch.tensor(raw, dtype=torch.int64)


def paint(lm: models.Loaded, p: dict) -> dict:
    """The model's output for a painted grid ``p["labels"]`` (noise seed ``p["seed"]``):
    ``{"input": the model's input picture, "output": its output, "filename"}`` as PNG data URLs."""
    spec, why = paint_spec(lm)
    if spec is None:
        raise UserError(f"paint: {why}")
    seed = _int(p, "seed", 0, 0, MAX_SEED)
    grid = read_grid(p.get("labels"), spec["grid"], len(spec["palette"]))  # [g, g]
    res = spec["resolution"]
    if spec["mode"] == "labels":
        x = grid[None]  # [1, g, g] class ids
        if spec["grid"] != res:
            x = F.interpolate(x[None].float(), size=(res, res), mode="nearest")[0].long()
    else:
        values = torch.tensor([s["value"] for s in STROKES], dtype=torch.float32)
        x = (values[grid] / 127.5 - 1.0)[None, None]  # [1, 1, g, g] in [-1, 1]
        if spec["grid"] != res:
            x = F.interpolate(x, size=(res, res), mode="nearest")
    rec = lm.model.recipe
    with lm.lock:
        y = tr.translate(lm.model, x, "AtoB", None, seed)
        pic = rec.picture(x, "AtoB").float().cpu()
    info = render.provenance(lm, seed=seed, input="painted in the studio")
    return {"input": images.data_url(images.grid_png(pic, None, target=256)),
            "output": images.data_url(images.grid_png(y, info, target=256)), "seed": seed,
            "filename": f"gankit-{lm.model.config.recipe}-painted-seed{seed}.png"}


# ------------------------------------------------------------------ real or fake?


def wilson(k: int, n: int, z: float = Z95) -> list[float] | None:
    """Wilson's score interval (Wilson 1927) for a binomial proportion ``k / n``: ``[lo, hi]``,
    or None when ``n == 0``. Unlike the normal approximation it stays inside [0, 1] and does
    not collapse to a point at 0 or n of n, which a quiz of 10 fakes often gives."""
    if n <= 0:
        return None
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def score(truth: Sequence[bool], answers: Sequence[bool]) -> dict:
    """The HYPE-infinity counts of one quiz: ``truth[i]`` is True when item ``i`` was real,
    ``answers[i]`` True when the visitor said "real".

    * ``fool_rate``: the share of fakes judged real (what a generator wants high; HYPE's
      "fake error"), with its Wilson 95 % interval;
    * ``real_accuracy``: the share of reals judged real;
    * ``accuracy``: the share of all items judged correctly; ``hype_infinity`` = 1 - accuracy,
      the error rate over reals and fakes that Zhou et al. report as HYPE-infinity (50 %: the
      visitor cannot tell them apart), also with its Wilson 95 % interval. (HYPE bootstraps its
      intervals over evaluators and images; one visitor's answers are one binomial sample per
      rate, for which Wilson's closed form is the usual interval.)
    """
    if len(truth) != len(answers):
        raise ValueError(f"{len(answers)} answers for {len(truth)} items")
    fakes = [a for t, a in zip(truth, answers) if not t]
    reals = [a for t, a in zip(truth, answers) if t]
    fooled = sum(1 for a in fakes if a)
    reals_right = sum(1 for a in reals if a)
    right = reals_right + (len(fakes) - fooled)
    n = len(truth)

    def rate(k, m):
        return k / m if m else None

    return {"n": n, "reals": len(reals), "fakes": len(fakes), "fooled": fooled, "reals_judged_real": reals_right,
            "correct": right, "fool_rate": rate(fooled, len(fakes)), "real_accuracy": rate(reals_right, len(reals)),
            "accuracy": rate(right, n), "hype_infinity": rate(n - right, n),
            "interval": {"method": "wilson", "level": 0.95, "fool_rate": wilson(fooled, len(fakes)),
                         "hype_infinity": wilson(n - right, n)}}


def quiz_spec(lm: models.Loaded) -> tuple[dict | None, str | None]:
    """``({"sizes": [min, max], "default"}, None)`` for a model that samples images from noise."""
    cap = models.capabilities(lm)
    g = cap["generate"]
    recipe = lm.model.config.recipe
    if g is None or g["points"] or g["text"]:
        why = (f"{recipe} translates inputs (try Paint a scene or Translate)" if cap["translate"] else
               f"{recipe} draws 2D points" if g and g["points"] else
               f"{recipe} needs a text prompt" if g else f"{recipe} makes {modality(lm.model.meta).what} samples")
        return None, f"the quiz shows images sampled from noise beside real ones; {why}"
    return {"sizes": [QUIZ_MIN, QUIZ_MAX], "default": QUIZ_DEFAULT}, None


def _reals(lm: models.Loaded, k: int, rng: secrets.SystemRandom) -> torch.Tensor:
    """``k`` held-out examples of the model's data as ``[k, C, H, W]`` in [-1, 1]."""
    try:
        data = lm.model.recipe.splits.held_out()
    except (UserError, OSError, ValueError):
        name = Path(str(lm.model.meta.get("name") or "?")).name  # never the data's full path
        raise UserError(f"real or fake: the data this model was trained on ({name}) cannot be read here") from None
    idx = rng.sample(range(len(data)), k) if len(data) >= k else [rng.randrange(len(data)) for _ in range(k)]
    return data.to_float(data.x[torch.tensor(idx)])


def quiz_items(lm: models.Loaded, n: int) -> tuple[list[bytes], list[bool]]:
    """``n`` PNG pictures (half real, half generated) in a random order and the truth
    (True = real) of each; reals and fakes go through the same encoder, without text chunks."""
    rng = secrets.SystemRandom()  # the OS's randomness: a visitor cannot replay a shuffle
    half = n // 2
    with lm.lock:
        real = _reals(lm, half, rng)
        fake = gen.sample(lm.model, half, rng.randrange(MAX_SEED)).clamp(-1, 1)
    if real.shape[1:] != fake.shape[1:]:
        raise UserError(f"real or fake: the data's images {list(real.shape[1:])} do not match the model's "
                        f"{list(fake.shape[1:])}")
    x = torch.cat([real.float().cpu(), fake.float().cpu()])
    truth = [True] * half + [False] * half
    order = list(range(n))
    rng.shuffle(order)
    pngs = [images.grid_png(x[i:i + 1], None, target=QUIZ_IMAGE_PX) for i in order]
    return pngs, [truth[i] for i in order]


class QuizStore:
    """Quizzes by id: the truth of each item, the model it came from, answered or not."""

    def __init__(self, max_quizzes: int = MAX_QUIZZES, ttl: float = QUIZ_TTL):
        self.max_quizzes, self.ttl = max_quizzes, ttl
        self._lock = threading.Lock()
        self._quizzes: OrderedDict[str, dict] = OrderedDict()

    def add(self, truth: list[bool], model: dict) -> str:
        """Keep a new quiz; its id (128 random bits). ``SessionsFull`` (429) when
        ``max_quizzes`` unanswered ones are open: nobody's quiz is dropped for another's."""
        now = time.monotonic()
        with self._lock:
            for old in [k for k, q in self._quizzes.items() if now - q["t"] > self.ttl]:
                del self._quizzes[old]
            if len(self._quizzes) >= self.max_quizzes:
                done = next((k for k, q in self._quizzes.items() if q["result"] is not None), None)
                if done is None:
                    raise SessionsFull("the studio has as many open quizzes as it keeps; try again later")
                del self._quizzes[done]
            qid = secrets.token_urlsafe(16)
            self._quizzes[qid] = {"truth": list(truth), "model": model, "t": now, "result": None}
        return qid

    def truth(self, qid: str) -> list[bool]:
        """The server's truth of quiz ``qid`` (for tests and the scoring)."""
        return list(self._get(qid)["truth"])

    def _get(self, qid: str) -> dict:
        with self._lock:
            q = self._quizzes.get(qid) if isinstance(qid, str) else None
            if q is None or time.monotonic() - q["t"] > self.ttl:
                raise NotFound("quiz: unknown or expired quiz (start a new one)")
            return q

    def score(self, qid: str, answers) -> dict:
        """Score the answers (``"real"`` / ``"fake"``, one per item, in the order shown) once;
        the result names each item's truth and answer, and is what the page exports."""
        q = self._get(qid)
        n = len(q["truth"])
        if not isinstance(answers, list) or len(answers) != n:
            raise UserError(f"answers: expected {n} answers (\"real\" or \"fake\"), one per image in order")
        bad = next((a for a in answers if a not in ("real", "fake")), None)
        if bad is not None:
            raise UserError(f"answers: each answer is \"real\" or \"fake\", got {str(bad)[:40]!r}")
        with self._lock:
            if q["result"] is not None:
                raise UserError("quiz: already scored (start a new one)")
            said_real = [a == "real" for a in answers]
            q["result"] = {"demo": "real or fake (HYPE-infinity, Zhou et al. 2019)", "gankit": __version__,
                           "model": q["model"], **score(q["truth"], said_real),
                           "items": [{"index": i, "truth": "real" if t else "fake", "answer": a}
                                     for i, (t, a) in enumerate(zip(q["truth"], answers))]}
            return q["result"]


# ------------------------------------------------------------------ the endpoints' functions


class Demos:
    """The demos' endpoints over a :class:`gankit.studio.api.Studio` (its models and scrubbing)."""

    def __init__(self, studio):
        self.studio = studio
        self.quizzes = QuizStore()

    def _model(self, p: dict) -> models.Loaded:
        return self.studio._model(p)

    def info(self, p: dict) -> dict:
        """Which demos the model ``p["model"]`` has, and why not the others."""
        lm = self._model(p)
        out, why = {"model": lm.id}, {}
        for name, fn in (("paint", paint_spec), ("quiz", quiz_spec), ("listen", listen_spec)):
            out[name], reason = fn(lm)
            if reason:
                why[name] = reason
        return {**out, "why": why}

    def paint(self, p: dict) -> dict:
        return paint(self._model(p), p)

    def quiz_new(self, p: dict) -> dict:
        """A new quiz: ``{"quiz": id, "n", "items": [PNG data URLs]}`` (no truth)."""
        lm = self._model(p)
        spec, why = quiz_spec(lm)
        if spec is None:
            raise UserError(f"quiz: {why}")
        n = _int(p, "n", QUIZ_DEFAULT, QUIZ_MIN, QUIZ_MAX)
        if n % 2:
            raise UserError(f"n must be even (half real, half generated), got {n}")
        pngs, truth = quiz_items(lm, n)
        m = lm.model
        model = {"id": lm.id, "recipe": m.config.recipe, "data": Path(str(m.meta.get("name") or "")).name,
                 "step": m.step, "checkpoint": lm.label}
        return {"quiz": self.quizzes.add(truth, model), "n": n, "items": [images.data_url(b) for b in pngs]}

    def quiz_score(self, p: dict) -> dict:
        return self.quizzes.score(str(p.get("quiz") or ""), p.get("answers"))

    def listen(self, p: dict) -> dict:
        return listen(self._model(p), p)

    def listen_wav(self, p: dict) -> bytes:
        return listen_wav(self._model(p), p)
