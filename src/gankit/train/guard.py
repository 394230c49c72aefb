"""Divergence guard: NaN/Inf losses or gradients, and a collapsed discriminator.

The loop asks the guard what to do when a phase produced a non-finite loss or gradient
(checked before the optimizer step, so a bad update never reaches the weights) and, at each
log step, whether D has been "pinned" (logit-sign accuracy >= ``collapse_accuracy``) for
``collapse_window`` steps. The policy (``loop.on_divergence``):

* ``skip``: drop that phase's update and go on; after ``max_skips`` consecutive bad steps
  escalate to a rollback (when allowed) or stop. A collapsed D only prints a warning.
* ``rollback`` (default): reload the newest checkpoint, multiply every learning rate by
  ``rollback_lr_factor``, and continue from there, at most ``max_rollbacks`` times.
* ``stop``: stop at once.

Stopping always raises :class:`TrainingDiverged` with a message that names the step and the
metric; the loop never continues silently.
"""
from __future__ import annotations

import math
import sys

import torch

POLICIES = ("skip", "rollback", "stop")


class TrainingDiverged(RuntimeError):
    """Training cannot go on: the message names the step, the metric and what was tried."""


def finite_flags(loss: torch.Tensor, params: list[torch.nn.Parameter]) -> torch.Tensor:
    """``[loss is non-finite, some gradient is non-finite]`` as a float tensor on the loss's
    device, computed without a host sync (one fused norm over all gradients); the caller
    reads it once, after an all-reduce under DDP."""
    bad_loss = (~torch.isfinite(loss.detach().float()).all()).float()
    grads = [p.grad for p in params if p.grad is not None]
    bad_grad = (~torch.isfinite(torch.stack(torch._foreach_norm(grads))).all()).float() if grads \
        else torch.zeros((), device=bad_loss.device)
    return torch.stack([bad_loss, bad_grad.to(bad_loss.device)])


def grads_finite(loss: torch.Tensor, params: list[torch.nn.Parameter]) -> bool:
    """True if the loss and every gradient are finite (one host sync)."""
    return not bool(finite_flags(loss, params).any())


class Guard:
    def __init__(self, lp, rollbacks: int = 0):
        self.policy = lp.on_divergence
        self.max_skips, self.max_rollbacks = lp.max_skips, lp.max_rollbacks
        self.lr_factor = lp.rollback_lr_factor
        self.window, self.threshold = lp.collapse_window, lp.collapse_accuracy
        self.rollbacks = rollbacks  # done so far in this run (saved in checkpoints)
        self.skipped_in_a_row = 0
        self.skipped_total = 0
        self.pinned_steps = 0
        self.warned_collapse = False

    # ---- events -> decisions ("continue", "rollback"); stopping raises ----
    def bad_step(self, step: int, what: str) -> str:
        """A phase at ``step`` produced a non-finite ``what`` (e.g. ``loss/D``)."""
        reason = f"non-finite {what} at step {step}"
        if self.policy == "skip":
            self.skipped_in_a_row += 1
            self.skipped_total += 1
            if self.skipped_in_a_row <= self.max_skips:
                return "continue"
            reason += f" ({self.skipped_in_a_row} bad steps in a row)"
            return self._escalate(reason, allow_rollback=self.max_rollbacks > 0)
        return self._escalate(reason, allow_rollback=self.policy == "rollback")

    def good_step(self) -> None:
        self.skipped_in_a_row = 0

    def log_row(self, step: int, row: dict, steps_in_row: int) -> str:
        """Check a log window's averages; returns "continue" or "rollback"."""
        acc = row.get("D/accuracy")
        if self.window <= 0 or acc is None or not math.isfinite(acc):
            return "continue"
        self.pinned_steps = self.pinned_steps + steps_in_row if acc >= self.threshold else 0
        if self.pinned_steps < self.window:
            return "continue"
        reason = (f"discriminator collapse at step {step}: D/accuracy >= {self.threshold:g} "
                  f"for {self.pinned_steps} steps")
        self.pinned_steps = 0
        if self.policy == "skip":
            if not self.warned_collapse:
                print(f"gankit: warning: {reason}", file=sys.stderr)
                self.warned_collapse = True
            return "continue"
        return self._escalate(reason, allow_rollback=self.policy == "rollback")

    def _escalate(self, reason: str, allow_rollback: bool) -> str:
        if allow_rollback and self.rollbacks < self.max_rollbacks:
            self.rollbacks += 1
            self.skipped_in_a_row = 0
            print(f"gankit: {reason}; rolling back to the last checkpoint with learning rates x"
                  f"{self.lr_factor ** self.rollbacks:g} (rollback {self.rollbacks}/{self.max_rollbacks})",
                  file=sys.stderr)
            return "rollback"
        tried = f" after {self.rollbacks} rollback(s)" if self.rollbacks else ""
        raise TrainingDiverged(f"training diverged: {reason}{tried} (loop.on_divergence={self.policy}); "
                               f"resume from the last checkpoint with lower learning rates")
