"""What happens around a training step: EMA, logging, sample grids, checkpoints, user hooks.

The :class:`~gankit.train.trainer.Trainer` runs a step's phases and nothing else; every other
duty is a :class:`Hook`, called in order after each step. A hook may ask the trainer to roll
back (``trainer.request_rollback(reason)``); the hooks after it are then skipped for that step.
User hooks are plain callables ``(TrainState) -> dict | None`` whose dict is logged.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import viz
from ..config import Config
from ..data import Data
from ..data.splits import DataSplits
from ..modality import modality
from ..recipes.base import Recipe
from . import dist
from .log import RunLogger

# The hooks receive the running gankit.train.trainer.Trainer. It is named, not imported: the
# trainer imports this module, and the import runs one way (trainer -> hooks).
Trainer = Any


@dataclass
class TrainState:
    """What a user hook sees after each step."""

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
    splits: DataSplits | None = None  # the run's dataset splits (loaded once, see resolve_run)


class Hook:
    """Base class: override what you need. ``step`` is the number of steps done."""

    def setup(self, tr: Trainer) -> None:
        """Once, after the nets, optimizers and resume state are in place."""

    def before_step(self, tr: Trainer, step: int) -> None:
        """Before the phases of step ``step`` (0-based) run."""

    def after_step(self, tr: Trainer, step: int, logs: dict) -> None:
        """After step ``step`` is done (``step`` counts done steps, so it starts at 1)."""

    def on_rollback(self, tr: Trainer, step: int) -> None:
        """The trainer went back to the checkpoint of ``step``."""

    def close(self, tr: Trainer) -> None:
        """At the end of training (also after a stop signal)."""


@torch.no_grad()
def ema_update(ema: nn.Module, net: nn.Module, beta: float, buffers: str = "copy") -> None:
    """G_ema <- beta * G_ema + (1 - beta) * G for parameters. Floating-point buffers (batch-norm
    statistics, spectral-norm vectors) are copied (``"copy"``: StyleGAN2-ADA's ``ema``) or
    averaged like the weights (``"average"``: BigGAN-PyTorch's ``utils.ema`` averages the whole
    state dict); integer buffers (``num_batches_tracked``) are always copied."""
    for pe, p in zip(ema.parameters(), net.parameters()):
        pe.lerp_(p.detach(), 1.0 - beta)
    for be, b in zip(ema.buffers(), net.buffers()):
        if buffers == "average" and be.is_floating_point():
            be.lerp_(b, 1.0 - beta)
        else:
            be.copy_(b)


class EMAHook(Hook):
    """G_ema follows G after every step that trained G (``loop.ema``, from ``loop.ema_start``)."""

    def after_step(self, tr, step, logs):
        lp = tr.lp
        if "G_ema" not in tr.nets or not tr.trained_g:
            return
        t = step - 1
        # ramp the decay up from 0 (beta_t = min(ema, (1+t)/(10+t))) so G_ema of a short run
        # is not dominated by the random initial weights
        beta = min(lp.ema, (1 + t) / (10 + t)) if t >= lp.ema_start else 0.0
        ema_update(tr.nets["G_ema"], tr.nets["G"], beta, lp.ema_buffers)


class LogHook(Hook):
    """Averages logs over ``loop.log_every`` steps into metrics.jsonl, TensorBoard and the bar;
    the divergence guard reads each row (a collapse can ask for a rollback)."""

    def setup(self, tr):
        self._reset()

    def _reset(self):
        self.sums: dict = {}
        self.count, self.t0 = 0, time.perf_counter()

    def on_rollback(self, tr, step):
        self._reset()

    def after_step(self, tr, step, logs):
        lp = tr.lp
        for k, v in logs.items():  # tensors stay on device until a log step (no sync per step)
            self.sums[k] = self.sums[k] + v if k in self.sums else v
        self.count += 1
        if step % lp.log_every and step != lp.steps:
            return
        dt = time.perf_counter() - self.t0
        row = {k: float(v) / self.count for k, v in self.sums.items()}
        row["speed/img_per_s"] = self.count * tr.global_batch / max(dt, 1e-9)
        if tr.guard.skipped_total:
            row["diverge/skipped_steps"] = tr.guard.skipped_total
        row = dist.average_logs(row, tr.dinfo)
        tr.logger.scalars(step, row)
        tr.bar.set_postfix({k.split("/")[-1] if k.startswith("loss/") else k: f"{v:.3g}"
                            for k, v in row.items() if k.startswith("loss/") or k == "speed/img_per_s"},
                           refresh=False)
        in_window = self.count
        self._reset()
        if tr.guard.log_row(step, row, in_window) == "rollback":
            tr.request_rollback()


class CallableHook(Hook):
    """Adapts a user callable ``(TrainState) -> dict | None``; a returned dict is logged."""

    def __init__(self, fn: Callable[[TrainState], dict | None]):
        self.fn = fn

    def after_step(self, tr, step, logs):
        st = TrainState(tr.cfg, tr.out, step, tr.nets, tr.recipe, tr.data, tr.meta, tr.logger, logs,
                        main=tr.main, splits=tr.splits)
        extra = self.fn(st)
        if extra:
            tr.logger.scalars(step, extra)


class SampleHook(Hook):
    """A preview from fixed noise every ``loop.sample_every`` steps (comparable across steps)."""

    def after_step(self, tr, step, logs):
        if step % tr.lp.sample_every == 0 or step == tr.lp.steps:
            tr.write_samples(step)


class CheckpointHook(Hook):
    """A checkpoint every ``loop.checkpoint_every`` steps, at the end, and on a stop signal."""

    def after_step(self, tr, step, logs):
        if step % tr.lp.checkpoint_every == 0 or step == tr.lp.steps or tr.stop_requested:
            tr.last_checkpoint = tr.save(step)


def write_preview(folder: Path, step: int, x: torch.Tensor, data: Data, meta: dict,
                  logger: RunLogger, cfg: Config) -> None:
    """``folder/step_XXXXXXX.png`` (+ ``latest.png``) of samples ``x``, with provenance."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{step:07d}.png"
    kind = modality(meta)
    real = data.x[: len(x)] if kind.points else None
    info = {"gankit:synthetic": "true", "gankit:recipe": cfg.recipe, "gankit:run": str(folder.parent),
            "gankit:step": step, "gankit:seed": cfg.loop.seed, "gankit:checkpoint": "none (training preview)",
            "Software": "gankit (generated image)"}
    viz.preview(x, path, meta, real, title=f"step {step}", pnginfo=info)
    if kind.images:
        logger.image(step, "samples", viz.image_grid(x))
    (folder / "latest.png").write_bytes(path.read_bytes())


def default_hooks(user: list[Callable] = ()) -> list[Hook]:
    """The trainer's hooks, in the order they run after a step."""
    return [EMAHook(), LogHook(), *(h if isinstance(h, Hook) else CallableHook(h) for h in user),
            SampleHook(), CheckpointHook()]


__all__ = ["CallableHook", "CheckpointHook", "EMAHook", "Hook", "LogHook", "SampleHook", "TrainState",
           "default_hooks", "ema_update", "write_preview"]
