"""THE loop: one training loop for every recipe.

Read it top to bottom: ``train()`` sets a run up (config, data, nets, optimizers, resume),
then each step runs the recipe's phases. A phase only computes a loss; everything else is
here: requires_grad toggling, zero_grad / backward / step, k D-steps, the fake batch shared
between the D and G phases, EMA of G, precision, seeding, progress, sample grids,
metrics.jsonl + TensorBoard, and atomic checkpoints that resume bit-exactly.
"""
from __future__ import annotations

import contextlib
import copy
import json
import math
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .. import checkpoint as ckpt_io
from ..config import Config
from ..data import Data, load_data
from ..data.augment import build_augment
from ..errors import UserError
from ..recipes.base import Phase, Recipe, StepContext
from ..registry import RECIPES
from .. import viz
from . import dist
from .guard import POLICIES, Guard, TrainingDiverged, grads_finite
from .log import RunLogger, read_metrics

# Config keys that may change on --resume without --allow-config-change: they do not change
# what is computed, only how long, how often it is shown, and where.
RESUME_MUTABLE = ("loop.steps", "loop.progress", "loop.tensorboard", "loop.log_every",
                  "loop.sample_every", "loop.checkpoint_every", "loop.keep_checkpoints",
                  "loop.threads", "loop.eval_every", "loop.eval_n")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class TrainState:
    """What hooks see after each step."""

    cfg: Config
    run_dir: Path
    step: int
    nets: dict[str, nn.Module]
    recipe: Recipe
    data: Data
    meta: dict
    logger: RunLogger
    logs: dict = field(default_factory=dict)
    main: bool = True  # rank 0 of a DDP run (the only one that writes files)


