"""THE training loop, as a small trainer: one for every recipe.

Read it top to bottom. :meth:`Trainer.setup` builds a run (run directory, nets, optimizers,
resume state); :meth:`Trainer.train_step` runs one step's phases; :meth:`Trainer.run` repeats
it and calls the hooks (:mod:`gankit.train.hooks`: EMA, logs, sample grids, checkpoints, user
hooks) after each step. A phase only computes a loss; the trainer owns requires_grad
toggling, zero_grad / backward / step, k D-steps, the fake batch shared between the D and G
phases, precision, seeding and the divergence guard's skip / rollback.

Randomness is a pure function of the step (:func:`~gankit.train.setup.step_seed`) and batches a
pure function of their number, so a resumed run, and every rank of a DDP run, is exact.
"""
from __future__ import annotations

import copy
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from .. import checkpoint as ckpt_io
from ..config import Config
from ..data.augment import build_augment
from ..errors import UserError
from ..modality import modality
from ..recipes.base import Phase, StepContext
from ..registry import RECIPES
from . import dist, schedules
from .batches import make_batches, split_batch
from .guard import Guard, TrainingDiverged, finite_flags
from .hooks import Hook, default_hooks, write_preview
from .log import RunLogger
from .precision import Precision
from .resolve import Run, resolve_loaded
from .setup import (
    StopFlag,
    check_loop,
    make_optimizer,
    pick_device,
    resume_checkpoint,
    seed_global_rng,
    set_requires_grad,
    step_seed,
    truncate_metrics,
    warn_if_disk_too_small,
)


