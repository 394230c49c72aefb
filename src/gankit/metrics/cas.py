"""Classification Accuracy Score (Ravuri & Vinyals 2019, "Classification Accuracy Score for
Conditional Generative Models", NeurIPS): train a classifier on *generated* data only and test
it on *real* held-out data.

CAS asks whether a conditional generator's classes are right and diverse enough to stand in
for the real training set, which FID/IS do not measure. Following the paper, the synthetic set
is the size of the real training set (``ceil(N_train / K)`` per class, classes balanced), and
the classifier is fixed: :data:`PROTOCOL` (architecture, optimiser, steps, batch, seed) is
defined once here and used for every row, so rows differ only in their training data:

==============  ==================================================================
``cas``         synthetic only (the CAS of the paper)
``cas_real_M``  real only, ``M`` images per class (``all``: the whole train split)
``cas_mix_M``   those ``M`` real images per class + the synthetic set
==============  ==================================================================

all tested on the dataset's real ``test`` split (digits: the fixed 360 held-out images of
``gankit.data.digits.digits_split("test")``). The real-only rows do not depend on the model:
they are the yardstick (what the same classifier learns from real data), and the mixed rows
say whether synthetic data helps when real data is scarce.

The classifier trains for a fixed number of optimiser *steps* rather than epochs, so every row
gets the same compute whatever its data size (10 real images per class are seen many times,
real + synthetic fewer). No data augmentation: the rows compare data, not tricks.

``gankit eval --checkpoint C --metrics cas`` computes it (slow: 7 classifier trainings, about
a minute on a 2-core CPU; it is not a default metric). Library: :func:`cas_table`.
"""
from __future__ import annotations

import itertools
import math
import time
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..errors import UserError
from .core import EvalContext, register_metric

REAL_SIZES = (10, 50, 0)  # images per class for the real-only / mixed rows; 0 = all


@dataclass(frozen=True)
class CASProtocol:
    """The fixed classifier recipe: every CAS number in gankit uses these values."""

    width: int = 16  # conv widths width, 2*width, 4*width
    steps: int = 300  # Adam steps, batch_size images each
    batch_size: int = 64
    lr: float = 3e-3  # peak; cosine decay to 0 over the steps
    weight_decay: float = 1e-4
    seed: int = 0  # initialisation, batch order and real-subset choice
    threads: int = 1  # torch intra-op threads while training (results do not depend on it)


PROTOCOL = CASProtocol()


class CASNet(nn.Module):
    """A small CNN classifier: 3 x (conv3x3-BN-ReLU, 2x2 max-pool), global average pool, linear.

    Global pooling makes it resolution-agnostic; input [N, C, H, W] floats in [-1, 1].
    """

    def __init__(self, channels: int, num_classes: int, width: int = 16):
        super().__init__()
        w = [channels, width, 2 * width, 4 * width]
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(w):
            layers += [nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(w[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).mean(dim=(2, 3)))  # [N, K] logits


def _float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div(127.5).sub(1.0)


def train_classifier(x: torch.Tensor, y: torch.Tensor, num_classes: int,
                     protocol: CASProtocol = PROTOCOL) -> CASNet:
    """Train :class:`CASNet` on uint8 images ``x`` [N, C, H, W] with labels ``y`` [N]."""
    if len(x) == 0:
        raise UserError("CAS: no training images")
    g = torch.Generator().manual_seed(protocol.seed)
    with torch.random.fork_rng(devices=[]):  # a seeded init that leaves the global RNG alone
        torch.manual_seed(protocol.seed)
        net = CASNet(x.shape[1], num_classes, protocol.width)
    opt = torch.optim.Adam(net.parameters(), lr=protocol.lr, weight_decay=protocol.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.5 * (1 + math.cos(math.pi * i / protocol.steps)))
    loss_fn = nn.CrossEntropyLoss()
    net.train()
    perm, pos = torch.randperm(len(x), generator=g), 0
    for _ in range(protocol.steps):
        if pos + protocol.batch_size > len(perm):  # a new epoch: a new seeded shuffle
            perm, pos = torch.randperm(len(x), generator=g), 0
        idx = perm[pos:pos + protocol.batch_size]
        pos += len(idx)
        loss = loss_fn(net(_float(x[idx])), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return net.eval()


@torch.no_grad()
def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 500) -> float:
    """Top-1 accuracy of ``net`` on uint8 images ``x`` with labels ``y``."""
    net.eval()
    pred = torch.cat([net(_float(x[s:s + batch])).argmax(1) for s in range(0, len(x), batch)])
    return float((pred == y).float().mean())


def per_class_subset(y: torch.Tensor, m: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``m`` examples of every class (all when ``m`` is 0), a seeded choice."""
    if m <= 0:
        return torch.arange(len(y))
    g = torch.Generator().manual_seed(seed + 7)
    perm = torch.randperm(len(y), generator=g)
    picks = [perm[y[perm] == c][:m] for c in torch.unique(y).tolist()]
    return torch.sort(torch.cat(picks)).values


def cas_table(real_train: tuple[torch.Tensor, torch.Tensor], real_test: tuple[torch.Tensor, torch.Tensor],
              synthetic: tuple[torch.Tensor, torch.Tensor] | None, num_classes: int,
              real_sizes: tuple[int, ...] = REAL_SIZES, protocol: CASProtocol = PROTOCOL) -> dict:
    """Accuracy on ``real_test`` of the fixed classifier trained on each training set.

    Sets are ``(uint8 images [N, C, H, W], labels [N])``. Returns ``{"cas": ..,
    "cas_real_<M>": .., "cas_mix_<M>": ..}`` (``M`` = images per class or ``all``); without
    ``synthetic`` only the real rows.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, protocol.threads))
    try:
        xt, yt = real_test
        out: dict[str, float] = {}
        if synthetic is not None:
            out["cas"] = accuracy(train_classifier(*synthetic, num_classes, protocol), xt, yt)
        for m in real_sizes:
            tag = str(m) if m > 0 else "all"
            idx = per_class_subset(real_train[1], m, protocol.seed)
            xr, yr = real_train[0][idx], real_train[1][idx]
            out[f"cas_real_{tag}"] = accuracy(train_classifier(xr, yr, num_classes, protocol), xt, yt)
            if synthetic is not None:
                xm, ym = torch.cat([xr, synthetic[0]]), torch.cat([yr, synthetic[1]])
                out[f"cas_mix_{tag}"] = accuracy(train_classifier(xm, ym, num_classes, protocol), xt, yt)
        return out
    finally:
        torch.set_num_threads(threads)


