"""Run logging: metrics.jsonl (one JSON object per logged step) and TensorBoard scalars/images."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np


class RunLogger:
    def __init__(self, run_dir: Path, tensorboard: bool = True, enabled: bool = True):
        self.enabled = enabled
        self.path = Path(run_dir) / "metrics.jsonl"
        self.tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(run_dir))
            except ImportError:  # tensorboard is a dependency, but stay usable without it
                self.tb = None

    def scalars(self, step: int, values: dict) -> None:
        if not self.enabled or not values:
            return
        clean = {k: float(v) for k, v in values.items()}
        with open(self.path, "a") as fh:
            fh.write(json.dumps({"step": step, **{k: (v if math.isfinite(v) else str(v)) for k, v in clean.items()}}) + "\n")
        if self.tb is not None:
            for k, v in clean.items():
                self.tb.add_scalar(k, v, step)

    def image(self, step: int, tag: str, hwc_uint8: np.ndarray) -> None:
        if self.enabled and self.tb is not None:
            self.tb.add_image(tag, hwc_uint8, step, dataformats="HWC")

    def close(self) -> None:
        if self.tb is not None:
            self.tb.flush()
            self.tb.close()


def read_metrics(run_dir: Path) -> list[dict]:
    """All rows of a run's metrics.jsonl (skipping a torn last line)."""
    rows = []
    p = Path(run_dir) / "metrics.jsonl"
    if p.is_file():
        for line in p.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows
