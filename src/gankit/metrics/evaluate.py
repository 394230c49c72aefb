"""``gankit eval``: metrics of a checkpoint against its training data's held-out split.

The real reference is the run's dataset (``model.config.data``) loaded with
``split="test"`` where the dataset has a held-out split (digits: the fixed 360-image test
split; the 2D mixtures: an independent draw), else ``"train"``; the split used is part of
every result. ``real_vs_real`` computes the same metrics between a dataset's train and test
splits: the numbers a perfect generator would get, i.e. what "good" means.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import torch

from ..config import DataConfig
from ..errors import UserError
from ..modality import modality
from .core import EvalContext, check_metrics, compute_metrics, default_metrics, parse_metrics
from .extractors import Extractor, get_extractor
from .modality import evaluate_modality, evaluate_modality_real, has_report
from .reference import FeatureSet, extract, generated_features, reference_features


def load_reference_data(data_cfg: DataConfig, prefer: str = "test", splits=None):
    """``(Data, split)``: the ``prefer`` split of the dataset if it has one distinct from
    ``train``, else the training data itself (user folders have a single split). ``splits``
    (a run's :class:`~gankit.data.splits.DataSplits`) serves splits it has already loaded."""
    from ..data import dataset_spec
    from ..data.splits import DataSplits

    if splits is None or data_cfg.limit:  # the reference is the whole training split
        splits = DataSplits(DataConfig(**{**data_cfg.__dict__, "limit": 0}))
    train = splits.train
    if prefer == "train" or dataset_spec(data_cfg.name) is None:
        return train, "train"
    try:
        held = splits.get(prefer)
    except (ValueError, TypeError, KeyError, UserError):
        return train, "train"
    same = held.x.shape == train.x.shape and torch.equal(held.x, train.x)
    return (train, "train") if same else (held, prefer)


def _check_kind(meta: dict) -> None:
    m = modality(meta)
    if not m.fid_eval:
        how = ("image-to-image models are scored on held-out pairs by benchmarks/i2i_eval.py "
               "(gankit translate writes their outputs)") if m.translation else \
            "eval handles image, 2D point, text, tabular, sequence and video generators"
        raise UserError(f"gankit eval: {m} data is not supported; {how}")


def _choose(meta, metrics, extractor, inception_weights, conditional):
    ext = get_extractor(extractor, meta, inception_weights)
    names = parse_metrics(metrics) if metrics else default_metrics(meta, ext, conditional)
    check_metrics(names, meta, ext, conditional)
    return ext, names


def finish(results: dict, ext: Extractor, **info) -> dict:
    """Results in a fixed order: metric values, then what they were measured with."""
    return {**results, "extractor": ext.name, **info}


def evaluate(model, metrics=None, n: int | None = None, extractor: str | None = None, seed: int = 0,
             report: str | Path | None = None, inception_weights: str | None = None) -> dict:
    """Metrics of a loaded model (``gankit.load``) -> ``{metric: value, ..., "extractor": name, ...}``.

    ``metrics``: names or a comma list (default by data kind, see ``core.default_metrics``);
    ``n``: generated samples (default 10,000 images / 2,500 points); ``extractor``: a name from
    ``extractors.EXTRACTORS`` (default by dataset); ``report``: a directory for an HTML report.
    """
    t0 = time.perf_counter()
    meta = model.meta
    if has_report(meta):  # text, tabular, sequence, video: each kind's own report
        if metrics or extractor or report or inception_weights:
            raise UserError(f"gankit eval: a {meta['kind']} model has one fixed report; "
                            f"drop --metrics/--extractor/--report/--inception-weights")
        out = evaluate_modality(model, n, seed)
        return {**out, "checkpoint": str(model.path), "step": model.step,
                "seconds": round(time.perf_counter() - t0, 2)}
    _check_kind(meta)
    ncls = int(meta.get("num_classes") or 0) if getattr(model.generator, "num_classes", 0) else 0
    ext, names = _choose(meta, metrics, extractor, inception_weights, bool(ncls))
    n = modality(meta).eval_n if n is None else n
    if n < 2:
        raise UserError(f"--n must be >= 2, got {n}")
    fake, labels, kept = generated_features(model.sample, n, ext, seed, ncls, keep=64 if report else 0)
    real_data, split = load_reference_data(model.config.data)
    ctx = EvalContext(meta, ext, fake, lambda: reference_features(real_data, ext, split), labels, seed,
                      model=model)
    results = compute_metrics(names, ctx)
    out = finish(results, ext, n=n, n_real=len(real_data), split=split, dataset=meta.get("name"),
                 checkpoint=str(model.path), step=model.step, seconds=round(time.perf_counter() - t0, 2))
    if report:
        from .report import write_report

        out["report"] = str(write_report(report, model, out, ext, fake, kept, seed))
    return out


def real_vs_real(data: str, metrics=None, extractor: str | None = None, resolution: int = 32,
                 n: int | None = None, seed: int = 0, inception_weights: str | None = None) -> dict:
    """The metrics of the dataset's ``train`` split (standing in for generated samples, first
    ``n`` examples; default all images / 2,500 points) against its ``test`` split."""
    from ..data import dataset_spec, load_data

    t0 = time.perf_counter()
    if dataset_spec(data) is None:  # a user folder has one split (UserError for unknown names)
        raise UserError(f"--data {data}: --real-vs-real needs a built-in dataset with a test split")
    cfg = DataConfig(name=data, resolution=resolution)
    train = load_data(cfg, split="train")
    if has_report(train):  # the training split scored like a model, and the kind's baselines
        if metrics or extractor:
            raise UserError(f"gankit eval: {data} ({train.kind}) has one fixed report; drop --metrics/--extractor")
        out = evaluate_modality_real(data, train.kind, n, seed)
        return {**out, "fake": "train split", "dataset": data, "seconds": round(time.perf_counter() - t0, 2)}
    real_data, split = load_reference_data(cfg)
    if split != "test":
        raise UserError(f"--data {data}: has no held-out test split to compare its train split with")
    meta = train.meta()
    _check_kind(meta)
    ext, names = _choose(meta, metrics, extractor, inception_weights, False)
    n = min(len(train), n or (modality(meta).eval_n if modality(meta).points else len(train)))
    from .reference import data_batches

    fake = extract(ext, data_batches(train, ext.batch_size, n)) if ext.points \
        else reference_features(train, ext, "train").head(n)
    ctx = EvalContext(meta, ext, FeatureSet(fake.features, fake.probs),
                      lambda: reference_features(real_data, ext, split), None, seed)
    results = compute_metrics(names, ctx)
    return finish(results, ext, n=n, n_real=len(real_data), split=split, fake="train split", dataset=data,
                  resolution=resolution, seconds=round(time.perf_counter() - t0, 2))


def run(checkpoint: str | None = None, metrics: str | None = None, n: int | None = None,
        extractor: str | None = None, seed: int = 0, report: str | None = None,
        inception_weights: str | None = None, real_vs_real_mode: bool = False, data: str | None = None,
        resolution: int = 32) -> dict:
    """What ``gankit eval`` does: evaluate a checkpoint, or (``real_vs_real_mode``) the train
    split of dataset ``data`` against its test split."""
    if real_vs_real_mode:
        if not data:
            raise UserError("--real-vs-real: needs --data NAME (a built-in dataset)")
        if checkpoint or report:
            raise UserError("--real-vs-real: compares two splits of --data; drop --checkpoint/--report")
        return real_vs_real(data, metrics, extractor, resolution, n, seed, inception_weights)
    if data:
        raise UserError("--data: only used with --real-vs-real (a checkpoint is evaluated on its own data)")
    if not checkpoint:
        raise UserError("gankit eval: --checkpoint is required (or --real-vs-real --data NAME)")
    from .. import load

    return evaluate(load(checkpoint), metrics, n, extractor, seed, report, inception_weights)


def json_safe(results: dict) -> dict:
    """NaN/Inf -> None, so ``json.dumps`` writes strict JSON."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in results.items()}


def format_results(results: dict) -> str:
    """A human-readable table (one ``key  value`` line each)."""
    width = max(len(k) for k in results)
    lines = []
    for k, v in results.items():
        if isinstance(v, float) and not isinstance(v, bool):
            v = f"{v:.6g}" if math.isfinite(v) else "n/a"
        lines.append(f"{k:<{width}}  {v}")
    return "\n".join(lines)
