"""Data kinds (modalities): one entry per kind, holding everything that differs by kind.

A :class:`~gankit.data.Data` (and a checkpoint's ``data.json``) has a ``kind``; code that
needs to behave differently by kind asks that kind's :class:`Modality` (``modality(meta)``)
instead of comparing strings. Each entry names, as ``"module:function"`` strings imported on
first use (so this module depends on nothing), its sample writer, its training preview, its
evaluation report, and the recipe a user path of that kind trains by default.

Adding a modality: register a :class:`Modality` here, a loader in ``data/``, a writer and a
preview in ``outputs/``, and (optionally) a report in ``metrics/``. See docs/ARCHITECTURE.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from .errors import UserError

MODALITIES: dict[str, Modality] = {}  # kind -> Modality (all registered below, in this file)


@dataclass(frozen=True)
class Modality:
    """What one data kind is and which functions serve it.

    Attributes:
        name: the kind (``Data.kind`` / ``meta["kind"]``).
        what: how messages name it ("image", "2D point", ...).
        default_recipe: what ``gankit train --data PATH`` trains for a user path of this kind.
        images: examples are uint8 images [N, C, H, W] (the nets see [-1, 1] floats).
        points: examples are coordinates (float32 [N, D]); metrics count modes.
        translation: examples come with an input domain ``Data.a`` (image-to-image).
        paired: ``a[i]`` belongs to ``x[i]`` (pix2pix); unpaired domains have no correspondence.
        flippable: a left-right mirror is a valid augmentation (``data.flip``).
        augmentable: DiffAugment / ADA apply (``augment.name``).
        token_ids: the nets see integer ids, not floats (text).
        binary: examples are uint8 in {0, 1} (piano rolls); the nets see -1 / 1.
        fid_eval: ``gankit eval`` scores it with feature metrics (FID, KID, PRDC / 2D modes).
        writer: ``writer(x, out_dir, model, provenance) -> {name: path}`` for ``gankit sample``.
        preview: ``preview(x, path, meta, real, title)``: the training preview picture.
        report: ``(model_report, real_report)`` for kinds with their own ``gankit eval`` report.
        eval_n: default sample count of ``gankit eval`` (0: as many as the held-out split).
        payload: dtype name and number of dims of ``Data.x`` (images: uint8 [N, C, H, W]).
        train_hint: flags ``gankit data check`` suggests for training a user file of this kind.
    """

    name: str
    what: str
    default_recipe: str
    writer: str
    preview: str
    images: bool = False
    points: bool = False
    translation: bool = False
    paired: bool = False
    flippable: bool = False
    augmentable: bool = False
    token_ids: bool = False
    binary: bool = False
    fid_eval: bool = False
    report: tuple[str, str] | None = None
    eval_n: int = 0
    payload: tuple[str, int] = ("float32", 2)
    train_hint: str = ""

    @property
    def from_noise_images(self) -> bool:
        """Images generated from noise (not translated from an input image)."""
        return self.images and not self.translation

    def write(self, *args, **kwargs) -> Any:
        return _load(self.writer)(*args, **kwargs)

    def draw_preview(self, *args, **kwargs) -> None:
        _load(self.preview)(*args, **kwargs)

    def report_fn(self, which: int):
        """The model (0) or real-data (1) report function; UserError for kinds without one."""
        if self.report is None:
            raise UserError(f"{self.name} data has no report of its own")
        return _load(self.report[which])

    def __str__(self) -> str:
        return self.name


def _load(ref: str):
    mod, fn = ref.split(":")
    return getattr(import_module(mod), fn)


def register(m: Modality) -> Modality:
    if m.name in MODALITIES:
        raise ValueError(f"data kind {m.name!r} registered twice")
    MODALITIES[m.name] = m
    return m


def modality(x) -> Modality:
    """The :class:`Modality` of a kind name, a ``meta`` dict (``data.json``) or a ``Data``."""
    if isinstance(x, Modality):
        return x
    kind = x if isinstance(x, str) else (x.get("kind") if isinstance(x, dict) else getattr(x, "kind", None))
    try:
        return MODALITIES[kind]
    except KeyError:
        raise UserError(f"unknown data kind {kind!r}; kinds: {', '.join(MODALITIES)}") from None


def kinds() -> list[str]:
    return list(MODALITIES)


def require(kinds_: tuple[str, ...], meta, who: str, data_name: str, hint: str = "") -> Modality:
    """The data's modality, or a UserError: ``who`` needs one of ``kinds_`` (empty: any)."""
    m = modality(meta)
    if kinds_ and m.name not in kinds_:
        want = " or ".join(modality(k).what for k in kinds_)
        raise UserError(f"{who} needs {want} data{f' ({hint})' if hint else ''}; data {data_name!r} is {m.name}")
    return m


_OUT = "gankit.outputs"
register(Modality("points", "2D point", "gan", f"{_OUT}.points:write", f"{_OUT}.points:preview",
                  points=True, fid_eval=True, eval_n=2_500, payload=("float32", 2)))  # 2,500: the PacGAN protocol
register(Modality("images", "image", "dcgan", f"{_OUT}.images:write", f"{_OUT}.images:preview",
                  images=True, flippable=True, augmentable=True, fid_eval=True, eval_n=10_000, payload=("uint8", 4)))
register(Modality("paired", "paired", "pix2pix", f"{_OUT}.images:write", f"{_OUT}.images:preview",
                  images=True, translation=True, paired=True, flippable=True, augmentable=True, payload=("uint8", 4)))
register(Modality("unpaired", "unpaired", "cyclegan", f"{_OUT}.images:write", f"{_OUT}.images:preview",
                  images=True, translation=True, flippable=True, augmentable=True, payload=("uint8", 4)))
_M = "gankit.metrics"
register(Modality("text", "text", "gumbel-gan", f"{_OUT}.text:write", f"{_OUT}.text:preview", token_ids=True,
                  report=(f"{_M}.text_metrics:evaluate_text_model", f"{_M}.text_metrics:evaluate_text_real"),
                  eval_n=1000, payload=("int64", 2)))  # character ids [N, L]; info["vocab"] decodes
register(Modality("tabular", "tabular", "ctgan", f"{_OUT}.tabular:write", f"{_OUT}.tabular:preview",
                  report=(f"{_M}.tabular_metrics:evaluate_tabular_model",
                          f"{_M}.tabular_metrics:evaluate_tabular_real"),
                  payload=("float32", 2)))  # encoded rows [N, D_enc]; info["transform"] decodes
register(Modality("sequence", "sequence", "rgan", f"{_OUT}.sequence:write", f"{_OUT}.sequence:preview",
                  report=(f"{_M}.timeseries_metrics:evaluate_sequence_model",
                          f"{_M}.timeseries_metrics:evaluate_sequence_real"),
                  payload=("float32", 3), train_hint=" --set data.kwargs.layout=series"))  # [N, T, F], standardised
register(Modality("video", "video", "next-frame", f"{_OUT}.video:write", f"{_OUT}.video:preview", flippable=True,
                  report=(f"{_M}.video_metrics:evaluate_video_model", f"{_M}.video_metrics:evaluate_video_baselines"),
                  payload=("uint8", 5)))  # clips [N, T, C, H, W]
register(Modality("music", "music", "musegan", f"{_OUT}.music:write", f"{_OUT}.music:preview", binary=True,
                  report=(f"{_M}.music_metrics:evaluate_music_model", f"{_M}.music_metrics:evaluate_music_real"),
                  payload=("uint8", 5)))  # piano rolls [N, tracks, bars, steps, pitches] in {0, 1}
