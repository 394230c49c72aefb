"""In-training evaluation: a loop hook computing ``loop.eval_metrics`` every ``loop.eval_every``
steps with the same registered metrics as ``gankit eval``, and keeping ``checkpoints/best``.

The hook samples from G_ema when the run keeps one (else G) in eval mode and restores the
net's mode afterwards; it draws noise only from its own seeded generators, never from the
loop's RNG streams, so a run with evaluation trains bit-identically to one without. The
real reference features are computed once (and cached on disk, see ``reference.py``).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

from ..errors import UserError
from .core import (
    EvalContext,
    check_metrics,
    compute_metrics,
    default_metrics,
    higher_is_better,
    parse_metrics,
    result_keys,
)
from .extractors import get_extractor
from .reference import generated_features, reference_features

BEST = "best"
EVAL_SEED = 0  # the same noise at every evaluation: curves compare like with like


def make_eval_hook(cfg) -> Callable:
    """A hook ``(TrainState) -> dict | None`` for ``gankit.train.train(hooks=...)``.

    Every ``cfg.loop.eval_every`` steps it returns ``{"metrics/<key>": value}`` (the loop logs
    it to metrics.jsonl and TensorBoard) for ``cfg.loop.eval_metrics`` (default: by data
    kind) on ``cfg.loop.eval_n`` samples, with the data's default extractor. With
    ``cfg.loop.keep_best = KEY`` (a result key such as ``fid``, ``kid`` or ``reverse_kl``;
    lower is better, except for keys like ``precision``, ``modes``, ``is`` where higher is),
    the nets of the best evaluation so far are written to ``RUN/checkpoints/best``, which
    ``gankit.load`` / ``gankit sample`` / ``gankit eval`` accept like any checkpoint.
    """
    lp = cfg.loop
    names = parse_metrics(lp.eval_metrics, flag="loop.eval_metrics") if lp.eval_metrics else None
    if lp.eval_n < 2:
        raise UserError(f"loop.eval_n must be >= 2, got {lp.eval_n}")
    if lp.keep_best and lp.eval_every <= 0:
        raise UserError(f"loop.keep_best={lp.keep_best}: needs loop.eval_every > 0")
    if lp.keep_best and names and lp.keep_best not in result_keys(names):
        raise UserError(f"loop.keep_best: {lp.keep_best!r} is not computed by loop.eval_metrics "
                        f"({', '.join(names)}); choose one of {', '.join(result_keys(names))}")
    state: dict = {}

    def setup(st) -> None:
        from .evaluate import _check_kind, load_reference_data

        _check_kind(st.meta)
        G = _sampling_net(st)
        ncls = int(st.meta.get("num_classes") or 0) if getattr(G, "num_classes", 0) else 0
        ext = get_extractor(None, st.meta, flag="loop.eval_metrics")
        chosen = names or default_metrics(st.meta, ext, bool(ncls))
        check_metrics(chosen, st.meta, ext, bool(ncls), flag="loop.eval_metrics")
        if lp.keep_best and lp.keep_best not in result_keys(chosen):
            raise UserError(f"loop.keep_best: {lp.keep_best!r} is not computed by the metrics "
                            f"({', '.join(chosen)}); choose one of {', '.join(result_keys(chosen))}")
        real_data, split = load_reference_data(st.cfg.data, splits=st.splits)
        state.update(ext=ext, names=chosen, ncls=ncls, real_data=real_data, split=split,
                     best=_read_best(st.run_dir, lp.keep_best))

    def hook(st) -> dict | None:
        if not state:
            setup(st)  # at the first step: a wrong metric fails before any real work is lost
        if lp.eval_every <= 0 or st.step % lp.eval_every or not st.main:  # rank 0 evaluates under DDP
            return None
        G = _sampling_net(st)
        ext = state["ext"]
        was_training = G.training
        G.eval()
        try:
            fake, labels, _ = generated_features(lambda m, seed, y: st.recipe.sample(G, m, seed, y),
                                                 lp.eval_n, ext, EVAL_SEED, state["ncls"])
        finally:
            G.train(was_training)
        if "real" not in state:
            state["real"] = reference_features(state["real_data"], ext, state["split"])
        ctx = EvalContext(st.meta, ext, fake, lambda: state["real"], labels, EVAL_SEED)
        results = compute_metrics(state["names"], ctx)
        if lp.keep_best and lp.keep_best in results:
            value = results[lp.keep_best]
            best = state["best"]
            better = math.isfinite(value) and (best is None or (value > best if higher_is_better(lp.keep_best)
                                                                else value < best))
            if better:
                save_best(st, lp.keep_best, value)
                state["best"] = value
        return {f"metrics/{k}": v for k, v in results.items() if k != "modes_total"}

    return hook


def _sampling_net(st) -> torch.nn.Module:
    return st.nets.get("G_ema") or st.nets[st.recipe.sample_net]


def _read_best(run_dir: Path, key: str) -> float | None:
    """The best value so far, from an existing ``checkpoints/best`` (so a resumed run keeps it)."""
    f = Path(run_dir) / "checkpoints" / BEST / "state.json"
    if not key or not f.is_file():
        return None
    try:
        best = json.loads(f.read_text()).get("best", {})
    except (OSError, json.JSONDecodeError):
        return None
    return float(best["value"]) if best.get("key") == key else None


def save_best(st, key: str, value: float) -> Path:
    """Write the nets as they are now to ``RUN/checkpoints/best`` (atomically replaced).

    A best checkpoint holds what sampling and evaluation need (config, data.json, every net's
    config + weights, state.json with the step and the metric), not optimizer state.
    """
    from ..checkpoint import FORMAT_VERSION, save_net, unwrap

    ckpts = Path(st.run_dir) / "checkpoints"
    ckpts.mkdir(parents=True, exist_ok=True)
    final = ckpts / BEST
    tmp = Path(tempfile.mkdtemp(prefix=".tmp_best_", dir=ckpts))
    try:
        net_cfgs = dict(st.recipe.net_configs())
        if "G_ema" in st.nets:
            net_cfgs.setdefault("G_ema", net_cfgs["G"])
        st.cfg.save(tmp / "config.yaml")
        (tmp / "data.json").write_text(json.dumps(st.meta, indent=1))
        for name, net in st.nets.items():
            if name in net_cfgs:
                nc = net_cfgs[name]
                save_net(unwrap(net), nc.name, nc.kwargs, tmp / name)
        (tmp / "state.json").write_text(json.dumps(
            {"step": st.step, "format": FORMAT_VERSION, "best": {"key": key, "value": value}}, indent=1))
        old = ckpts / ".best_old"
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
