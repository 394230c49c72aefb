"""The Detect page: the real-vs-generated detector of :mod:`gankit.detect`, when one is given."""
from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np

from ..data.transforms import image_array
from ..detect.detector import load_detector
from ..detect.images import to_batch
from ..detect.run import THRESHOLD
from ..errors import UserError


class Detector:
    """The detector folder given as ``--detector`` (config.json + safetensors), or none.

    Scores an image as ``gankit detect`` does (:func:`gankit.detect.images.to_batch`: centre
    square crop, resized to the detector's resolution). Without a detector, :attr:`status`
    says why and the page shows it.
    """

    def __init__(self, path: str | Path | None = None):
        self.det, self.lock, self.threshold = None, threading.Lock(), float(THRESHOLD)
        if path is None:
            self.status = ("no detector loaded: start the studio with --detector DIR "
                           "(train one with `gankit detect train --real DATA --fake CHECKPOINT --out DIR`)")
        else:
            self.det = load_detector(path, flag="--detector")
            self.status = f"detector: {Path(path).name}"

    @property
    def available(self) -> bool:
        return self.det is not None

    def score(self, image) -> float:
        """Probability that ``image`` (a decoded PIL image) is generated, in [0, 1]."""
        if self.det is None:
            raise UserError(self.status)
        arr = np.array(image_array(image))  # a writable copy, [H, W] or [H, W, C]
        arr = arr[..., None] if arr.ndim == 2 else arr  # [H, W, C]
        with self.lock:
            p = float(self.det.score(to_batch([arr], self.det.channels, self.det.resolution))[0])
        if not math.isfinite(p):
            raise UserError("detector: returned a non-finite score")
        return p
