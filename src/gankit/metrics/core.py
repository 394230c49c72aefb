"""The registered metrics and the one function that computes them, for ``gankit eval`` and
for in-training evaluation alike.

A metric is registered in ``gankit.registry.METRICS`` as a :class:`Metric`: a function of an
:class:`EvalContext` returning ``{key: float}``, the keys it returns, and which of them are
higher-is-better. The context holds the generated samples' features and lazily loads the real
reference features, so a metric that needs no real data (IS, modes) never loads any.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import UserError
from ..modality import modality
from ..registry import METRICS
from .extractors import Extractor
from .fid import fid_from_stats
from .inception_score import inception_score
from .kid import kid_from_features
from .modes import (
    class_mode_metrics,
    combined_labels,
    curve_labels,
    curve_metrics_2d,
    mode_metrics_2d,
    point_modes,
)
from .prdc import prdc_from_features
from .reference import FeatureSet

PRDC_K = 5
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[[EvalContext], dict]
    keys: tuple[str, ...]
    higher_is_better: tuple[str, ...] = ()
    description: str = ""

    def __call__(self, ctx: EvalContext) -> dict:
        return self.fn(ctx)


def register_metric(name: str, keys: tuple[str, ...], higher: tuple[str, ...] = (), description: str = ""):
    """Decorator: register ``fn(ctx) -> dict`` as metric ``name`` producing ``keys``."""

    def deco(fn):
        METRICS.register(name, Metric(name, fn, keys, higher, description))
        return fn

    return deco


@dataclass
class EvalContext:
    """What a metric sees: the data description, the extractor, generated features, and the
    real reference (loaded on first use by ``load_real() -> FeatureSet``)."""

    meta: dict
    extractor: Extractor
    fake: FeatureSet
    load_real: Callable[[], FeatureSet]
    fake_labels: np.ndarray | None = None  # classes asked of a conditional G
    seed: int = 0
    model: object | None = None  # the gankit.load Model being evaluated (None: real-vs-real, in training)
    _real: FeatureSet | None = field(default=None, repr=False)

    @property
    def real(self) -> FeatureSet:
        if self._real is None:
            self._real = self.load_real()
        return self._real

    def need_probs(self, metric: str) -> np.ndarray:
        if self.fake.probs is None:
            raise UserError(f"--metrics {metric}: needs a classifier extractor (digits); "
                            f"{self.extractor.name!r} gives no class probabilities")
        return self.fake.probs


# --------------------------------------------------------------------------- the metrics


@register_metric("fid", ("fid",), description="Fréchet distance of feature Gaussians (Heusel et al. 2017)")
def _fid(ctx: EvalContext) -> dict:
    return {"fid": fid_from_stats(*ctx.real.stats(), *ctx.fake.stats())}


@register_metric("kid", ("kid",), description="unbiased polynomial-kernel MMD^2 (Bińkowski et al. 2018)")
def _kid(ctx: EvalContext) -> dict:
    return {"kid": kid_from_features(ctx.real.features, ctx.fake.features, KID_SUBSETS, KID_SUBSET_SIZE, ctx.seed)}


@register_metric("prdc", ("precision", "recall", "density", "coverage"),
                 higher=("precision", "recall", "density", "coverage"),
                 description="precision/recall (Kynkäänniemi et al. 2019), density/coverage (Naeem et al. 2020)")
def _prdc(ctx: EvalContext) -> dict:
    # PRDC depends on the set sizes; use as many fakes as reals (a seeded subset of the larger).
    real, fake = ctx.real.features, ctx.fake.features
    n = min(len(real), len(fake))
    if n <= PRDC_K:
        raise UserError(f"--n: prdc needs more than {PRDC_K} samples, got {n}")
    rng = np.random.default_rng(ctx.seed)
    if len(real) > n:
        real = real[np.sort(rng.choice(len(real), n, replace=False))]
    return prdc_from_features(real, fake[:n], k=PRDC_K)


def _joint_probs(probs: np.ndarray) -> np.ndarray:
    """[N, C, K] per-channel probabilities -> [N, K^C] joint (independent channels)."""
    joint = probs[:, 0, :]
    for c in range(1, probs.shape[1]):
        joint = (joint[:, :, None] * probs[:, c, None, :]).reshape(len(probs), -1)
    return joint


@register_metric("is", ("is", "is_std"), higher=("is",),
                 description="Inception Score with the extractor's classifier (Salimans et al. 2016)")
def _is(ctx: EvalContext) -> dict:
    mean, std = inception_score(_joint_probs(ctx.need_probs("is")), splits=10)
    return {"is": mean, "is_std": std}


def has_mixture_modes(meta: dict) -> bool:
    """2D data with known modes: a Gaussian mixture (means) or a labelled curve (spiral, moons)."""
    info = meta.get("info") or {}
    return modality(meta).points and "std" in info and ("means" in info or "curve" in info)


def _num_point_modes(meta: dict) -> int:
    info = meta["info"]
    return len(info["means"]) if "means" in info else int(curve_labels(info).max()) + 1


@register_metric("modes", ("modes", "modes_total", "high_quality", "reverse_kl", "channel_kl", "confidence"),
                 higher=("modes", "high_quality", "confidence"),
                 description="modes captured and reverse KL to uniform (PacGAN 2D / stacked-digits protocols)")
def _modes(ctx: EvalContext) -> dict:
    if modality(ctx.meta).points:
        if not has_mixture_modes(ctx.meta):
            raise UserError(f"--metrics modes: dataset {ctx.meta.get('name')!r} has no known modes "
                            f"(no mixture means or labelled curve); use prdc")
        info = ctx.meta["info"]
        if "means" in info:
            return mode_metrics_2d(ctx.fake.features, info["means"], float(info["std"]))
        return curve_metrics_2d(ctx.fake.features, info["curve"], curve_labels(info), float(info["std"]),
                                real=ctx.real.features)
    return class_mode_metrics(ctx.need_probs("modes"))


def class_acc_applicable(meta: dict, extractor: Extractor, channels: int | None = None) -> bool:
    ncls = int(meta.get("num_classes") or 0)
    if ncls < 2:
        return False
    if modality(meta).points:
        return has_mixture_modes(meta) and _num_point_modes(meta) == ncls
    channels = channels or (meta.get("shape") or [1])[0]
    return extractor.num_classes > 0 and extractor.num_classes ** channels == ncls


@register_metric("class_acc", ("class_acc",), higher=("class_acc",),
                 description="conditional models: share of samples classified as the class asked for")
def _class_acc(ctx: EvalContext) -> dict:
    if ctx.fake_labels is None:
        raise UserError("--metrics class_acc: the model is not class-conditional")
    if not class_acc_applicable(ctx.meta, ctx.extractor):
        raise UserError(f"--metrics class_acc: extractor {ctx.extractor.name!r} cannot classify the "
                        f"{ctx.meta.get('num_classes')} classes of {ctx.meta.get('name')!r}")
    if modality(ctx.meta).points:
        pred = point_modes(ctx.fake.features, ctx.meta["info"])
    else:  # digits: label = the classified digit (stacked: 100a + 10b + c)
        pred = combined_labels(ctx.need_probs("class_acc"))
    return {"class_acc": float((pred == ctx.fake_labels).mean())}


# --------------------------------------------------------------------------- choosing and running

ALIASES = {"pr": "prdc", "precision": "prdc", "recall": "prdc", "density": "prdc", "coverage": "prdc",
           "dc": "prdc", "inception_score": "is", "mode": "modes", "acc": "class_acc"}


def parse_metrics(spec, flag: str = "--metrics") -> list[str]:
    """``"fid,kid,pr"`` or a list -> registered metric names (aliases resolved, order kept)."""
    items = spec.split(",") if isinstance(spec, str) else list(spec or [])
    names: list[str] = []
    for raw in items:
        name = ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if not name:
            continue
        if name not in METRICS:
            raise UserError(f"{flag}: unknown metric {raw.strip()!r}; choices: {', '.join(METRICS)}")
        if name not in names:
            names.append(name)
    if not names and spec:
        raise UserError(f"{flag}: no metric named in {spec!r}")
    return names


def default_metrics(meta: dict, extractor: Extractor, conditional: bool) -> list[str]:
    """images: fid, kid, prdc (+ is and modes with a classifier extractor); points: modes (for
    data with known modes) and prdc on the coordinates; + class_acc for conditional models."""
    if modality(meta).points:
        names = (["modes"] if has_mixture_modes(meta) else []) + ["prdc"]
    else:
        names = ["fid", "kid", "prdc"] + (["is", "modes"] if extractor.num_classes else [])
    if conditional and class_acc_applicable(meta, extractor):
        names.append("class_acc")
    return names


def check_metrics(names: list[str], meta: dict, extractor: Extractor, conditional: bool,
                  flag: str = "--metrics") -> None:
    """Refuse, before any sampling, metrics this data/extractor/model cannot give."""
    points = modality(meta).points
    for name in names:
        if (name == "is" or (name == "modes" and not points)) and not extractor.num_classes:
            raise UserError(f"{flag} {name}: needs a classifier extractor (digits); "
                            f"{extractor.name!r} gives no class probabilities")
        if name == "modes" and points and not has_mixture_modes(meta):
            raise UserError(f"{flag} modes: dataset {meta.get('name')!r} has no known modes "
                            f"(no mixture means or labelled curve); use prdc")
        if name == "class_acc":
            if not conditional:
                raise UserError(f"{flag} class_acc: the model is not class-conditional")
            if not class_acc_applicable(meta, extractor):
                raise UserError(f"{flag} class_acc: extractor {extractor.name!r} cannot classify the "
                                f"{meta.get('num_classes')} classes of {meta.get('name')!r}")


def result_keys(names: list[str]) -> list[str]:
    return [k for n in names for k in METRICS.get(n).keys]


def higher_is_better(key: str) -> bool:
    """Whether a larger value of result ``key`` is better (fid, kid, reverse_kl: lower)."""
    for name in METRICS:
        m = METRICS.get(name)
        if key in m.keys:
            return key in m.higher_is_better
    return False


def compute_metrics(names: list[str], ctx: EvalContext) -> dict[str, float]:
    """Run the metrics ``names`` on ``ctx``; one flat dict of results."""
    out: dict[str, float] = {}
    for name in names:
        out.update(METRICS.get(name)(ctx))
    return out