def real_splits(data_cfg):
    """``(train (x, y), test (x, y))`` of a labelled dataset with a held-out test split."""
    from ..config import DataConfig
    from ..data import load_data
    from .evaluate import load_reference_data

    train = load_data(DataConfig(**{**data_cfg.__dict__, "limit": 0}), split="train")
    test, split = load_reference_data(data_cfg, "test")
    if split != "test":
        raise UserError(f"--metrics cas: dataset {data_cfg.name!r} has no held-out test split to test on")
    if train.y is None or test.y is None or train.num_classes < 2:
        raise UserError(f"--metrics cas: dataset {data_cfg.name!r} has no class labels")
    return (train.x, train.y), (test.x, test.y)


def classification_accuracy_score(model, seed: int = 0, per_class: int | None = None,
                                  real_sizes: tuple[int, ...] = REAL_SIZES,
                                  protocol: CASProtocol = PROTOCOL) -> dict:
    """The CAS table of a class-conditional model (``gankit.load``) on its dataset.

    ``per_class``: synthetic images per class (default: the real train split's size / K).
    """
    from ..synth import require_conditional, synthetic_images

    k = require_conditional(model, "--metrics cas")
    train, test = real_splits(model.config.data)
    per_class = per_class or math.ceil(len(train[1]) / k)
    t0 = time.perf_counter()
    synthetic = synthetic_images(model, per_class, seed=seed)
    if synthetic[0].shape[1:] != train[0].shape[1:]:
        raise UserError(f"--metrics cas: generated images {tuple(synthetic[0].shape[1:])} do not match the "
                        f"data's {tuple(train[0].shape[1:])}")
    out = cas_table(train, test, synthetic, k, real_sizes, protocol)
    return {**out, "cas_per_class": per_class, "cas_seconds": round(time.perf_counter() - t0, 1)}


def protocol_description(protocol: CASProtocol = PROTOCOL) -> dict:
    return asdict(protocol)


# --------------------------------------------------------------------------- the registered metric

_KEYS = ("cas",) + tuple(f"cas_{kind}_{m if m else 'all'}" for m in REAL_SIZES for kind in ("real", "mix"))


def _model_of(ctx: EvalContext):
    """The generator being evaluated (CAS trains on generated *images*, not features)."""
    if ctx.model is None:
        raise UserError("--metrics cas: needs a generator to sample from: `gankit eval --checkpoint C --metrics cas` "
                        "(not --real-vs-real or in-training evaluation)")
    return ctx.model


@register_metric("cas", _KEYS, higher=_KEYS,
                 description="Classification Accuracy Score: a fixed CNN trained on generated data, tested on "
                             "real test data; + real-only and real+synthetic rows (Ravuri & Vinyals 2019); slow")
def _cas(ctx: EvalContext) -> dict:
    res = classification_accuracy_score(_model_of(ctx), seed=ctx.seed, protocol=PROTOCOL)  # read at call time
    return {k: res[k] for k in _KEYS}
