"""Numeric precision of a training step: which autocast, and how losses go backward.

A :class:`Precision` is the only place the trainer asks "how do I run this maths?": its
``autocast()`` wraps every phase's forward pass, and ``backward`` / ``unscale`` / ``step``
wrap the optimizer calls, so a precision that needs loss scaling (fp16) changes this file
and nothing else.
"""
from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def cpu_has_fast_bf16() -> bool:
    """True on CPUs with native bf16 math (AVX512-BF16 or AMX), where bf16 autocast pays.

    Also False when torch's kernels are held below AVX-512 (``ATEN_CPU_CAPABILITY=avx2``,
    e.g. to reproduce an AVX2-only machine), since bf16 then runs emulated, slower than fp32.
    """
    if torch.backends.cpu.get_cpu_capability() not in ("AVX512", "AMX"):
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
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


class Precision:
    """fp32, bf16 or fp16 autocast on ``device`` (``loop.precision``, ``auto`` resolved).

    fp16 (whose range ends at 65504) scales each loss by a :class:`torch.amp.GradScaler` before
    backward so small gradients do not flush to zero, unscales the gradients before they are
    checked, and lets the scaler skip an optimizer step whose gradients overflowed (the scale
    halves, and grows again x2 after ``growth_interval`` clean steps). The scaler's state is
    saved in checkpoints, so a resumed fp16 run continues with the same scale.
    """

    def __init__(self, name: str, device: torch.device, init_scale: float = 2.0**16, growth_interval: int = 2000):
        self.name = resolve_precision(name, device)
        self.device = device
        self.scaler = (torch.amp.GradScaler(device.type, init_scale=init_scale, growth_interval=growth_interval)
                       if self.name == "fp16" else None)
        self.overflows = 0  # optimizer steps the scaler skipped (gradients overflowed in fp16)

    @property
    def scaling(self) -> bool:
        """True when losses are scaled (fp16): an overflow is the scaler's business, not divergence."""
        return self.scaler is not None

    def autocast(self):
        if self.name in ("bf16", "fp16"):
            dtype = torch.bfloat16 if self.name == "bf16" else torch.float16
            return torch.autocast(self.device.type, dtype=dtype)
        return contextlib.nullcontext()

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale(self, opt: torch.optim.Optimizer) -> None:
        """Bring gradients to their true scale before they are checked or clipped."""
        if self.scaler is not None:
            self.scaler.unscale_(opt)

    def step(self, opt: torch.optim.Optimizer) -> None:
        """The optimizer step; with a scaler it is skipped when the unscaled gradients hold an
        inf/NaN, and the scale is updated either way."""
        if self.scaler is None:
            opt.step()
            return
        before = self.scaler.get_scale()
        self.scaler.step(opt)
        self.scaler.update()
        if self.scaler.get_scale() < before:
            self.overflows += 1

    def logs(self) -> dict:
        """Values worth logging (the loss scale of fp16 runs)."""
        return {"precision/loss_scale": self.scaler.get_scale()} if self.scaler is not None else {}

    def state_dict(self) -> dict:
        """What a checkpoint must hold for an exact resume (JSON-serialisable)."""
        if self.scaler is None:
            return {}
        return {"scaler": {k: float(v) if isinstance(v, float) else v for k, v in self.scaler.state_dict().items()},
                "overflows": self.overflows}

    def load_state_dict(self, state: dict) -> None:
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
            self.overflows = int(state.get("overflows", 0))
