"""Feature extractors: images (or points) -> feature vectors, and class probabilities when the
extractor is a classifier. Every metric value is reported with the name of its extractor.

=========  ===============================================================================
digits     the shipped digits CNN (``digits_classifier.py``): 128-d penultimate features and
           10 class probabilities, per channel (3-channel stacked digits: 3 x 128 features,
           probabilities per channel). Input resized to 32 px.
randconv   a fixed, randomly initialised conv net with seeded weights (no training, no
           download): 384-d features for any gray/RGB images (resized to 32 px). Random
           embeddings are a legitimate, if weaker, feature space for FID/PRDC (Naeem et al.
           2020, Sec. 5); numbers are comparable only with other ``randconv`` numbers.
inception  Inception-v3 pool3 (2048-d), the standard FID network; needs the user's local
           weights file (``--inception-weights`` / ``GANKIT_INCEPTION_WEIGHTS``) and
           torchvision. Never downloaded implicitly; see ``inception.py``.
points     the raw coordinates of 2D (or D-dim) points.
=========  ===============================================================================
"""
from __future__ import annotations

import functools
import hashlib

import numpy as np
import torch
from torch import nn

from ..errors import UserError
from ..modality import modality
from ..registry import Registry
from .extractor_base import Extractor

EXTRACTORS = Registry("extractor")
DIGIT_DATASETS = ("digits", "stacked-digits", "stacked_digits", "stackeddigits")


def _hash_tensors(tensors: dict[str, torch.Tensor], extra: str) -> str:
    h = hashlib.sha256(extra.encode())
    for k in sorted(tensors):
        h.update(k.encode())
        h.update(tensors[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    from ..data.base import resize_images

    return resize_images(x, size)


@EXTRACTORS.register("points")
class PointsExtractor(Extractor):
    """Identity on points: 2D metrics use the raw coordinates."""

    name, points, batch_size = "points", True, 100_000

    def fingerprint(self) -> str:
        return "points-identity-v1"

    def extract(self, x):
        return x.reshape(len(x), -1).double(), None


@EXTRACTORS.register("digits")
class DigitsExtractor(Extractor):
    """The shipped digits classifier, applied to each channel (stacked digits) at 32 px."""

    name, num_classes, batch_size = "digits", 10, 500

    def __init__(self, weights: str | None = None):
        from .digits_classifier import (
            WEIGHTS_FILE,
            fused_for_inference,
            load_digits_classifier,
            weights_sha256,
        )

        self.net = fused_for_inference(load_digits_classifier(weights))
        self._fp = "digits-v1-" + weights_sha256(weights or WEIGHTS_FILE)

    def fingerprint(self) -> str:
        return self._fp

    @torch.no_grad()
    def extract(self, x):
        b, c = x.shape[:2]
        x = _resize(x.float().reshape(b * c, 1, *x.shape[2:]), 32)  # [B*C, 1, 32, 32]
        f, p = self.net.features_and_probs(x.contiguous(memory_format=torch.channels_last))
        return f.reshape(b, -1), p.reshape(b, c, -1)


class RandConvNet(nn.Module):
    """Four stride-2 3x3 conv + ReLU layers (3 -> 32 -> 64 -> 128 -> 256) on 32 px input;
    features = global average pools of the last two layers (128 + 256 = 384-d)."""

    widths = (3, 32, 64, 128, 256)

    def __init__(self, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)  # numpy's PCG64: the same weights on every platform
        self.convs = nn.ModuleList()
        for a, b in zip(self.widths[:-1], self.widths[1:]):
            conv = nn.Conv2d(a, b, 3, stride=2, padding=1)
            w = rng.standard_normal((b, a, 3, 3)) * np.sqrt(2.0 / (a * 9))  # He init keeps the scale
            conv.weight.data = torch.from_numpy(w.astype(np.float32))
            conv.bias.data.zero_()
            self.convs.append(conv)
        self.requires_grad_(False).eval()

    def forward(self, x):
        pools = []
        for conv in self.convs:
            x = torch.relu(conv(x))
            pools.append(x.mean((2, 3)))
        return torch.cat(pools[-2:], 1)  # [N, 384]


@EXTRACTORS.register("randconv")
class RandConvExtractor(Extractor):
    """A fixed random conv net (seeded): generic features for any images, offline."""

    name = "randconv"
    resolution = 32  # gankit's default image size; larger images are downsampled (antialiased)

    def __init__(self, seed: int = 0):
        self.net = RandConvNet(seed)
        self._fp = _hash_tensors(self.net.state_dict(), f"randconv-v1-{self.resolution}")

    def fingerprint(self) -> str:
        return self._fp

    @torch.no_grad()
    def extract(self, x):
        x = x.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] != 3:
            raise UserError(f"--extractor randconv: needs 1 or 3 channels, got {x.shape[1]}")
        return self.net(_resize(x, self.resolution)), None


@EXTRACTORS.register("inception")
def _inception(weights: str | None = None) -> Extractor:
    from .inception import InceptionExtractor

    return InceptionExtractor(weights)


def default_extractor(meta: dict) -> str:
    """The best extractor available offline for this data: points -> ``points``; the digits
    datasets (plain or stacked) -> ``digits``; any other images -> ``randconv``."""
    if modality(meta).points:
        return "points"
    name = str(meta.get("name", "")).lower()
    if name in DIGIT_DATASETS or "sklearn.datasets.load_digits" in str(meta.get("info", {}).get("source", "")):
        return "digits"
    return "randconv"


@functools.lru_cache(maxsize=8)
def _cached(name: str, weights: str | None) -> Extractor:
    builder = EXTRACTORS.get(name)
    return builder(weights) if weights else builder()


def get_extractor(name: str | None, meta: dict, inception_weights: str | None = None,
                  flag: str = "--extractor") -> Extractor:
    """The extractor ``name`` (default: :func:`default_extractor`), checked against the data."""
    name = name or default_extractor(meta)
    if name not in EXTRACTORS:
        raise UserError(f"{flag}: unknown extractor {name!r}; choices: {', '.join(EXTRACTORS)}")
    weights = None
    if name == "inception":
        from .inception import resolve_weights

        weights = str(resolve_weights(inception_weights))  # UserError saying how to get them
    ext = _cached(name, weights)
    ext.check(meta, flag)
    return ext
