"""The ``inception`` extractor: Inception-v3 pool3 features (2048-d), the network of FID.

The standard FID network is the TensorFlow Inception-v3 of 2015-12-05 as ported to PyTorch by
pytorch-fid (Seitzer 2020): ``pt_inception-2015-12-05-6726825d.pth``. Its blocks differ from
torchvision's Inception-v3 in the pooling of Mixed_5b..7c (average pools that do not count
padding; max pooling in the last block), which we reproduce below on top of torchvision's
blocks. torchvision is an optional dependency, imported only here and only when this
extractor is asked for; the weights are never downloaded unless a user calls
:func:`fetch_weights` explicitly. Without them a UserError says how to get them: no other
network is ever substituted under this name.

Preprocessing (as pytorch-fid): images in [-1, 1], gray replicated to RGB, resized bilinearly
to 299 x 299; features = the 2048-d global average pool before the classifier.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import UserError
from .extractor_base import Extractor, cache_dir

ENV = "GANKIT_INCEPTION_WEIGHTS"
FILENAME = "pt_inception-2015-12-05-6726825d.pth"
URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{FILENAME}"
HOW = (f"download {URL} (e.g. `python -c \"from gankit.metrics.inception import fetch_weights; "
       f"fetch_weights()\"`, which saves it under the gankit cache), then pass "
       f"--inception-weights PATH or set {ENV}=PATH; torchvision must be installed "
       f"(pip install torchvision)")


def resolve_weights(path: str | None = None) -> Path:
    """The weights file from the flag, else the env var; UserError if absent."""
    flag = "--inception-weights" if path else ENV
    path = path or os.environ.get(ENV)
    if not path:
        raise UserError(f"--extractor inception: needs the FID Inception weights file, which is not "
                        f"part of gankit; {HOW}")
    p = Path(path).expanduser()
    if not p.is_file():
        raise UserError(f"{flag}: {p} does not exist; {HOW}")
    return p


def fetch_weights(dest: str | Path | None = None) -> Path:
    """Download the pytorch-fid Inception weights (only when called: an explicit request)."""
    import urllib.request

    dest = Path(dest) if dest else cache_dir() / FILENAME
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    urllib.request.urlretrieve(URL, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    if not digest.startswith("6726825d"):
        tmp.unlink()
        raise UserError(f"{URL}: downloaded file has sha256 {digest[:8]}..., expected 6726825d...")
    os.replace(tmp, dest)
    return dest


def _fid_blocks():
    """pytorch-fid's pooling variants of torchvision's Inception blocks."""
    from torchvision.models import inception as tv

    def avg(x):
        return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)

    class FIDInceptionA(tv.InceptionA):
        def forward(self, x):
            b1 = self.branch1x1(x)
            b5 = self.branch5x5_2(self.branch5x5_1(x))
            b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
            return torch.cat([b1, b5, b3, self.branch_pool(avg(x))], 1)

    class FIDInceptionC(tv.InceptionC):
        def forward(self, x):
            b1 = self.branch1x1(x)
            b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
            bd = x
            for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                          self.branch7x7dbl_5):
                bd = layer(bd)
            return torch.cat([b1, b7, bd, self.branch_pool(avg(x))], 1)

    class FIDInceptionE(tv.InceptionE):
        max_pool = False  # E_1 (Mixed_7b): average pool without padding; E_2 (Mixed_7c): max pool

        def forward(self, x):
            b1 = self.branch1x1(x)
            b3 = self.branch3x3_1(x)
            b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
            bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else avg(x)
            return torch.cat([b1, b3, bd, self.branch_pool(pooled)], 1)

    class FIDInceptionE2(FIDInceptionE):
        max_pool = True

    return tv, FIDInceptionA, FIDInceptionC, FIDInceptionE, FIDInceptionE2


def build_fid_inception(weights: Path) -> torch.nn.Module:
    try:
        tv, A, C, E1, E2 = _fid_blocks()
    except ImportError:
        raise UserError("--extractor inception: needs torchvision, an optional dependency that is not "
                        "installed (pip install torchvision)") from None
    net = tv.Inception3(num_classes=1008, aux_logits=False, init_weights=False)
    net.Mixed_5b, net.Mixed_5c, net.Mixed_5d = A(192, 32), A(256, 64), A(288, 64)
    net.Mixed_6b, net.Mixed_6c, net.Mixed_6d, net.Mixed_6e = C(768, 128), C(768, 160), C(768, 160), C(768, 192)
    net.Mixed_7b, net.Mixed_7c = E1(1280), E2(2048)
    try:
        if weights.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(weights))
        else:
            state = torch.load(str(weights), map_location="cpu", weights_only=True)  # tensors only, no code
        net.load_state_dict(state, strict=True)
    except Exception as e:  # noqa: BLE001  (any unreadable / mismatched file is the user's file)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"--inception-weights: {weights} is not the FID Inception weights ({first}); {HOW}") from None
    return net.eval().requires_grad_(False)


class InceptionExtractor(Extractor):
    """Inception-v3 pool3 features (2048-d) with the user's FID weights."""

    name = "inception"
    batch_size = 50

    def __init__(self, weights: str | Path | None = None):
        self.path = resolve_weights(str(weights) if weights else None)
        self.net = build_fid_inception(self.path)
        h = hashlib.sha256()
        with open(self.path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        self._fp = "inception-pool3-v1-" + h.hexdigest()

    def fingerprint(self) -> str:
        return self._fp

    @torch.no_grad()
    def extract(self, x):
        x = x.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        n = self.net
        x = n.Conv2d_2b_3x3(n.Conv2d_2a_3x3(n.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = n.Conv2d_4a_3x3(n.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
                      "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"):
            x = getattr(n, block)(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1), None  # [N, 2048]
