"""The ``digits`` feature extractor's network: a small CNN classifier of 32x32 gray digits.

Trained by ``scripts/train_digits_classifier.py`` on the fixed ``train`` split of the sklearn
digits (``gankit.data.digits.digits_split``), with pixels from ``digits_uint8(32)`` so they
match the training data of every gankit digits run exactly. The weights ship inside the
package (``gankit/weights/digits_classifier.safetensors``, with a JSON description beside
them holding the held-out accuracy and the sha256 of the file).

Features are the penultimate layer (128-d, after ReLU); class probabilities are the softmax
of the last layer (used by the Inception Score, the mode counts and ``class_acc``).
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
from pathlib import Path

import torch
from torch import nn

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
WEIGHTS_FILE = WEIGHTS_DIR / "digits_classifier.safetensors"
META_FILE = WEIGHTS_DIR / "digits_classifier.json"
INPUT_RESOLUTION = 32


class DigitsNet(nn.Module):
    """3 conv blocks (conv3x3-BN-ReLU-maxpool; widths w, 2w, 4w) -> fc ``feat_dim`` -> 10 logits.

    Input: [N, 1, 32, 32] floats in [-1, 1] (uint8 pixels / 127.5 - 1, as the loop sees data).
    """

    def __init__(self, width: int = 16, feat_dim: int = 128, num_classes: int = 10, dropout: float = 0.3):
        super().__init__()
        widths = [1, width, 2 * width, 4 * width]
        blocks: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            blocks += [nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
        self.conv = nn.Sequential(*blocks)  # [N, 4w, 4, 4]
        side = INPUT_RESOLUTION // 8
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(widths[-1] * side * side, feat_dim), nn.ReLU(inplace=True))
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(feat_dim, num_classes)
        self.feat_dim, self.num_classes = feat_dim, num_classes

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations [N, feat_dim]."""
        return self.fc(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits [N, num_classes]."""
        return self.head(self.drop(self.features(x)))

    def features_and_probs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)
        return f, torch.softmax(self.head(f), dim=1)


def fused_for_inference(net: DigitsNet) -> DigitsNet:
    """A copy with each BatchNorm folded into the conv before it (eval-mode BN is affine) and
    channels-last weights: the same function (to float rounding, ~1e-6), ~2x faster on CPU."""
    import copy

    net = copy.deepcopy(net).eval()
    layers, out = list(net.conv), []
    i = 0
    while i < len(layers):
        conv = layers[i]
        if isinstance(conv, nn.Conv2d) and i + 1 < len(layers) and isinstance(layers[i + 1], nn.BatchNorm2d):
            bn = layers[i + 1]
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # y = scale * (conv - mean) + beta
            fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding)
            fused.weight.data = conv.weight * scale[:, None, None, None]
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            fused.bias.data = bn.bias + (bias - bn.running_mean) * scale
            out.append(fused)
            i += 2
        else:
            out.append(conv)
            i += 1
    net.conv = nn.Sequential(*out)
    return net.to(memory_format=torch.channels_last).requires_grad_(False)


def weights_sha256(path: Path = WEIGHTS_FILE) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@functools.lru_cache(maxsize=2)
def load_digits_classifier(path: str | None = None) -> DigitsNet:
    """The shipped classifier (eval mode, no grad). ``path`` overrides the packaged weights."""
    from safetensors.torch import load_file

    from ..errors import UserError

    weights = Path(path) if path else WEIGHTS_FILE
    meta_file = weights.with_suffix(".json")
    if not weights.is_file():
        raise UserError(f"{weights}: the digits classifier weights are missing; "
                        f"recreate them with `python scripts/train_digits_classifier.py`")
    arch = json.loads(meta_file.read_text()).get("arch", {}) if meta_file.is_file() else {}
    net = DigitsNet(**arch)
    net.load_state_dict(load_file(str(weights)), strict=True)
    net.eval().requires_grad_(False)
    return net
