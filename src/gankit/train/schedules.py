"""Step schedules: multipliers of a base value (learning rate, regularizer weight) over training.

Configured in ``cfg.schedule`` (:class:`gankit.config.SchedulesConfig`) and applied by the
trainer to every recipe: ``schedule.lr`` in :meth:`Trainer.lr_factor` (lr = optim lr x rollback
factor x schedule), ``schedule.reg`` as ``StepContext.reg_scale`` (every regularizer weight), ``schedule.topk`` as
``StepContext.g_topk`` (the fraction of fakes in G's loss: top-k training, Sinha et al. 2020),
``schedule.beta2`` on the Adam optimizers' second beta (:meth:`Trainer.set_learning_rates`),
``schedule.augment`` on a fixed augmentation probability (``augment.name: ada-fixed``) or on
the instance noise's std (``augment.name: noise``).
With ``steps: 0`` a decay ends at ``loop.steps``; resuming with a larger ``--steps`` then
stretches it, so pin ``steps`` to extend a run on the same schedule.

``multiplier(sc, step, total)`` is a pure function of the step, so a resumed run, which restores
the step, gets exactly the values the uninterrupted run had (the optimizers' stored lr is never
read back: the loop sets ``base * multiplier`` before every step).

* warm-up: ``start * (step + 1) / warmup`` for ``step < warmup`` (linear, so the first step already moves);
* ``start`` (default 1): where the decay starts, so a schedule can also rise (``start`` < ``final``:
  R3GAN's augmentation and beta2 ramps); every formula below reads 1 as ``start``;
* ``hold``: ``start`` for that share of the steps from the end of the warm-up to the decay's end, so
  ``linear`` with ``hold: 0.5`` is CycleGAN/pix2pix's "constant, then linearly to 0" and scales
  with ``--steps``;
* ``constant``: 1 after the warm-up;
* ``cosine``: ``final + (1 - final) * (1 + cos(pi * t)) / 2``, t = progress from the end of the
  warm-up (and hold) to ``sc.steps`` (or ``total``) in [0, 1] (Loshchilov & Hutter 2017; R3GAN's lr and
  gamma schedules are this form, Huang et al. 2024);
* ``linear``: ``1 + (final - 1) * t``;
* ``step``: 1 until the hold ends, then ``final`` at once (SRGAN's 1e-4 then 1e-5, Ledig et al.
  2017: ``hold: 0.5, final: 0.1``).
"""
from __future__ import annotations

import math

from ..data.augment import SCHEDULABLE_P_MAX
from ..errors import UserError

KINDS = ("constant", "cosine", "linear", "step")


def check(sc, where: str) -> None:
    """UserError naming ``where`` (e.g. ``schedule.lr``) for a bad schedule."""
    if sc.kind not in KINDS:
        raise UserError(f"{where}.kind must be one of {', '.join(KINDS)}, got {sc.kind!r}")
    if sc.warmup < 0 or sc.steps < 0:
        raise UserError(f"{where}.warmup and {where}.steps must be >= 0, got {sc.warmup} and {sc.steps}")
    if not (math.isfinite(sc.final) and sc.final >= 0):
        raise UserError(f"{where}.final must be a number >= 0, got {sc.final}")
    if not (math.isfinite(sc.start) and sc.start >= 0):
        raise UserError(f"{where}.start must be a number >= 0, got {sc.start}")
    if not (math.isfinite(sc.hold) and 0 <= sc.hold < 1):
        raise UserError(f"{where}.hold is the share of the run held at 1 before the decay: in [0, 1), got {sc.hold}")
    if sc.kind != "constant" and sc.steps and sc.steps <= sc.warmup:
        raise UserError(f"{where}.steps ({sc.steps}) must be past the warm-up ({sc.warmup})")


def multiplier(sc, step: int, total: int) -> float:
    """The schedule's multiplier at ``step`` (0-based) of a ``total``-step run."""
    s0 = sc.start
    if step < sc.warmup:
        return s0 * (step + 1) / sc.warmup
    if sc.kind == "constant":
        return s0
    end = sc.steps or total
    start = sc.warmup + sc.hold * max(end - sc.warmup, 0)  # the decay starts after the hold
    if sc.kind == "step":
        return s0 if step < start else sc.final
    span = max(end - start, 1)
    t = min(max((step - start) / span, 0.0), 1.0)
    if sc.kind == "cosine":
        return sc.final + (s0 - sc.final) * 0.5 * (1.0 + math.cos(math.pi * t))
    return s0 + (sc.final - s0) * t


def is_identity(sc) -> bool:
    """True when the schedule is 1 at every step (the default): nothing to apply."""
    return sc.kind == "constant" and sc.start == 1.0 and not sc.warmup


def peak(sc) -> float:
    """The largest multiplier the schedule reaches (its warm-up ends at ``start``)."""
    return sc.start if sc.kind == "constant" else max(sc.start, sc.final)


def check_all(cfg) -> None:
    """Check every schedule of ``cfg.schedule``."""
    check(cfg.schedule.lr, "schedule.lr")
    check(cfg.schedule.reg, "schedule.reg")
    check(cfg.schedule.beta2, "schedule.beta2")
    check(cfg.schedule.augment, "schedule.augment")
    b2 = cfg.schedule.beta2
    for name in () if is_identity(b2) else ("optim_g", "optim_d"):
        oc = getattr(cfg, name)
        if oc.name not in ("adam", "adamw"):
            raise UserError(f"schedule.beta2 scales Adam's second beta; {name}.name is {oc.name!r}")
        betas = oc.betas
        if betas[1] * peak(b2) >= 1:
            raise UserError(f"schedule.beta2 takes {name}.betas[1] = {betas[1]} to "
                            f"{betas[1] * peak(b2):g}: Adam's beta2 must stay below 1")
    if not is_identity(cfg.schedule.augment):
        p_max = SCHEDULABLE_P_MAX.get(cfg.augment.name)
        if p_max is None:
            raise UserError("schedule.augment scales augment.p, which only augment.name: ada-fixed (a fixed "
                            f"probability) or noise (the std) keeps fixed; got augment.name {cfg.augment.name!r} "
                            "(--set schedule.augment.kind=constant drops the schedule)")
        if cfg.augment.p * peak(cfg.schedule.augment) > p_max:
            raise UserError(f"schedule.augment takes augment.p = {cfg.augment.p} above 1")
    tk = cfg.schedule.topk
    if tk.warmup:
        raise UserError(f"schedule.topk cannot warm up (a fraction of the batch from 0), got warmup {tk.warmup}")
    check(tk, "schedule.topk")
    if tk.kind != "constant" and not 0 < tk.final <= 1:
        raise UserError(f"schedule.topk.final is the fraction of fakes G learns from: in (0, 1], got {tk.final}")
