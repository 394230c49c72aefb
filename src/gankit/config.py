"""Typed, nested dataclass configs; YAML in and out; dotted ``--set`` overrides.

A run is described by one :class:`Config`.  It is resolved in layers, each overriding the last:

1. dataclass defaults (below);
2. the recipe's preset ``presets/<recipe>.yaml`` and, if present, ``presets/<recipe>-<data>.yaml``;
3. a user ``--config FILE``;
4. the ``--recipe/--data/--steps`` flags;
5. ``--set key=value`` overrides (dotted keys, type-checked).

The fully resolved config is written as ``config.yaml`` in every run directory.
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import UserError


@dataclass
class DataConfig:
    """Which data, at what size, in what batches."""

    name: str = "digits"  # a built-in dataset (``gankit data list``) or a path
    resolution: int = 32  # images are resized to resolution x resolution
    channels: int = 0  # 0: the dataset's own; 1 or 3 to convert
    batch_size: int = 64
    limit: int = 0  # use only the first N training examples (0: all)
    flip: bool = False  # random horizontal flips per batch, seeded by (seed, batch index): resume-exact
    # On-disk data (image folders, `gankit data prepare` folders) is read by a DataLoader:
    num_workers: int = 2  # loader worker processes (0: read in the training process)
    pin_memory: bool = True  # page-locked batches for faster copies to a CUDA device (ignored on CPU)
    cache: str = "auto"  # where image folders are prepared once: auto | a folder | off (decode each run)
    kwargs: dict[str, Any] = field(default_factory=dict)  # dataset-specific arguments


@dataclass
class NetConfig:
    """A network: a registered builder name and its keyword arguments."""

    name: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimConfig:
    name: str = "adam"  # adam | adamw | sgd | rmsprop
    lr: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    eps: float = 1e-8
    weight_decay: float = 0.0
    fused: bool = True  # fused Adam/AdamW kernel where the device has one


@dataclass
class LossConfig:
    """The adversarial loss (a registered function) and regularizer weights."""

    name: str = "nonsaturating"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class AugmentConfig:
    """Augmentation of everything D sees (real and fake): DiffAugment, ADA or instance noise."""

    name: str = ""  # "" (none) | diffaugment | ada | ada-fixed | noise
    policy: str = "color,translation,cutout"  # DiffAugment transforms
    p: float = 0.0  # ADA: initial (ada) or fixed (ada-fixed) probability; noise: the std
    ada_target: float = 0.6  # ADA: target for r_t = E[sign(D(real))]
    ada_interval: int = 4  # ADA: adjust p every N D steps
    ada_kimg: float = 100.0  # ADA: thousands of images for p to go from 0 to 1
    ada_pipeline: str = "bgc"  # ADA: group letters (b, g, c), "-name" to leave one out, or a comma list


@dataclass
class ScheduleConfig:
    """A multiplier over the training steps (:mod:`gankit.schedules`): a linear warm-up from 0
    to ``start`` (default 1) over ``warmup`` steps, then ``start`` for the ``hold`` share of what
    is left, then (``cosine`` or ``linear``) a move from ``start`` to ``final`` that ends at step
    ``steps`` (0: at ``loop.steps``) and stays at ``final`` after it. CycleGAN and pix2pix (Zhu et
    al. 2017, their code's ``linear`` policy: n_epochs constant, then n_epochs_decay to 0) are
    ``linear`` with ``hold: 0.5``; R3GAN's augmentation ramp (p 0 -> 0.55) is ``cosine`` with
    ``start: 0, final: 1`` on ``augment.p: 0.55``."""

    kind: str = "constant"  # constant | cosine | linear | step
    warmup: int = 0  # steps of linear warm-up from 0
    final: float = 0.0  # the multiplier at the end of the decay (cosine / linear)
    steps: int = 0  # the step the decay ends at; 0: loop.steps
    hold: float = 0.0  # share (0..1) of the steps after the warm-up kept at ``start`` before the decay
    start: float = 1.0  # the multiplier where the decay starts (after the warm-up and the hold)


@dataclass
class SchedulesConfig:
    """What the loop schedules, for every recipe: ``lr`` multiplies both optimizers' learning
    rates (lr = optim.lr * lr(step) * the divergence guard's rollback factor), ``reg`` every
    regularizer weight of ``loss.kwargs`` (e.g. R3GAN's gamma decay), ``topk`` the fraction of
    each fake batch G learns from (top-k training, Sinha et al. 2020: the fakes D scores most
    realistic; 1 = all of them, the default), ``beta2`` both Adam optimizers' second beta
    (R3GAN ramps it 0.9 -> 0.99: ``optim.betas[1]: 0.99`` with ``start: 0.90909, final: 1``),
    ``augment`` the fixed augmentation probability ``augment.p`` (``augment.name: ada-fixed``) or
    the instance noise's std (``augment.name: noise``)."""

    lr: ScheduleConfig = field(default_factory=ScheduleConfig)
    reg: ScheduleConfig = field(default_factory=ScheduleConfig)
    topk: ScheduleConfig = field(default_factory=ScheduleConfig)
    beta2: ScheduleConfig = field(default_factory=ScheduleConfig)
    augment: ScheduleConfig = field(default_factory=ScheduleConfig)


@dataclass
class SampleConfig:
    """How a trained checkpoint samples (``gankit sample`` / ``gankit eval``, :meth:`gankit.checkpoint.Model.sample`).

    ``drs``: discriminator rejection sampling (Azadi et al. 2019): each of G's outputs is
    accepted with probability ``min(1, exp(D(x) - M))``, D's logit read as the log density
    ratio p_data / p_G, M its ``drs_quantile`` over a fixed burn-in batch. Needs the checkpoint's
    D and an unconditional G; off by default."""

    drs: bool = False
    drs_quantile: float = 0.95
    binarize: str = "hard"  # music: hard (x > 0) | bernoulli (on with probability (x+1)/2), as MuseGAN compares


@dataclass
class LoopConfig:
    steps: int = 2000  # generator steps
    d_steps: int = 1  # discriminator steps per generator step (k in Goodfellow et al. 2014)
    g_fresh: bool = False  # G phases draw their own batch (new z, new reals) instead of reusing the D step's fakes
    accumulate: int = 1  # split each batch into N micro-batches, one optimizer step (saves memory)
    ema: float = 0.0  # EMA decay for G_ema (ramped up as min(ema, (1+t)/(10+t))); 0 disables G_ema
    ema_start: int = 0  # step from which G_ema tracks G (before it, it copies G)
    ema_buffers: str = "copy"  # copy | average: G_ema's BN statistics / SN vectors (BigGAN: average)
    seed: int = 0
    log_every: int = 50
    sample_every: int = 500  # write a sample grid (fixed noise) every N steps
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3  # the newest K checkpoints are kept
    n_samples: int = 64  # images in each sample grid
    precision: str = "auto"  # auto | fp32 | bf16 | fp16 (autocast, fp32 master weights; fp16 adds
    # a GradScaler); auto: bf16 where the hardware runs it fast (CPUs with AVX512-BF16/AMX,
    # CUDA with bf16), else fp32
    compile: bool = False  # torch.compile the nets (inductor; falls back to eager with a message)
    channels_last: bool = True  # NHWC memory layout for conv nets (faster on CPU oneDNN and GPUs)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int = 0  # torch intra-op threads; 0: leave torch's default
    progress: bool = True  # progress bar on stderr
    tensorboard: bool = True
    check_finite: bool = True  # check losses and gradients before every optimizer step
    on_divergence: str = "rollback"  # skip | rollback | stop (see gankit.train.guard)
    max_skips: int = 10  # skip: consecutive bad steps before escalating
    max_rollbacks: int = 3
    rollback_lr_factor: float = 0.5  # learning rates are multiplied by this at each rollback
    collapse_window: int = 2000  # D logit-sign accuracy pinned for this many steps = collapse (0: off)
    collapse_accuracy: float = 0.995
    eval_every: int = 0  # run eval_metrics every N steps (0: never)
    eval_metrics: list[str] = field(default_factory=list)
    eval_n: int = 2000  # samples per in-training evaluation
    keep_best: str = ""  # metric name: also keep checkpoints/best by it (lower is better)
    init_from: str = ""  # a run or checkpoint whose weights start init_nets (SRGAN from SRResNet)
    init_nets: list[str] = field(default_factory=lambda: ["G"])  # the nets init_from loads


@dataclass
class Config:
    recipe: str = "dcgan"
    data: DataConfig = field(default_factory=DataConfig)
    G: NetConfig = field(default_factory=NetConfig)
    D: NetConfig = field(default_factory=NetConfig)
    optim_g: OptimConfig = field(default_factory=OptimConfig)
    optim_d: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    schedule: SchedulesConfig = field(default_factory=SchedulesConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    options: dict[str, Any] = field(default_factory=dict)  # recipe-specific options

    # ------------------------------------------------------------------ I/O
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_yaml())

    @classmethod
    def from_dict(cls, d: dict, where: str = "config") -> Config:
        return _from_dict(cls, d, prefix="", where=where)

    @classmethod
    def load(cls, path: str | Path) -> Config:
        return cls.from_dict(read_yaml(path), where=str(path))


# ---------------------------------------------------------------------- helpers


def read_yaml(path: str | Path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such config file")
    try:
        d = yaml.safe_load(p.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"{p}: not valid YAML ({first})") from None
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise UserError(f"{p}: a config must be a mapping of keys to values")
    return d


def _field_types(cls) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _suggest(key: str, choices) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _from_dict(cls, d: Any, prefix: str, where: str):
    if not isinstance(d, dict):
        raise UserError(f"{where}: {prefix.rstrip('.') or 'config'} must be a mapping")
    types_ = _field_types(cls)
    kwargs = {}
    for key, value in d.items():
        if key not in types_:
            raise UserError(f"{where}: unknown key {prefix + str(key)!r}{_suggest(str(key), types_)}")
        kwargs[key] = _coerce(types_[key], value, prefix + key, where)
    return cls(**kwargs)


def _coerce(tp, value, key: str, where: str):
    """Check/convert ``value`` to type ``tp`` (dataclass, int, float, bool, str, list, dict)."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _from_dict(tp, value, key + ".", where)
    if origin in (typing.Union, types.UnionType):
        return value
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise UserError(f"{where}: {key} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise UserError(f"{where}: {key} must be an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                try:
                    f = float(value)
                    if f.is_integer():
                        return int(f)
                except ValueError:
                    pass
        raise UserError(f"{where}: {key} must be an integer, got {value!r}")
    if tp is float:
        if isinstance(value, bool):
            raise UserError(f"{where}: {key} must be a number, got {value!r}")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise UserError(f"{where}: {key} must be a number, got {value!r}")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise UserError(f"{where}: {key} must be a string, got {value!r}")
    if origin is list:
        (item_tp,) = typing.get_args(tp) or (Any,)
        if isinstance(value, str):
            value = [v for v in value.strip("[]").split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{where}: {key} must be a list, got {value!r}")
        return [_coerce(item_tp, v.strip() if isinstance(v, str) else v, key, where) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise UserError(f"{where}: {key} must be a mapping, got {value!r}")
        return dict(value)
    return value


def parse_scalar(text: str) -> Any:
    """Parse a ``--set`` value for a free-form (dict) field: int, float, bool, null, list or str."""
    try:
        v = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(v, str):
        try:
            return float(v) if any(c in v for c in ".eE") else int(v)
        except ValueError:
            return v
    return v


def apply_overrides(cfg: Config, overrides: list[str], where: str = "--set") -> Config:
    """Apply ``key=value`` overrides with dotted keys, e.g. ``optim_g.lr=1e-4``.

    Keys inside a free-form mapping (``G.kwargs.ngf=32``) are created as needed; every other
    key must exist, and values are type-checked against the field.
    """
    d = cfg.to_dict()
    for item in overrides:
        if "=" not in item:
            raise UserError(f"{where}: expected key=value, got {item!r}")
        key, text = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        if not all(parts):
            raise UserError(f"{where}: bad key {key!r}")
        _set_dotted(Config, d, parts, text, key, where)
    return Config.from_dict(d, where=where)


def _set_dotted(cls, d: dict, parts: list[str], text: str, full: str, where: str) -> None:
    node, node_cls = d, cls
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if node_cls is None:  # inside a free-form mapping
            if last:
                node[part] = parse_scalar(text)
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise UserError(f"{where}: {'.'.join(parts[: i + 1])} is not a mapping")
            continue
        types_ = _field_types(node_cls)
        if part not in types_:
            raise UserError(f"{where}: unknown key {full!r}{_suggest(part, types_)}")
        tp = types_[part]
        if last:
            if dataclasses.is_dataclass(tp):
                raise UserError(f"{where}: {full} is a section; set one of its keys")
            if typing.get_origin(tp) is dict:
                v = parse_scalar(text)
                if not isinstance(v, dict):
                    raise UserError(f"{where}: {full} must be a mapping like {{a: 1}}")
                node[part] = v
            elif tp is Any or tp is str:
                node[part] = text
            else:
                node[part] = _coerce(tp, text, full, where)
        else:
            node = node[part]
            node_cls = tp if dataclasses.is_dataclass(tp) else None
            if node_cls is None and typing.get_origin(tp) is not dict:
                raise UserError(f"{where}: {'.'.join(parts[: i + 1])} is not a section")


def merge(base: dict, over: dict) -> dict:
    """Recursively merge ``over`` into a copy of ``base`` (mappings merge, other values replace).

    A section that names a different builder (``name``) than the one it lands on replaces that
    section's ``kwargs`` instead of merging into them: a preset layer that swaps the ResNet
    translator for a U-Net must not hand the U-Net ``n_blocks``. Same name: kwargs merge.
    """
    if over.get("name") and base.get("name") and over["name"] != base["name"] and "kwargs" in base:
        base = {**base, "kwargs": {}}
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out
