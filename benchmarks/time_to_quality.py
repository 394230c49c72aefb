"""Time to quality: training time for DCGAN on digits to reach a FID target, gankit vs naive.

Both loops train the same nets (the ``dcgan-digits`` preset: DCGAN, ngf = ndf = 32, 32 px,
batch 64, Adam 2e-4 (0.5, 0.999), built and initialised identically) on the same 1,437
training digits, one after the other in this process:

* ``gankit``: ``gankit.train.train`` with the preset as ``gankit train`` runs it (its default
  precision for this CPU, channels_last, fused Adam, the shared fake batch, G_ema 0.999);
  evaluated on G_ema, as ``gankit eval`` does for its checkpoints.
* ``naive``: :class:`gankit.bench.naive.NaiveDCGAN` (pytorch/examples style: fp32, NCHW,
  BCELoss on sigmoid, default Adam, two G forwards per step, no EMA); evaluated on G.

Every ``--eval-every`` steps the sampling net (in eval mode) is scored with the FID of
``gankit eval`` (``--n`` samples, seed 0, ``digits`` extractor, against the held-out test
split). Evaluation time is excluded: the training clocks (wall, and process CPU time, which
is what the run would take on an idle core when single-threaded) stop during it. The target is
``--factor`` times the real-vs-real FID (``gankit eval --real-vs-real --data digits``).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/time_to_quality.py --out /tmp/ttq --json

``--loops gankit --set loop.precision=fp32`` runs gankit alone with config overrides (e.g. the
bf16-vs-fp32 quality check); ``--stop-at-target`` ends a loop once it reaches the target.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch

from gankit.bench.naive import NaiveDCGAN, loader_batches
from gankit.data import load_data
from gankit.metrics.core import EvalContext, compute_metrics
from gankit.metrics.evaluate import load_reference_data, real_vs_real
from gankit.metrics.extractors import get_extractor
from gankit.metrics.reference import generated_features, reference_features
from gankit.presets import build_config
from gankit.registry import RECIPES
from gankit.train.precision import resolve_precision
from gankit.train.setup import data_meta

QUIET = ["loop.threads=1", "loop.progress=false", "loop.tensorboard=false", "loop.sample_every=1000000",
         "loop.checkpoint_every=1000000", "loop.log_every=1000000", "loop.keep_checkpoints=1", "loop.n_samples=8"]


class Clock:
    """Wall and CPU seconds of training only: paused while evaluating."""

    def __init__(self):
        self.wall = self.cpu = 0.0
        self._w, self._c = time.perf_counter(), time.process_time()

    def pause(self):
        self.wall += time.perf_counter() - self._w
        self.cpu += time.process_time() - self._c

    def resume(self):
        self._w, self._c = time.perf_counter(), time.process_time()


class Scorer:
    """The FID of ``gankit eval`` (same sampler seeds, extractor, reference split)."""

    def __init__(self, cfg, meta, n: int):
        self.meta, self.n = meta, n
        self.ext = get_extractor(None, meta, flag="--extractor")
        real_data, split = load_reference_data(cfg.data)
        self.real = reference_features(real_data, self.ext, split)

    def fid(self, recipe, G) -> float:
        was = G.training
        G.eval()
        try:
            fake, labels, _ = generated_features(lambda m, seed, y: recipe.sample(G, m, seed, y), self.n, self.ext, 0)
        finally:
            G.train(was)
        return float(compute_metrics(["fid"], EvalContext(self.meta, self.ext, fake, lambda: self.real, labels, 0))["fid"])


def run_gankit(cfg, out: Path, scorer: Scorer, every: int, target: float, stop: bool) -> list[dict]:
    from gankit.train import train
    from gankit.train.hooks import TrainState

    curve: list[dict] = []
    clock = Clock()

    def hook(st: TrainState):
        if st.step % every:
            return
        clock.pause()
        G = st.nets.get("G_ema") or st.nets["G"]
        row = {"step": st.step, "train_wall_s": round(clock.wall, 2), "train_cpu_s": round(clock.cpu, 2),
               "fid": round(scorer.fid(st.recipe, G), 3)}
        curve.append(row)
        print(json.dumps({"loop": "gankit", **row}), file=sys.stderr, flush=True)
        if stop and row["fid"] <= target:
            raise _Reached
        clock.resume()
        return

    clock.resume()
    try:
        train(cfg, out, hooks=[hook])
    except _Reached:
        pass
    return curve


class _Reached(Exception):
    pass


def run_naive(cfg, scorer: Scorer, every: int, target: float, stop: bool) -> list[dict]:
    data = load_data(cfg.data)
    meta = data_meta(data)
    recipe_cls = RECIPES.get(cfg.recipe)
    rcfg = recipe_cls.resolve(copy.deepcopy(cfg), meta)
    torch.manual_seed(cfg.loop.seed)  # the same initial weights as gankit's run
    recipe = recipe_cls(rcfg, meta)
    nets = recipe.build_nets()
    trainer = NaiveDCGAN(nets["G"], nets["D"], rcfg.G.kwargs["z_dim"], rcfg.optim_g.lr, tuple(rcfg.optim_g.betas))
    batches = loader_batches((data.x,), cfg.data.batch_size)
    curve: list[dict] = []
    clock = Clock()
    for step in range(1, cfg.loop.steps + 1):
        trainer.step(*next(batches))
        if step % every == 0:
            clock.pause()
            row = {"step": step, "train_wall_s": round(clock.wall, 2), "train_cpu_s": round(clock.cpu, 2),
                   "fid": round(scorer.fid(recipe, nets["G"]), 3)}
            curve.append(row)
            print(json.dumps({"loop": "naive", **row}), file=sys.stderr, flush=True)
            if stop and row["fid"] <= target:
                break
            clock.resume()
    return curve


def first_reaching(curve: list[dict], threshold: float) -> dict | None:
    return next((r for r in curve if r["fid"] <= threshold), None)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/tmp/gk-ttq", help="run directory for gankit's loop (must not hold a run)")
    ap.add_argument("--steps", type=int, default=3000, help="most steps per loop")
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--n", type=int, default=10000, help="generated samples per FID (gankit eval's default)")
    ap.add_argument("--factor", type=float, default=2.0, help="target = factor x real-vs-real FID")
    ap.add_argument("--loops", default="gankit,naive")
    ap.add_argument("--set", action="append", default=[], help="config override for both loops")
    ap.add_argument("--thresholds", default="", help="extra FID thresholds to report, comma-separated")
    ap.add_argument("--stop-at-target", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    cfg = build_config(recipe="dcgan", data="digits", steps=args.steps, overrides=QUIET + args.set)
    data = load_data(cfg.data)
    meta = data_meta(data)
    baseline = float(real_vs_real("digits", metrics="fid")["fid"])
    target = args.factor * baseline
    scorer = Scorer(cfg, meta, args.n)
    result = {"baseline_real_vs_real_fid": round(baseline, 3), "target_fid": round(target, 3),
              "steps": args.steps, "eval_every": args.eval_every, "n": args.n, "overrides": args.set,
              "gankit_precision": resolve_precision(cfg.loop.precision, torch.device("cpu")),
              "threads": torch.get_num_threads(), "loops": {}}
    thresholds = [target] + [float(t) for t in args.thresholds.split(",") if t.strip()]
    for name in [s.strip() for s in args.loops.split(",") if s.strip()]:
        if name == "gankit":
            out = Path(args.out)
            curve = run_gankit(cfg, out, scorer, args.eval_every, target, args.stop_at_target)
        elif name == "naive":
            curve = run_naive(cfg, scorer, args.eval_every, target, args.stop_at_target)
        else:
            raise SystemExit(f"--loops: unknown loop {name!r} (gankit, naive)")
        result["loops"][name] = {"curve": curve, "reached": {
            f"{t:g}": first_reaching(curve, t) for t in thresholds}}
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