def data_meta(data: Data) -> dict:
    """What sampling and evaluation need to know about the training data (saved as data.json)."""
    return {**data.describe(), "num_classes": data.num_classes, "class_names": data.class_names,
            "info": {k: v for k, v in data.info.items() if k != "skipped"}}


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise UserError(f"loop.device: unknown device {name!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"loop.device={name}: CUDA is not available on this machine")
    return dev


def cpu_has_fast_bf16() -> bool:
    """True on CPUs with native bf16 math (AVX512-BF16 or AMX), where bf16 autocast pays."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> ``bf16`` where the device runs it natively, else ``fp32``."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if device.type == "cpu" and cpu_has_fast_bf16() else "fp32"


def make_optimizer(params, ocfg, what: str) -> torch.optim.Optimizer:
    params = list(params)
    # fused Adam kernels: one kernel over all parameters instead of a loop of small ops
    fused = {"fused": True} if ocfg.fused and params and params[0].device.type in ("cpu", "cuda") else {}
    kinds = {
        "adam": lambda: torch.optim.Adam(params, lr=ocfg.lr, betas=tuple(ocfg.betas), eps=ocfg.eps,
                                         weight_decay=ocfg.weight_decay, **fused),
        "adamw": lambda: torch.optim.AdamW(params, lr=ocfg.lr, betas=tuple(ocfg.betas), eps=ocfg.eps,
                                           weight_decay=ocfg.weight_decay, **fused),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=ocfg.lr, eps=ocfg.eps, weight_decay=ocfg.weight_decay),
        "sgd": lambda: torch.optim.SGD(params, lr=ocfg.lr, weight_decay=ocfg.weight_decay),
    }
    if ocfg.name not in kinds:
        raise UserError(f"{what}.name: unknown optimizer {ocfg.name!r}; choices: {', '.join(kinds)}")
    if ocfg.lr <= 0 or not math.isfinite(ocfg.lr):
        raise UserError(f"{what}.lr must be a positive number, got {ocfg.lr}")
    if ocfg.name in ("adam", "adamw") and (len(ocfg.betas) != 2 or not all(0 <= b < 1 for b in ocfg.betas)):
        raise UserError(f"{what}.betas must be two numbers in [0, 1), got {ocfg.betas}")
    return kinds[ocfg.name]()


def check_loop(cfg: Config) -> None:
    lp = cfg.loop
    for key in ("steps", "eval_every", "threads"):
        if getattr(lp, key) < 0:
            raise UserError(f"loop.{key} must be >= 0, got {getattr(lp, key)}")
    for key in ("d_steps", "accumulate", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints", "n_samples"):
        if getattr(lp, key) < 1:
            raise UserError(f"loop.{key} must be >= 1, got {getattr(lp, key)}")
    if cfg.data.batch_size < 1:
        raise UserError(f"data.batch_size must be >= 1, got {cfg.data.batch_size}")
    if cfg.data.batch_size % lp.accumulate:
        raise UserError(f"loop.accumulate={lp.accumulate} must divide data.batch_size={cfg.data.batch_size}")
    if not 0.0 <= lp.ema < 1.0:
        raise UserError(f"loop.ema must be in [0, 1), got {lp.ema}")
    if lp.on_divergence not in POLICIES:
        raise UserError(f"loop.on_divergence must be one of {', '.join(POLICIES)}, got {lp.on_divergence!r}")
    if not 0 < lp.rollback_lr_factor <= 1:
        raise UserError(f"loop.rollback_lr_factor must be in (0, 1], got {lp.rollback_lr_factor}")
    if lp.precision not in PRECISIONS:
        raise UserError(f"loop.precision must be one of {', '.join(PRECISIONS)}, got {lp.precision!r}")


def config_diff(a: Config, b: Config, ignore=RESUME_MUTABLE) -> list[str]:
    """Dotted keys whose values differ between two configs (minus ``ignore``)."""

    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            if isinstance(v, dict) and k not in ("kwargs", "options"):
                out.update(flat(v, prefix + k + "."))
            else:
                out[prefix + k] = v
        return out

    fa, fb = flat(a.to_dict()), flat(b.to_dict())
    return sorted(k for k in set(fa) | set(fb) if k not in ignore and fa.get(k) != fb.get(k))


@torch.no_grad()
def ema_update(ema: nn.Module, net: nn.Module, beta: float) -> None:
    """G_ema <- beta * G_ema + (1 - beta) * G for parameters; buffers (BN stats) are copied."""
    for pe, p in zip(ema.parameters(), net.parameters()):
        pe.lerp_(p.detach(), 1.0 - beta)
    for be, b in zip(ema.buffers(), net.buffers()):
        be.copy_(b)


class _StopFlag:
    """SIGINT/SIGTERM: finish the current step, checkpoint, exit cleanly."""

    def __init__(self):
        self.stop = False
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        if self.stop:  # second signal: give up at once
            raise KeyboardInterrupt
        self.stop = True

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def step_seed(seed: int, rank: int, step: int, stream: int) -> int:
    """A seed for one (rank, step, stream): randomness is a pure function of the step, so a
    resumed run, and every rank of a DDP run, needs no saved generator state."""
    return (((seed * 1_000_003 + stream) * 1_000_033 + rank) * 1_000_037 + step) % (2**63)


def train(cfg: Config, out: str | Path, resume: bool = False, allow_config_change: bool = False,
          hooks: list[Callable[[TrainState], dict | None]] = ()) -> Path:
    """Train ``cfg`` into run directory ``out``; returns the final checkpoint's path.

    With ``resume`` the newest checkpoint in ``out`` is loaded (weights, optimizer moments,
    step, augmentation state) and training continues to ``cfg.loop.steps``; the result is
    identical to an uninterrupted run on CPU. Under ``torchrun`` each process is one rank of
    a data-parallel run (see ``gankit.train.dist``).
    """
    out = Path(out)
    check_loop(cfg)
    lp = cfg.loop
    if lp.threads:
        torch.set_num_threads(lp.threads)
    dinfo, device = dist.setup(pick_device(lp.device))
    main = dinfo.main

    # ---- data and the resolved config ---------------------------------------------------
    data = load_data(cfg.data)
    meta = data_meta(data)
    recipe_cls = RECIPES.get(cfg.recipe)
    cfg = recipe_cls.resolve(copy.deepcopy(cfg), meta)
    augment = build_augment(cfg.augment)
    if augment is not None and data.kind == "points":
        raise UserError(f"augment.name={cfg.augment.name}: augmentation is for images, not 2D points")

    # ---- run directory: new, or resumed ----------------------------------------------
    ckpt = None
    if resume:
        ckpt = _resume_checkpoint(out, cfg, allow_config_change)
    elif (out / "checkpoints").is_dir() and any((out / "checkpoints").glob("step_*")):
        raise UserError(f"--out {out}: already holds a run; add --resume to continue it, or pick another --out")
    if main:
        out.mkdir(parents=True, exist_ok=True)
        cfg.save(out / "config.yaml")
        (out / "data.json").write_text(json.dumps(meta, indent=1))
        skipped = data.info.get("skipped") or []
        if skipped:
            print(f"gankit: skipped {len(skipped)} unreadable file(s) in {cfg.data.name}", file=sys.stderr)

    # ---- nets, optimizers, state ----------------------------------------------------------
    torch.manual_seed(lp.seed)  # network initialisation is seeded
    recipe = recipe_cls(cfg, meta)
    nets = {k: v.to(device) for k, v in recipe.build_nets().items()}
    memory_format = torch.channels_last if lp.channels_last and data.kind != "points" else torch.contiguous_format
    for net in nets.values():
        net.to(memory_format=memory_format)
    net_cfgs = dict(recipe.net_configs())
    if lp.ema > 0:
        nets["G_ema"] = copy.deepcopy(nets["G"]).eval().requires_grad_(False)
        net_cfgs["G_ema"] = net_cfgs["G"]
    optimizers = {
        group: make_optimizer((p for n in names for p in nets[n].parameters()),
                              cfg.optim_g if group == "G" else cfg.optim_d, f"optim_{group.lower()}")
        for group, names in recipe.groups.items()
    }
    start, batch_counter, rollbacks = 0, 0, 0
    if ckpt is not None:
        state = ckpt_io.load_training_state(ckpt, nets, optimizers)
        start, batch_counter = int(state["step"]), int(state.get("batches", 0))
        rollbacks = int(state.get("rollbacks", 0))
        if augment is not None:
            augment.load_state(state.get("augment", {}))
        if main:
            _truncate_metrics(out, start)
            print(f"gankit: resumed {out} from step {start}", file=sys.stderr)
    dist.broadcast_nets(nets, dinfo)
    guard = Guard(lp, rollbacks)
    if main:
        ckpt_io.clean_stale_temporaries(out)
        _warn_if_disk_too_small(out, ckpt_io.estimate_checkpoint_bytes(nets, optimizers), lp.keep_checkpoints)
    rng = torch.Generator()  # the loop's noise stream (z, labels); reseeded every step

    phases = recipe.phases()
    if lp.eval_every > 0:  # in-training metrics (and checkpoints/best), see gankit.metrics.training
        from ..metrics.training import make_eval_hook

        hooks = [*hooks, make_eval_hook(cfg)]
    logger = RunLogger(out, tensorboard=lp.tensorboard, enabled=main)
    precision = resolve_precision(lp.precision, device)
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if precision == "bf16" \
        else contextlib.nullcontext
    grid_seed = lp.seed + 12345  # fixed noise: grids are comparable across steps
    global_batch = cfg.data.batch_size * dinfo.world

    def write_samples(step: int) -> None:
        if not main:
            return
        G = nets.get("G_ema", nets[recipe.sample_net])
        was_training = G.training
        G.eval()
        # translation recipes show (input, output) pairs in grids; others their samples
        x = getattr(recipe, "sample_grid", recipe.sample)(G, lp.n_samples, grid_seed)
        G.train(was_training)
        _write_sample_picture(out / "samples", step, x, data, meta, logger, cfg)

    def save(step: int) -> Path:
        if main:
            state = {"batches": batch_counter, "time": time.time(), "rollbacks": guard.rollbacks,
                     "augment": augment.state() if augment is not None else {}}
            ckpt_io.save_checkpoint(out, step, cfg, meta, nets, net_cfgs, optimizers, state,
                                    keep=lp.keep_checkpoints)
        dist.barrier(dinfo)
        return out / "checkpoints" / ckpt_io.step_dir_name(step)

    def rollback() -> int:
        """Reload the newest checkpoint and lower every learning rate; returns its step."""
        nonlocal batch_counter
        try:
            last = ckpt_io.find_checkpoint(out)
        except UserError:
            raise TrainingDiverged("training diverged before the first checkpoint; nothing to roll back to "
                                   "(lower the learning rates or set loop.checkpoint_every smaller)") from None
        state = ckpt_io.load_training_state(last, nets, optimizers)
        batch_counter = int(state.get("batches", 0))
        if augment is not None:
            augment.load_state(state.get("augment", {}))
        scale = lp.rollback_lr_factor ** (guard.rollbacks - int(state.get("rollbacks", 0)))
        for opt in optimizers.values():
            for group in opt.param_groups:
                group["lr"] *= scale
        return int(state["step"])

    # ---- the steps -----------------------------------------------------------------------
    from tqdm.auto import tqdm

    bar = tqdm(total=lp.steps, initial=start, disable=None if (lp.progress and main) else True, unit="step",
               dynamic_ncols=True, file=sys.stderr, mininterval=0.5)
    sums: dict[str, torch.Tensor | float] = {}
    count, t_log = 0, time.perf_counter()
    last_ckpt = ckpt
    step = start
    with _StopFlag() as flag:
        while step < lp.steps:
            rng.manual_seed(step_seed(lp.seed, dinfo.rank, step, 1))
            torch.manual_seed(step_seed(lp.seed, dinfo.rank, step, 2))  # augmentation, dropout
            ctxs, logs, decision, any_bad = None, {}, "continue", False
            active = [ph for ph in phases if step % ph.interval == 0]
            for i, ph in enumerate(active):
                for r in range(ph.repeats):
                    if ctxs is None or r > 0:  # a step's first phase and every extra repeat: new batch
                        batch = {k: _to_device(v, device, memory_format) for k, v in
                                 data.batch(batch_counter, cfg.data.batch_size, lp.seed, dinfo.rank,
                                            dinfo.world).items()}
                        batch_counter += 1
                        ctxs = [StepContext(recipe, nets, mb, step, rng, device) for mb in _split(batch, lp.accumulate)]
                        for c in ctxs:
                            if augment is not None:
                                c.augment = augment
                    # The last D repeat computes the fake batch once, with the graph to G, so
                    # the G phase that follows reuses it instead of running G again. (Not with
                    # accumulation, which exists to save memory: holding several graphs would not.)
                    if (recipe.share_fake and lp.accumulate == 1 and ph.opt != "G" and r == ph.repeats - 1
                            and ctxs[0]._fake is None and any(p.opt == "G" for p in active[i + 1:])):
                        for n in recipe.groups["G"]:
                            nets[n].requires_grad_(True)
                        with autocast():
                            ctxs[0].share_fake()
                    phase_logs, bad = _run_phase(ph, ctxs, nets, recipe, optimizers, autocast, dinfo,
                                                 lp.check_finite)
                    if bad:
                        any_bad = True
                        decision = guard.bad_step(step + 1, f"loss or gradient in phase {ph.name}")
                        if decision == "rollback":
                            break
                        continue
                    logs.update(phase_logs)
                    signs = [float(c.stats.pop("real_sign")) for c in ctxs if "real_sign" in c.stats]
                    if augment is not None and ph.opt == "D" and signs:
                        sign = dist.average_logs({"s": sum(signs) / len(signs)}, dinfo)["s"]
                        augment.observe(sign, global_batch)
                if decision == "rollback":
                    break
            if decision == "rollback":
                step = rollback()
                sums, count, t_log = {}, 0, time.perf_counter()
                bar.n = step
                continue
            if not any_bad:
                guard.good_step()
            if augment is not None:
                logs.update(augment.logs())
            if lp.ema > 0 and any(p.opt == "G" for p in active):
                # ramp the decay up from 0 (beta_t = min(ema, (1+t)/(10+t))) so G_ema of a short
                # run is not dominated by the random initial weights
                beta = min(lp.ema, (1 + step) / (10 + step)) if step >= lp.ema_start else 0.0
                ema_update(nets["G_ema"], nets["G"], beta)
            done = step + 1
            for k, v in logs.items():  # tensors stay on device until a log step (no sync per step)
                sums[k] = sums[k] + v if k in sums else v
            count += 1
            if done % lp.log_every == 0 or done == lp.steps:
                dt = time.perf_counter() - t_log
                row = {k: float(v) / count for k, v in sums.items()}
                row["speed/img_per_s"] = count * global_batch / max(dt, 1e-9)
                if guard.skipped_total:
                    row["diverge/skipped_steps"] = guard.skipped_total
                row = dist.average_logs(row, dinfo)
                logger.scalars(done, row)
                bar.set_postfix({k.split("/")[-1] if k.startswith("loss/") else k: f"{v:.3g}"
                                 for k, v in row.items() if k.startswith("loss/") or k == "speed/img_per_s"},
                                refresh=False)
                in_window = count
                sums, count, t_log = {}, 0, time.perf_counter()
                if guard.log_row(done, row, in_window) == "rollback":
                    step = rollback()
                    bar.n = step
                    continue
            if hooks:
                st = TrainState(cfg, out, done, nets, recipe, data, meta, logger, main=main)
                for hook in hooks:
                    extra = hook(st)
                    if extra:
                        logger.scalars(done, extra)
            if done % lp.sample_every == 0 or done == lp.steps:
                write_samples(done)
            if done % lp.checkpoint_every == 0 or done == lp.steps or flag.stop:
                last_ckpt = save(done)
            bar.update(1)
            step = done
            if flag.stop:
                bar.close()
                if main:
                    print(f"gankit: stopped at step {done}; checkpoint {last_ckpt}. "
                          f"Continue with the same command and --resume.", file=sys.stderr)
                logger.close()
                return last_ckpt
    bar.close()
    if last_ckpt is None:  # a fresh run of 0 steps: still leave a checkpoint to sample from
        write_samples(start)
        last_ckpt = save(start)
    logger.close()
    return last_ckpt


def _warn_if_disk_too_small(out: Path, per_checkpoint: int, keep: int) -> None:
    """Say so before training if the disk cannot hold ``keep`` (+1 being written) checkpoints."""
    import shutil

    need = per_checkpoint * (keep + 1)
    free = shutil.disk_usage(out).free
    if free < need:
        print(f"gankit: warning: {out} has {free / 2**20:.1f} MiB free but {keep} checkpoints need about "
              f"{need / 2**20:.1f} MiB (lower loop.keep_checkpoints or free space)", file=sys.stderr)


def _to_device(v: torch.Tensor, device: torch.device, memory_format) -> torch.Tensor:
    v = v.to(device, non_blocking=True)
    return v.contiguous(memory_format=memory_format) if v.dim() == 4 else v


def _split(batch: dict, parts: int) -> list[dict]:
    """Cut a batch into ``parts`` micro-batches (gradient accumulation)."""
    if parts == 1:
        return [batch]
    chunks = {k: torch.tensor_split(v, parts) for k, v in batch.items()}
    return [{k: c[i] for k, c in chunks.items()} for i in range(parts)]


def _run_phase(ph: Phase, ctxs: list[StepContext], nets: dict, recipe: Recipe, optimizers: dict, autocast,
               dinfo: dist.DistInfo, check_finite: bool = True) -> tuple[dict, bool]:
    """One optimizer step of a phase: backward over the micro-batches, sync, step.

    Returns (logs, bad): with ``check_finite``, a non-finite loss or gradient skips the
    optimizer step (the weights never see it) and ``bad`` is True.
    """
    trained = recipe.groups[ph.opt]
    for group, names in recipe.groups.items():
        # Freeze the nets this phase does not train (no weight grads through D in the G
        # phase); the generator keeps its flag while a shared fake still holds its graph.
        keep = group == ph.opt or (group == "G" and ctxs[0].fake_has_graph)
        for n in names:
            nets[n].requires_grad_(keep)
    opt = optimizers[ph.opt]
    opt.zero_grad(set_to_none=True)
    logs: dict = {}
    for ctx in ctxs:  # gradients add up over micro-batches; ranks sync once, after the last
        with autocast():
            result = ph.compute(ctx)
        loss = result.pop("loss")
        (loss / len(ctxs) if len(ctxs) > 1 else loss).backward()
        for k, v in [(f"loss/{ph.name}", loss), *result.items()]:
            v = v.detach() / len(ctxs) if torch.is_tensor(v) else v / len(ctxs)
            logs[k] = logs[k] + v if k in logs else v
        if ph.opt == "G":
            ctx.fake_has_graph = False  # the graph to G is consumed
    params = [p for n in trained for p in nets[n].parameters()]
    if dinfo.enabled:
        dist.average_grads(params, dinfo)
    if check_finite:
        ok = grads_finite(logs[f"loss/{ph.name}"], params)
        if dinfo.enabled:  # every rank must take the same decision
            ok = dist.average_logs({"bad": 0.0 if ok else 1.0}, dinfo)["bad"] == 0.0
        if not ok:
            opt.zero_grad(set_to_none=True)
            for n in trained:
                nets[n].requires_grad_(True)
            return logs, True
    opt.step()
    if ph.after_step is not None:
        with torch.no_grad():
            ph.after_step(ctxs[-1])
    for n in trained:
        nets[n].requires_grad_(True)
    return logs, False


def _resume_checkpoint(out: Path, cfg: Config, allow_change: bool) -> Path:
    if not (out / "config.yaml").is_file():
        raise UserError(f"--resume: {out} has no run to resume (no config.yaml)")
    try:
        ckpt = ckpt_io.find_checkpoint(out)
    except UserError:
        raise UserError(f"--resume: {out} has no checkpoint yet") from None
    saved = Config.load(ckpt / "config.yaml")
    diff = config_diff(saved, cfg)
    if diff and not allow_change:
        raise UserError(f"--resume: config differs from the run's in {', '.join(diff)} "
                        f"(pass --allow-config-change to accept)")
    return ckpt


def _truncate_metrics(out: Path, step: int) -> None:
    """Drop metric rows logged after the checkpoint we resume from (they will be redone)."""
    rows = read_metrics(out)
    keep = [r for r in rows if r.get("step", 0) <= step]
    if len(keep) != len(rows):
        (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in keep))


def _write_sample_picture(folder: Path, step: int, x: torch.Tensor, data: Data, meta: dict,
                          logger: RunLogger, cfg: Config) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{step:07d}.png"
    real = data.x[: len(x)] if meta["kind"] == "points" else None
    info = {"gankit:synthetic": "true", "gankit:recipe": cfg.recipe, "gankit:run": str(folder.parent),
            "gankit:step": step, "gankit:seed": cfg.loop.seed, "gankit:checkpoint": "none (training preview)",
            "Software": "gankit (generated image)"}
    viz.preview(x, path, meta, real, title=f"step {step}", pnginfo=info)
    if meta["kind"] == "images":
        logger.image(step, "samples", viz.image_grid(x))
    (folder / "latest.png").write_bytes(path.read_bytes())
