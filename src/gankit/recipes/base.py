"""What a recipe is: nets from the registry, and phases the loop runs.

A recipe never calls ``backward()``, steps an optimizer, or touches devices, precision or
DDP. It declares:

* ``resolve(cfg, meta)``: fill the net kwargs the data determines (resolution, channels,
  classes) so the written ``config.yaml`` is complete;
* ``build_nets()``: ``{"G": ..., "D": ...}`` built from the registry;
* ``groups``: which nets each optimizer ("G", "D") updates;
* ``phases()``: a list of :class:`Phase`;
* ``generate(ctx)``: the fake batch of a step; the loop computes it once and shares it
  between the D phase (detached) and the G phase;
* ``sample(nets, n, seed, y)``: outputs for grids and ``gankit sample``.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from ..config import Config
from ..data.splits import DataSplits
from ..errors import UserError
from ..modality import require
from ..registry import LOSSES, NETS


@dataclass
class Phase:
    """One optimisation phase.

    ``compute(ctx)`` returns ``{"loss": scalar tensor, "<log key>": value, ...}``; the loop
    backpropagates ``loss`` into the nets of optimizer ``opt`` and steps it. The phase runs
    on steps where ``step % interval == 0``, ``repeats`` times (each on a fresh batch), or
    ``repeats_at(step)`` times where that is given (WGAN's critic bursts).
    ``after_step(ctx)``, if given, runs right after the optimizer step, without grad (e.g.
    WGAN weight clipping, a constraint on the weights rather than a loss).
    """

    name: str
    opt: str
    compute: Callable[["StepContext"], dict]
    interval: int = 1
    repeats: int = 1
    after_step: Callable[["StepContext"], None] | None = None
    repeats_at: Callable[[int], int] | None = None

    def times(self, step: int) -> int:
        """How many times the phase runs at ``step``."""
        return self.repeats_at(step) if self.repeats_at is not None else self.repeats


class StepContext:
    """What a phase sees: the batch, the nets, the step, and the step's shared fake batch."""

    def __init__(self, recipe: "Recipe", nets: dict[str, nn.Module], batch: dict, step: int,
                 rng: torch.Generator, device: torch.device, device_rng: torch.Generator | None = None):
        self.recipe, self.nets, self.batch, self.step = recipe, nets, batch, step
        self.rng, self.device = rng, device
        # on a GPU the trainer passes a generator on the device: noise is drawn there, not
        # drawn on the CPU and copied (``rng`` stays the CPU stream for small draws)
        self.device_rng = device_rng
        self._fake: dict | None = None
        self.fake_has_graph = False
        self.augment: Callable[[torch.Tensor], torch.Tensor] = _identity
        """Differentiable augmentation applied to every image D sees, real and fake alike
        (DiffAugment / ADA; identity unless the loop enables it). Recipes call
        ``D(ctx.augment(x))`` for real and fake inputs to D."""
        self.real_sign: torch.Tensor | None = None
        """Mean sign of D's outputs on reals in this phase, reported by recipes through
        :meth:`report_real_logits`; ADA adapts its strength to it."""
        self.reg_scale = 1.0
        """Multiplier of every regularizer weight this step (``schedule.reg``, set by the loop;
        e.g. R3GAN's gamma decay). Recipes multiply their regularization losses by it."""
        self.g_topk = 1.0
        """Fraction of the fake batch G's adversarial loss uses this step (``schedule.topk``, set
        by the loop; 1: all). :func:`top_k_fakes` keeps the fakes D scores most realistic."""

    def report_real_logits(self, d_real: torch.Tensor) -> None:
        """Tell the trainer D's raw outputs on real images (ADA's overfitting signal r_t)."""
        self.real_sign = d_real.detach().float().sign().mean()

    @property
    def has_fake(self) -> bool:
        """True once this step's fake batch has been drawn."""
        return self._fake is not None

    def randn(self, *shape: int) -> torch.Tensor:
        """Standard normal noise from the loop's seeded stream (a pure function of the step)."""
        if self.device_rng is not None:
            return torch.randn(*shape, generator=self.device_rng, device=self.device)
        return torch.randn(*shape, generator=self.rng).to(self.device)

    def randint(self, high: int, n: int) -> torch.Tensor:
        return torch.randint(high, (n,), generator=self.rng).to(self.device)

    def fake(self) -> dict:
        """The step's fake batch (``recipe.generate``), computed once and memoised.

        When the loop has prepared it with the graph to G (``share_fake``), the G phase
        reuses it; otherwise it is computed here without a graph (D steps only need it
        detached).
        """
        if self._fake is None:
            self._noise_state = self._rng_states()
            with torch.no_grad():
                self._fake = self.recipe.generate(self)
        return self._fake

    def share_fake(self) -> None:
        """Compute the fake batch with the graph to G, for reuse by the G phase.

        If a graph-free fake was already drawn, the same noise is drawn again, so the G
        phase trains on exactly the fakes D saw.
        """
        replay = getattr(self, "_noise_state", None)
        if replay is not None:
            now = self._rng_states()
            self._set_rng_states(replay)
        self._fake = self.recipe.generate(self)
        if replay is not None:
            self._set_rng_states(now)
        self.fake_has_graph = True

    def _rng_states(self) -> tuple:
        return self.rng.get_state(), self.device_rng.get_state() if self.device_rng is not None else None

    def _set_rng_states(self, states: tuple) -> None:
        self.rng.set_state(states[0])
        if self.device_rng is not None:
            self.device_rng.set_state(states[1])

    def fresh_fake_with_graph(self) -> dict:
        """The fake batch with a graph to G (reuses the shared one when it has one)."""
        if self._fake is None or not self.fake_has_graph:
            self.share_fake()
        return self._fake


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def fill_kwargs(net_cfg, defaults: dict[str, Any]) -> None:
    """Set ``defaults`` into a net's kwargs where its builder takes them and the user did not."""
    if not net_cfg.name:
        raise UserError("a network of this recipe has no name: set e.g. G.name=dcgan_g (see `gankit recipes`)")
    builder = NETS.get(net_cfg.name)
    params = inspect.signature(builder).parameters
    for k, v in defaults.items():
        if k in params and k not in net_cfg.kwargs:
            net_cfg.kwargs[k] = v


class Recipe:
    """Base class; subclasses register with ``@RECIPES.register(name)``."""

    name = ""
    description = ""
    groups: dict[str, tuple[str, ...]] = {"G": ("G",), "D": ("D",)}
    sample_net = "G"  # the net that makes samples (G_ema when the loop keeps one)
    share_fake = True  # the loop computes generate() once per step for the D and G phases
    options: dict = {}  # recipe options (``cfg.options``) and their defaults (their types are checked)
    kinds: tuple[str, ...] = ()  # the data kinds it trains on (see gankit.modality); empty: any
    # Abilities that sampling and the latent tools ask about (declared, never guessed):
    text_conditional = False  # G takes a sentence embedding (``gankit sample --text``)
    translation = False  # translates inputs: has translate/input_spec/output_spec/picture
    latent_codes = False  # InfoGAN-style codes in z: has code_dim(opts) and latent()
    data_hint = ""  # named in the error for other data, e.g. "e.g. moving-digits"

    def __init__(self, cfg: Config, meta: dict):
        self.cfg, self.meta = cfg, meta
        self.loss_fn = LOSSES.get(cfg.loss.name)
        self._splits: DataSplits | None = None

    @property
    def splits(self) -> DataSplits:
        """The dataset's splits (the trainer passes the run's, with the training split loaded;
        a checkpoint loaded for sampling gets its own, loaded on first use)."""
        if self._splits is None:
            self._splits = DataSplits(self.cfg.data)
        return self._splits

    @splits.setter
    def splits(self, value: DataSplits) -> None:
        self._splits = value

    @classmethod
    def read_options(cls, cfg: Config) -> dict:
        """``cfg.options`` over the recipe's defaults; unknown keys or wrong types are UserErrors."""
        out = dict(cls.options)
        for key, value in (cfg.options or {}).items():
            if key not in cls.options:
                allowed = ", ".join(sorted(cls.options)) or "none"
                raise UserError(f"options.{key}: recipe {cfg.recipe!r} has no such option (it takes: {allowed})")
            out[key] = coerce_option(key, value, cls.options[key])
        return out

    @classmethod
    def check_data(cls, cfg: Config, meta: dict) -> None:
        """UserError unless the data is of a kind this recipe trains on (``kinds``) and the
        configured augmentation applies to it. Runs before :meth:`resolve`."""
        m = require(cls.kinds, meta, f"recipe {cfg.recipe!r}", cfg.data.name, cls.data_hint)
        if cfg.augment.name and not m.augmentable:
            raise UserError(f"augment.name={cfg.augment.name}: augmentation is for images, not {m.what} data")

    # Subclasses override these ------------------------------------------------
    @classmethod
    def resolve(cls, cfg: Config, meta: dict) -> Config:
        return cfg

    def build_nets(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def generate(self, ctx: StepContext) -> dict:
        raise NotImplementedError

    def sample(self, G: nn.Module, n: int, seed: int, y: torch.Tensor | None = None, **kw) -> torch.Tensor:
        raise NotImplementedError

    def net_configs(self) -> dict:
        """Net name -> NetConfig (name + kwargs), written beside each net's weights."""
        return {"G": self.cfg.G, "D": self.cfg.D}

    # Helpers ------------------------------------------------------------------
    def build(self, net_cfg) -> nn.Module:
        if not net_cfg.name:
            raise UserError(f"recipe {self.name!r}: a network has no name in the config")
        try:
            return NETS.build(net_cfg.name, **net_cfg.kwargs)
        except (TypeError, ValueError) as e:
            raise UserError(f"net {net_cfg.name!r}: {e}") from None


def coerce_option(key: str, value, default):
    """Check an option's value against the type of its default."""
    want = type(default)
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, list):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value]  # --set options.cat=10 means [10]
        ok = isinstance(value, (list, tuple))
        value = list(value) if ok else value
    else:
        ok = isinstance(value, want)
    if not ok:
        raise UserError(f"options.{key} must be a {want.__name__} like {default!r}, got {value!r}")
    return value


class OptionalCritic:
    """Mixin for recipes whose G may train without a D (``self.has_d`` False: an L1-only
    ablation): the nets, their configs and the phases follow ``has_d``."""

    has_d = True

    def build_nets(self):
        nets = {"G": self.build(self.cfg.G)}
        if self.has_d:
            nets["D"] = self.build(self.cfg.D)
        return nets

    def net_configs(self):
        return {"G": self.cfg.G, "D": self.cfg.D} if self.has_d else {"G": self.cfg.G}

    def phases(self):
        return ([Phase("D", "D", self.d_step)] if self.has_d else []) + [Phase("G", "G", self.g_step)]