class Trainer:
    """Trains a run into run directory ``out``.

    ``run`` is a :class:`~gankit.train.resolve.Run` (``resolve_run`` loaded its data once) or a
    plain :class:`~gankit.config.Config`, whose data is then loaded here. ``hooks`` are extra
    :class:`~gankit.train.hooks.Hook` objects or callables ``(TrainState) -> dict | None``.
    """

    def __init__(self, run: Run | Config, out: str | Path, resume: bool = False, allow_config_change: bool = False,
                 hooks: list[Hook | Callable] = ()):
        self.spec, self.out = run, Path(out)
        self.cfg = run.cfg if isinstance(run, Run) else run
        self.resume, self.allow_config_change = resume, allow_config_change
        self.user_hooks = list(hooks)
        self.rollback_requested = False
        self.stop_requested = False
        self.last_checkpoint: Path | None = None

    # ---- set-up ----------------------------------------------------------------------
    def setup(self) -> Trainer:
        cfg = self.cfg
        check_loop(cfg)
        schedules.check_all(cfg)
        lp = self.lp = cfg.loop
        if lp.threads:
            torch.set_num_threads(lp.threads)
        self.dinfo, self.device = dist.setup(pick_device(lp.device))
        self.main = self.dinfo.main
        if self.device.type == "cuda":  # GAN batches keep one shape: let cuDNN pick its fastest kernels
            torch.backends.cudnn.benchmark = True
        run = self.spec if isinstance(self.spec, Run) else resolve_loaded(cfg)
        cfg, data, meta = self.cfg, self.data, self.meta = run.cfg, run.data, run.meta
        self.splits = run.splits
        recipe_cls = RECIPES.get(cfg.recipe)
        self.augment = build_augment(cfg.augment)

        if lp.init_from:  # a wrong path fails before the run directory exists
            ckpt_io.find_checkpoint(lp.init_from)
        ckpt = self._prepare_run_dir()
        torch.manual_seed(lp.seed)  # network initialisation is seeded
        self.recipe = recipe = recipe_cls(cfg, meta)
        recipe.splits = self.splits  # held-out data comes from the run's splits, loaded once
        self.memory_format = (torch.channels_last if lp.channels_last and not modality(data).points
                              else torch.contiguous_format)
        self.nets = {k: v.to(self.device).to(memory_format=self.memory_format)
                     for k, v in recipe.build_nets().items()}
        self.net_cfgs = dict(recipe.net_configs())
        if lp.init_from and ckpt is None:  # a new run started from trained weights (a resume has its own)
            src = ckpt_io.init_from(lp.init_from, self.nets, self.net_cfgs, lp.init_nets)
            if self.main:
                print(f"gankit: {', '.join(lp.init_nets)} initialised from {src}", file=sys.stderr)
        if lp.ema > 0:
            self.nets["G_ema"] = copy.deepcopy(self.nets["G"]).eval().requires_grad_(False)
            self.net_cfgs["G_ema"] = self.net_cfgs["G"]
        self.optimizers = {
            group: make_optimizer((p for n in names for p in self.nets[n].parameters()),
                                  cfg.optim_g if group == "G" else cfg.optim_d, f"optim_{group.lower()}")
            for group, names in recipe.groups.items()}
        self.base_lr = {g: opt.param_groups[0]["lr"] for g, opt in self.optimizers.items()}
        self.base_beta2 = {g: opt.param_groups[0]["betas"][1] for g, opt in self.optimizers.items()
                           if "betas" in opt.param_groups[0]}
        # each group's parameters, listed once: the phases flip their requires_grad every step
        self.group_params = {group: [p for n in names for p in self.nets[n].parameters()]
                             for group, names in recipe.groups.items()}
        if lp.compile:
            from .compile import compile_nets

            compile_nets(self.nets, recipe, self.device)
        self.precision = Precision(lp.precision, self.device)
        self.batches = make_batches(data, cfg, self.dinfo.rank, self.dinfo.world, self.device, self.memory_format)
        self.step, rollbacks = 0, 0
        if ckpt is not None:
            rollbacks = self._load_state(ckpt)
            if self.main:
                truncate_metrics(self.out, self.step)
                print(f"gankit: resumed {self.out} from step {self.step}", file=sys.stderr)
        self.guard = Guard(lp, rollbacks)
        dist.broadcast_nets(self.nets, self.dinfo)
        if self.main:
            ckpt_io.clean_stale_temporaries(self.out)
            warn_if_disk_too_small(self.out, ckpt_io.estimate_checkpoint_bytes(self.nets, self.optimizers),
                                   lp.keep_checkpoints)
        self.rng = torch.Generator()  # the step's noise stream (z, labels); reseeded every step
        # on a GPU, noise is drawn there (its own stream, also reseeded every step)
        self.device_rng = torch.Generator(self.device) if self.device.type == "cuda" else None
        self.phases: list[Phase] = recipe.phases()
        extra = []
        if lp.eval_every > 0:  # in-training metrics (and checkpoints/best), see gankit.metrics.training
            from ..metrics.training import make_eval_hook

            extra.append(make_eval_hook(cfg))
        self.hooks: list[Hook] = default_hooks(self.user_hooks + extra)
        self.logger = RunLogger(self.out, tensorboard=lp.tensorboard, enabled=self.main)
        self.grid_seed = lp.seed + 12345  # fixed noise: grids are comparable across steps
        self.global_batch = cfg.data.batch_size * self.dinfo.world
        self.last_checkpoint = ckpt
        self.trained_g = False
        return self

    def _prepare_run_dir(self) -> Path | None:
        """A new run directory, or the checkpoint to resume (a changed config is refused)."""
        out, cfg = self.out, self.cfg
        ckpt = None
        if self.resume:
            ckpt = resume_checkpoint(out, cfg, self.allow_config_change)
        elif (out / "checkpoints").is_dir() and any((out / "checkpoints").glob("step_*")):
            raise UserError(f"--out {out}: already holds a run; add --resume to continue it, or pick another --out")
        if self.main:
            out.mkdir(parents=True, exist_ok=True)
            cfg.save(out / "config.yaml")
            (out / "data.json").write_text(json.dumps(self.meta, indent=1))
            skipped = self.data.info.get("skipped") or []
            if skipped:
                print(f"gankit: skipped {len(skipped)} unreadable file(s) in {cfg.data.name}", file=sys.stderr)
        return ckpt

    def _load_state(self, ckpt: Path) -> int:
        """Weights, optimizer moments and loop state of ``ckpt``; returns its rollback count."""
        state = ckpt_io.load_training_state(ckpt, self.nets, self.optimizers)
        self.step = int(state["step"])
        self.batches.seek(int(state.get("batches", 0)))
        if self.augment is not None:
            self.augment.load_state(state.get("augment", {}))
        self.precision.load_state_dict(state.get("precision", {}))
        return int(state.get("rollbacks", 0))

    # ---- one step --------------------------------------------------------------------
    def set_learning_rates(self, step: int) -> None:
        """lr = configured lr x the guard's rollback factor (``loop.rollback_lr_factor`` per
        rollback) x :meth:`lr_factor` (1 unless a schedule says otherwise); Adam's beta2 and a
        fixed augmentation probability follow ``schedule.beta2`` / ``schedule.augment`` where set."""
        scale = self.lp.rollback_lr_factor ** self.guard.rollbacks
        sched = self.cfg.schedule
        b2 = None if schedules.is_identity(sched.beta2) else schedules.multiplier(sched.beta2, step, self.lp.steps)
        for group, opt in self.optimizers.items():
            lr = self.base_lr[group] * scale * self.lr_factor(group, step)
            for pg in opt.param_groups:
                pg["lr"] = lr
                if b2 is not None:
                    pg["betas"] = (pg["betas"][0], self.base_beta2[group] * b2)
        if self.augment is not None and not schedules.is_identity(sched.augment):
            self.augment.p = self.cfg.augment.p * schedules.multiplier(sched.augment, step, self.lp.steps)

    def lr_factor(self, group: str, step: int) -> float:
        """``schedule.lr`` at ``step`` (a pure function of the step, so resume is exact)."""
        return schedules.multiplier(self.cfg.schedule.lr, step, self.lp.steps)

    def train_step(self, step: int) -> dict:
        """Run the phases of step ``step`` (0-based); returns their logs.

        A non-finite loss or gradient skips that phase's optimizer step; the guard decides
        whether training continues, rolls back (``self.rollback_requested``) or stops.
        """
        lp = self.lp
        self.rng.manual_seed(step_seed(lp.seed, self.dinfo.rank, step, 1))
        if self.device_rng is not None:
            self.device_rng.manual_seed(step_seed(lp.seed, self.dinfo.rank, step, 3))
        seed_global_rng(step_seed(lp.seed, self.dinfo.rank, step, 2), self.device)  # augmentation, dropout
        self.set_learning_rates(step)
        active = [ph for ph in self.phases if step % ph.interval == 0]
        # EMA follows G on the steps that run a G phase
        self.trained_g = any(ph.opt == "G" for ph in active)
        ctxs, logs, any_bad = None, {}, False
        prev_opt = None
        for i, ph in enumerate(active):
            times = ph.times(step)
            for r in range(times):
                # a step's first phase and every extra repeat: new batch; with loop.g_fresh also
                # the first G phase after a D phase (StyleGAN2, sngan_projection: G trains on new z)
                if ctxs is None or r > 0 or (lp.g_fresh and ph.opt == "G" and prev_opt != "G"):
                    ctxs = self._contexts(step)
                prev_opt = ph.opt
                # The last D repeat computes the fake batch once, with the graph to G, so the G
                # phase that follows reuses it instead of running G again. (Not with
                # accumulation, which exists to save memory: holding several graphs would not.)
                if (self.recipe.share_fake and not lp.g_fresh and lp.accumulate == 1 and ph.opt != "G"
                        and r == times - 1
                        and not ctxs[0].has_fake and any(p.opt == "G" for p in active[i + 1:])):
                    set_requires_grad(self.group_params["G"], True)
                    with self.precision.autocast():
                        ctxs[0].share_fake()
                phase_logs, ok = self.run_phase(ph, ctxs)
                if not ok:
                    any_bad = True
                    if self.guard.bad_step(step + 1, f"loss or gradient in phase {ph.name}") == "rollback":
                        self.request_rollback()
                        return logs
                    continue
                logs.update(phase_logs)
                self._observe_augment(ph, ctxs)
        if not any_bad:
            self.guard.good_step()
        if self.augment is not None:
            logs.update(self.augment.logs())
        logs.update(self.precision.logs())
        return logs

    def _contexts(self, step: int) -> list[StepContext]:
        """A fresh batch, cut into ``loop.accumulate`` micro-batches, one context each."""
        batch = self.batches.next()
        ctxs = [StepContext(self.recipe, self.nets, mb, step, self.rng, self.device, self.device_rng)
                for mb in split_batch(batch, self.lp.accumulate)]
        reg_scale = schedules.multiplier(self.cfg.schedule.reg, step, self.lp.steps)
        g_topk = schedules.multiplier(self.cfg.schedule.topk, step, self.lp.steps)
        for c in ctxs:
            c.reg_scale, c.g_topk = reg_scale, g_topk
        if self.augment is not None:
            for c in ctxs:
                c.augment = self.augment
        return ctxs

    def _observe_augment(self, ph: Phase, ctxs: list[StepContext]) -> None:
        """ADA adapts its strength to the sign of D's outputs on reals (Karras et al. 2020, r_t)."""
        signs = [float(c.real_sign) for c in ctxs if c.real_sign is not None]
        if self.augment is not None and ph.opt == "D" and signs:
            sign = dist.average_logs({"s": sum(signs) / len(signs)}, self.dinfo)["s"]
            self.augment.observe(sign, self.global_batch)
        for c in ctxs:
            c.real_sign = None

    def run_phase(self, ph: Phase, ctxs: list[StepContext]) -> tuple[dict, bool]:
        """One optimizer step of a phase: backward over the micro-batches, sync, step.

        Returns (logs, ok): with ``loop.check_finite``, a non-finite loss or gradient skips the
        optimizer step (the weights never see it) and ``ok`` is False.
        """
        for group, group_params in self.group_params.items():
            # Freeze the nets this phase does not train (no weight grads through D in the G
            # phase); the generator keeps its flag while a shared fake still holds its graph.
            set_requires_grad(group_params, group == ph.opt or (group == "G" and ctxs[0].fake_has_graph))
        opt = self.optimizers[ph.opt]
        opt.zero_grad(set_to_none=True)
        logs: dict = {}
        for ctx in ctxs:  # gradients add up over micro-batches; ranks sync once, after the last
            with self.precision.autocast():
                result = ph.compute(ctx)
            loss = result.pop("loss")
            self.precision.backward(loss / len(ctxs) if len(ctxs) > 1 else loss)
            for k, v in [(f"loss/{ph.name}", loss), *result.items()]:
                v = v.detach() / len(ctxs) if torch.is_tensor(v) else v / len(ctxs)
                logs[k] = logs[k] + v if k in logs else v
            if ph.opt == "G":
                ctx.fake_has_graph = False  # the graph to G is consumed
        params = self.group_params[ph.opt]
        if self.dinfo.enabled:
            dist.average_grads(params, self.dinfo)
        self.precision.unscale(opt)
        ok = True
        if self.lp.check_finite:
            # one fused check, one host sync (after the all-reduce: every rank decides alike)
            bad_loss, bad_grad = dist.sum_across(finite_flags(logs[f"loss/{ph.name}"], params),
                                                 self.dinfo).tolist()
            # fp16 with finite losses but overflowing gradients: the scaler skips the step
            # and lowers its scale (precision.step); that is not divergence
            ok = not bad_loss and (not bad_grad or self.precision.scaling)
        if ok:
            self.precision.step(opt)
            if ph.after_step is not None:
                with torch.no_grad():
                    ph.after_step(ctxs[-1])
        else:
            opt.zero_grad(set_to_none=True)
        set_requires_grad(params, True)
        return logs, ok

    # ---- what hooks call -------------------------------------------------------------
    def request_rollback(self) -> None:
        self.rollback_requested = True

    def write_samples(self, step: int) -> None:
        """The preview grid of ``step`` from fixed noise (rank 0 only)."""
        if not self.main:
            return
        G = self.nets.get("G_ema", self.nets[self.recipe.sample_net])
        was_training = G.training
        G.eval()
        # translation recipes show (input, output) pairs in grids; others their samples
        with torch.no_grad():
            x = getattr(self.recipe, "sample_grid", self.recipe.sample)(G, self.lp.n_samples, self.grid_seed)
        G.train(was_training)
        write_preview(self.out / "samples", step, x, self.data, self.meta, self.logger, self.cfg)

    def save(self, step: int) -> Path:
        """A checkpoint of ``step`` (written by rank 0; every rank waits for it)."""
        if self.main:
            state = {"batches": self.batches.counter, "time": time.time(), "rollbacks": self.guard.rollbacks,
                     "augment": self.augment.state() if self.augment is not None else {},
                     "precision": self.precision.state_dict()}
            ckpt_io.save_checkpoint(self.out, step, self.cfg, self.meta, self.nets, self.net_cfgs,
                                    self.optimizers, state, keep=self.lp.keep_checkpoints)
        dist.barrier(self.dinfo)
        return self.out / "checkpoints" / ckpt_io.step_dir_name(step)

    def rollback(self) -> int:
        """Reload the newest checkpoint (lower learning rates follow from the guard's count)."""
        self.rollback_requested = False
        try:
            last = ckpt_io.find_checkpoint(self.out)
        except UserError:
            raise TrainingDiverged("training diverged before the first checkpoint; nothing to roll back to "
                                   "(lower the learning rates or set loop.checkpoint_every smaller)") from None
        self._load_state(last)
        for hook in self.hooks:
            hook.on_rollback(self, self.step)
        return self.step

    # ---- the steps -------------------------------------------------------------------
    def run(self) -> Path:
        """Train to ``loop.steps``; returns the last checkpoint's path."""
        from tqdm.auto import tqdm

        if not hasattr(self, "nets"):
            self.setup()
        lp = self.lp
        self.bar = tqdm(total=lp.steps, initial=self.step, disable=None if (lp.progress and self.main) else True,
                        unit="step", dynamic_ncols=True, file=sys.stderr, mininterval=0.5)
        for hook in self.hooks:
            hook.setup(self)
        try:
            with StopFlag() as flag:
                while self.step < lp.steps:
                    for hook in self.hooks:
                        hook.before_step(self, self.step)
                    logs = self.train_step(self.step)
                    self.stop_requested = flag.stop
                    if not self.rollback_requested:
                        for hook in self.hooks:
                            hook.after_step(self, self.step + 1, logs)
                            if self.rollback_requested:
                                break
                    if self.rollback_requested:
                        self.bar.n = self.rollback()
                        continue
                    self.step += 1
                    self.bar.update(1)
                    if flag.stop:
                        if self.main:
                            print(f"gankit: stopped at step {self.step}; checkpoint {self.last_checkpoint}. "
                                  f"Continue with the same command and --resume.", file=sys.stderr)
                        return self.last_checkpoint
            if self.last_checkpoint is None:  # a fresh run of 0 steps: still leave a checkpoint
                self.write_samples(self.step)
                self.last_checkpoint = self.save(self.step)
            return self.last_checkpoint
        finally:
            self.bar.close()
            for hook in self.hooks:
                hook.close(self)
            self.batches.close()
            self.logger.close()


def train(run: Run | Config, out: str | Path, resume: bool = False, allow_config_change: bool = False,
          hooks: list[Hook | Callable] = ()) -> Path:
    """Train ``run`` (a resolved :class:`~gankit.train.resolve.Run` or a Config) into run
    directory ``out``; returns the final checkpoint's path.

    With ``resume`` the newest checkpoint in ``out`` is loaded (weights, optimizer moments,
    step, augmentation state) and training continues to ``cfg.loop.steps``; the result is
    identical to an uninterrupted run on CPU. Under ``torchrun`` each process is one rank of
    a data-parallel run (see ``gankit.train.dist``).
    """
    return Trainer(run, out, resume, allow_config_change, hooks).setup().run()


__all__ = ["Trainer", "train"]
