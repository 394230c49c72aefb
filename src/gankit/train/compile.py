"""``loop.compile``: run the nets' forward passes through ``torch.compile`` (TorchInductor).

Inductor fuses the elementwise tails of each layer (batch norm's normalisation, the
activation, the bias) into one kernel and, on CPU, writes C++/OpenMP code for them, so the
time a step spends outside convolutions shrinks. It is opt-in because the first steps pay the
compilation (tens of seconds on a small CPU) and because not every step compiles:

* Gradient penalties (R1, WGAN-GP, path length) differentiate D's or G's gradient
  (``create_graph=True``); compiled graphs do not support double backward, so recipes with
  them keep eager nets (a one-line message says so).
* Any failure while compiling (no C++ compiler, an op inductor cannot lower, ...) falls back
  to the eager forward with one line naming the net and the error; training goes on.

Each net's ``forward`` is replaced on the instance, so its ``state_dict`` (and checkpoints),
its attributes (``G.z_dim``) and its hooks stay exactly those of the eager module.
"""
from __future__ import annotations

import shutil
import sys

import torch
from torch import nn


def _say(msg: str) -> None:
    print(f"gankit: loop.compile: {msg}", file=sys.stderr)


def double_backward_reason(recipe) -> str | None:
    """Why this recipe's steps need double backward (so compile is skipped), or None."""
    from ..regularizers import R1, GradientPenalty

    regs = [r for r in getattr(recipe, "regs", []) if isinstance(r, (R1, GradientPenalty))]
    if regs:
        return f"gradient penalty {type(regs[0]).__name__}"
    if float(getattr(recipe, "opts", {}).get("pl_weight", 0.0) or 0.0) > 0:
        return "path-length regularization"
    return None


class _CompiledForward:
    """``net.forward`` replaced by its compiled version, with a one-time eager fallback."""

    def __init__(self, name: str, net: nn.Module, **options):
        self.name, self.eager = name, net.forward
        self.compiled = torch.compile(self.eager, **options)
        self.failed = False

    def __call__(self, *args, **kwargs):
        if not self.failed:
            try:
                return self.compiled(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 -- any compiler failure: run eagerly from now on
                self.failed = True
                first = (str(e).strip().splitlines() or [""])[0][:160]
                _say(f"torch.compile failed for {self.name} ({type(e).__name__}: {first}); running it eagerly")
        return self.eager(*args, **kwargs)


def compile_nets(nets: dict[str, nn.Module], recipe, device: torch.device, names=None) -> list[str]:
    """Compile the forward of each net in ``names`` (default: the trained nets, not G_ema);
    returns the names compiled (empty when compile is not possible here, with a message)."""
    reason = double_backward_reason(recipe)
    if reason:
        _say(f"skipped: the recipe's {reason} needs double backward, which compiled graphs do not support")
        return []
    if device.type == "cpu" and not (shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")):
        _say("skipped: inductor needs a C++ compiler on CPU and none is on PATH (install g++)")
        return []
    names = [n for n in (names or nets) if n != "G_ema"]
    for n in names:
        # dynamic=False: GAN batches keep one shape; a changed shape (last sample grid) recompiles
        nets[n].forward = _CompiledForward(n, nets[n], dynamic=False)
    return names


def uncompile(net: nn.Module) -> None:
    """Give ``net`` back its eager forward (e.g. before it is copied or exported)."""
    if isinstance(net.__dict__.get("forward"), _CompiledForward):
        del net.forward
