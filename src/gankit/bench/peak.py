"""How far a loop is from the hardware: FLOPs per training step and the machine's measured peak.

* :func:`count_flops` runs real training steps under ``torch.utils.flop_counter.FlopCounterMode``
  and returns the FLOPs they executed (matmuls and convolutions, forward and backward, as
  counted by PyTorch's own formulas; elementwise ops, norms and the optimizer count 0, so the
  figure is the *useful* arithmetic of the nets).
* :func:`measured_peak` times a large matmul and a convolution in the same process, the same
  dtype and the same thread count as the benchmark, and keeps the faster: the GFLOP/s this
  machine actually reaches on dense maths, the honest ceiling for a GAN step (a vendor's
  theoretical peak is rarely reachable on a loaded 2-core VM).
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class _GlobalOnly:
    """Stands in for FlopCounterMode's module tracker: its backward hooks break
    ``autograd.grad(..., create_graph=True)`` on leaf inputs (R1, path length), and only the
    global total is wanted here."""

    parents = frozenset({"Global"})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def count_flops(step: Callable[[], object], n: int = 1) -> int:
    """FLOPs executed by ``n`` calls of ``step()`` (``FlopCounterMode``, no display)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()
    with counter:
        for _ in range(n):
            step()
    return int(counter.get_total_flops())


def _best_seconds(fn: Callable[[], object], device: torch.device, reps: int, min_time: float) -> float:
    """The fastest of ``reps`` timed calls (after one warm-up call), repeated until ``min_time``."""
    from .naive import now

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    fn()
    sync()
    best, spent, done = float("inf"), 0.0, 0
    while done < reps or spent < min_time:
        t0 = now()
        fn()
        sync()
        dt = now() - t0
        best, spent, done = min(best, dt), spent + dt, done + 1
        if done >= 50 * reps:
            break
    return best


def measured_peak(precision: str = "fp32", device: torch.device | str = "cpu", matmul_n: int | None = None,
                  reps: int = 3, min_time: float = 0.3) -> dict:
    """GFLOP/s of a square matmul and of a 3x3 convolution (NHWC) in ``precision``.

    Returns ``{"matmul_gflops", "conv_gflops", "peak_gflops" (the larger), "dtype"}``. Sizes
    are large enough to run at the kernels' full speed (2048^2 on CPU, 8192^2 on CUDA) and
    small enough to take about a second on a 2-core CPU.
    """
    device = torch.device(device)
    dtype = DTYPES[precision]
    n = matmul_n or (8192 if device.type == "cuda" else 2048)
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device, dtype)
    b = torch.randn(n, n, generator=g).to(device, dtype)
    t_mm = _best_seconds(lambda: torch.mm(a, b), device, reps, min_time)
    # a DCGAN-like middle layer: batch 64, 128 -> 128 channels, 16 x 16, 3 x 3, channels_last
    batch, c, hw, k = (256, 256, 32, 3) if device.type == "cuda" else (64, 128, 16, 3)
    x = torch.randn(batch, c, hw, hw, generator=g).to(device, dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(c, c, k, k, generator=g).to(device, dtype).contiguous(memory_format=torch.channels_last)
    t_conv = _best_seconds(lambda: F.conv2d(x, w, padding=1), device, reps, min_time)
    mm = 2 * n**3 / t_mm / 1e9
    conv = 2 * batch * c * hw * hw * c * k * k / t_conv / 1e9
    return {"matmul_gflops": round(mm, 1), "conv_gflops": round(conv, 1), "peak_gflops": round(max(mm, conv), 1),
            "dtype": precision, "threads": torch.get_num_threads()}


def efficiency(flops_per_step: int, img_per_s: float, batch_size: int, peak_gflops: float) -> dict:
    """``{"flops_per_step", "gflops", "pct_of_peak"}`` of a loop running at ``img_per_s``
    (``pct_of_peak`` to 3 significant digits, so a small step on a fast machine is not 0.0)."""
    gflops = flops_per_step * img_per_s / batch_size / 1e9
    pct = 100 * gflops / peak_gflops if peak_gflops > 0 else 0.0
    return {"flops_per_step": int(flops_per_step), "gflops": round(gflops, 2),
            "pct_of_peak": float(f"{pct:.3g}")}
