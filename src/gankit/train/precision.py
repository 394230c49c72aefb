"""Numeric precision of a training step: which autocast, and how losses go backward.

A :class:`Precision` is the only place the trainer asks "how do I run this maths?": its
``autocast()`` wraps every phase's forward pass, and ``backward`` / ``unscale`` / ``step``
wrap the optimizer calls, so a precision that needs loss scaling (fp16) changes this file
and nothing else.
"""
from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("auto", "fp32", "bf16")


def cpu_has_fast_bf16() -> bool:
    """True on CPUs with native bf16 math (AVX512-BF16 or AMX), where bf16 autocast pays."""
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
    """fp32 or bf16 autocast on ``device`` (``loop.precision``, ``auto`` resolved)."""

    def __init__(self, name: str, device: torch.device):
        self.name = resolve_precision(name, device)
        self.device = device

    def autocast(self):
        if self.name == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def backward(self, loss: torch.Tensor) -> None:
        loss.backward()

    def unscale(self, opt: torch.optim.Optimizer) -> None:
        """Bring gradients to their true scale before they are checked or clipped."""

    def step(self, opt: torch.optim.Optimizer) -> None:
        opt.step()

    def state_dict(self) -> dict:
        """What a checkpoint must hold for an exact resume (JSON-serialisable)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
