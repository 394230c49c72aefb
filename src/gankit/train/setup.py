"""Setting a run up: config checks, device, optimizers, resume checks, per-step seeds.

Plain functions the :class:`~gankit.train.trainer.Trainer` calls once, before its first step.
"""
from __future__ import annotations

import json
import math
import shutil
import signal
import sys
from pathlib import Path

import torch

from .. import checkpoint as ckpt_io
from ..config import Config
from ..data import Data
from ..errors import UserError
from .guard import POLICIES
from .log import read_metrics
from .precision import PRECISIONS

# Config keys that may change on --resume without --allow-config-change: they do not change
# what is computed, only how long, how often it is shown, and where.
RESUME_MUTABLE = ("loop.steps", "loop.progress", "loop.tensorboard", "loop.log_every",
                  "loop.sample_every", "loop.checkpoint_every", "loop.keep_checkpoints",
                  "loop.threads", "loop.eval_every", "loop.eval_n", "loop.compile",
                  "data.num_workers", "data.pin_memory", "data.cache")  # where/how batches are read, not which


def data_meta(data: Data) -> dict:
    """What sampling and evaluation need to know about the training data (saved as data.json)."""
    return data.meta()


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
    if cfg.data.num_workers < 0:
        raise UserError(f"data.num_workers must be >= 0, got {cfg.data.num_workers}")
    if cfg.data.batch_size % lp.accumulate:
        raise UserError(f"loop.accumulate={lp.accumulate} must divide data.batch_size={cfg.data.batch_size}")
    if not 0.0 <= lp.ema < 1.0:
        raise UserError(f"loop.ema must be in [0, 1), got {lp.ema}")
    if lp.ema_buffers not in ("copy", "average"):
        raise UserError(f"loop.ema_buffers must be copy or average, got {lp.ema_buffers!r}")
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


class StopFlag:
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


def seed_global_rng(seed: int, device: torch.device) -> None:
    """Seed torch's global generator (augmentation, dropout) for one step, cheaply.

    ``torch.manual_seed`` also queues a lazy seed call for every accelerator backend, and on a
    machine without one each queued call formats the caller's stack trace (0.25 ms at the loop's
    stack depth, 2 % of a grid25 MLP step). The CPU stream here is the same one
    ``torch.manual_seed`` gives (runs reproduce bit for bit); CUDA's is seeded only on CUDA.
    """
    torch.default_generator.manual_seed(seed)
    if device.type == "cuda":
        torch.cuda.manual_seed(seed)


def set_requires_grad(params: list[torch.Tensor], flag: bool) -> None:
    """``requires_grad`` of every tensor in ``params`` (a cached list: no module-tree walk)."""
    for p in params:
        p.requires_grad = flag


def warn_if_disk_too_small(out: Path, per_checkpoint: int, keep: int) -> None:
    """Say so before training if the disk cannot hold ``keep`` (+1 being written) checkpoints."""
    need = per_checkpoint * (keep + 1)
    free = shutil.disk_usage(out).free
    if free < need:
        print(f"gankit: warning: {out} has {free / 2**20:.1f} MiB free but {keep} checkpoints need about "
              f"{need / 2**20:.1f} MiB (lower loop.keep_checkpoints or free space)", file=sys.stderr)


def resume_checkpoint(out: Path, cfg: Config, allow_change: bool) -> Path:
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


def truncate_metrics(out: Path, step: int) -> None:
    """Drop metric rows logged after the checkpoint we resume from (they will be redone)."""
    rows = read_metrics(out)
    keep = [r for r in rows if r.get("step", 0) <= step]
    if len(keep) != len(rows):
        (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in keep))
