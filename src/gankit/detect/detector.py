"""A real-vs-generated image detector: a small CNN trained on real images and a generator's.

The approach of Wang et al. 2020 ("CNN-generated images are surprisingly easy to spot... for
now", CVPR): a plain binary classifier on real vs generated images finds the up-sampling
artefacts generators leave (Frank et al. 2020, "Leveraging frequency analysis for deep fake
image recognition"), and it generalises better, and survives JPEG and blur better, when trained
with blur/JPEG augmentation (``augment="robust"`` here). The net keeps full resolution in its
first layers (the artefacts are in the highest frequencies), then pools globally, so it accepts
any image size; it outputs one logit, ``sigmoid`` = probability that the image is generated.

A detector directory holds ``config.json`` (``{"kind": "gankit-detector", "format": 1,
"arch": ..., "resolution": .., "channels": .., "trained_on": .., "heldout": ..}``) and
``model.safetensors``: nothing is pickled, and :func:`load_detector` rebuilds it from JSON.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import UserError
from ..modality import modality
from . import attacks
from .images import nchw, nhwc

KIND = "gankit-detector"
FORMAT = 1


class DetectorNet(nn.Module):
    """conv3x3 x2 at full resolution, then 2 x (stride-2 conv3x3, conv3x3), LeakyReLU(0.2), no
    normalisation (no batch statistics to leak between real and fake images), global average
    pool, linear -> 1 logit. Input [N, C, H, W] floats in [-1, 1], any H, W >= 4."""

    def __init__(self, channels: int = 1, width: int = 16):
        super().__init__()
        w = width

        def conv(a, b, stride=1):
            return [nn.Conv2d(a, b, 3, stride, 1), nn.LeakyReLU(0.2, inplace=True)]

        self.body = nn.Sequential(*conv(channels, w), *conv(w, w), *conv(w, 2 * w, 2), *conv(2 * w, 2 * w),
                                  *conv(2 * w, 4 * w, 2), *conv(4 * w, 4 * w))
        self.head = nn.Linear(4 * w, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).mean(dim=(2, 3)))[:, 0]  # [N] logits


@dataclass
class TrainOptions:
    """How a detector is trained (stored in its config.json)."""

    steps: int = 2000  # Adam steps of batch_size images (half real, half generated)
    batch_size: int = 64
    lr: float = 1e-3  # peak; cosine decay to 0
    width: int = 16
    seed: int = 0
    # robust: random JPEG 60-95 and down-up resizes, each p = 0.5 (Wang et al. 2020); on digits
    # it also generalises far better to generators not seen in training (docs/RESULTS.md)
    augment: str = "robust"  # robust | none


@dataclass
class Detector:
    """A trained detector: the net and what it expects."""

    net: DetectorNet
    resolution: int
    channels: int
    info: dict = field(default_factory=dict)
    path: Path | None = None

    @torch.no_grad()
    def score(self, x: torch.Tensor, batch: int = 256) -> np.ndarray:
        """Probability generated [N] of uint8 images [N, C, H, W] (already at ``channels``)."""
        self.net.eval()
        out = [torch.sigmoid(self.net(_float(x[s:s + batch]))) for s in range(0, len(x), batch)]
        return torch.cat(out).numpy() if out else np.zeros(0)


def _float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div(127.5).sub(1.0)


# --------------------------------------------------------------------------- training


def _augment_batch(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Blur + JPEG augmentation (Wang et al. 2020): each image is independently JPEG-compressed
    (quality 60-95) with p = 0.5 and shrunk to 50-90 % and re-enlarged with p = 0.5."""
    from PIL import Image

    arr = nhwc(x)
    out = arr.copy()
    for i, img in enumerate(arr):
        if rng.random() < 0.5:
            im = Image.fromarray(img[..., 0] if img.shape[2] == 1 else img)
            s = rng.uniform(0.5, 0.9)
            w, h = im.size
            im = im.resize((max(2, round(w * s)), max(2, round(h * s))), Image.BILINEAR)
            im = im.resize((w, h), Image.BILINEAR)
            img = np.asarray(im)[..., None] if img.shape[2] == 1 else np.asarray(im)
        if rng.random() < 0.5:
            img = attacks.jpeg(img, int(rng.integers(60, 96)))
        out[i] = img
    return nchw(out)


def train_detector(real: torch.Tensor, fake: torch.Tensor, options: TrainOptions | None = None) -> Detector:
    """Train on uint8 images ``real`` and ``fake`` [N, C, H, W] (same C, H, W)."""
    options = options or TrainOptions()
    if len(real) < 2 or len(fake) < 2:
        raise UserError(f"detect train: needs at least 2 real and 2 generated images, got {len(real)} and {len(fake)}")
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"real {tuple(real.shape[1:])} and generated {tuple(fake.shape[1:])} images differ")
    if options.augment not in ("none", "robust"):
        raise UserError(f"--augment must be none or robust, got {options.augment!r}")
    g = torch.Generator().manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options.seed)
        net = DetectorNet(real.shape[1], options.width)
    opt = torch.optim.Adam(net.parameters(), lr=options.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.5 * (1 + math.cos(math.pi * i / options.steps)))
    half = max(1, options.batch_size // 2)
    streams = {"real": [real, None, 0], "fake": [fake, None, 0]}

    def take(name: str) -> torch.Tensor:
        data, perm, pos = streams[name]
        if perm is None or pos + half > len(perm):
            perm, pos = torch.randperm(len(data), generator=g), 0
        streams[name] = [data, perm, pos + half]
        return data[perm[pos:pos + half]]

    target = torch.cat([torch.zeros(half), torch.ones(half)])  # 1 = generated
    loss_fn = nn.BCEWithLogitsLoss()
    net.train()
    for _ in range(options.steps):
        xr, xf = take("real"), take("fake")
        x = torch.cat([xr, xf])
        if options.augment == "robust":
            x = _augment_batch(x, rng)
        loss = loss_fn(net(_float(x)), target[:len(x)])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    return Detector(net, int(real.shape[-1]), int(real.shape[1]), {"train": asdict(options)})


# --------------------------------------------------------------------------- evaluation


def roc_auc(scores_real: np.ndarray, scores_fake: np.ndarray) -> float:
    """Area under the ROC curve (generated = positive): the Mann-Whitney U statistic / (n_r n_f),
    i.e. the probability that a random generated image scores above a random real one (ties 1/2)."""
    real = np.sort(np.asarray(scores_real, dtype=np.float64))
    fake = np.asarray(scores_fake, dtype=np.float64)
    if len(real) == 0 or len(fake) == 0:
        return float("nan")
    below = np.searchsorted(real, fake, side="left")  # reals scoring strictly lower, per fake
    tied = np.searchsorted(real, fake, side="right") - below
    return float((below.sum() + 0.5 * tied.sum()) / (len(real) * len(fake)))


def apply_attack(x: torch.Tensor, attack: str) -> torch.Tensor:
    """Apply a registered attack (``none``, ``jpeg75``, ``resize50``) to uint8 images [N, C, H, W]."""
    fn = attacks.ATTACKS.get(attack)
    if attack == "none":
        return x
    return nchw(np.stack([fn(im) for im in nhwc(x)]))


def evaluate_detector(det: Detector, real: torch.Tensor, fake: torch.Tensor, attack: str = "none",
                      threshold: float = 0.5) -> dict:
    """Accuracy (at ``threshold``, classes weighted equally) and ROC AUC on held-out images,
    after ``attack`` (applied to real and generated images alike)."""
    sr, sf = det.score(apply_attack(real, attack)), det.score(apply_attack(fake, attack))
    acc = 0.5 * (float(np.mean(sr < threshold)) + float(np.mean(sf >= threshold)))
    return {"accuracy": round(acc, 4), "auc": round(roc_auc(sr, sf), 4), "n_real": len(sr), "n_fake": len(sf),
            "real_mean_score": round(float(sr.mean()), 4), "fake_mean_score": round(float(sf.mean()), 4),
            "attack": attack}


# --------------------------------------------------------------------------- files


def save_detector(det: Detector, out: str | Path) -> Path:
    """Write ``config.json`` + ``model.safetensors`` into the folder ``out``."""
    from safetensors.torch import save_file

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "config.json").is_file():
        raise UserError(f"--out {out}: folder is not empty; choose a new folder")
    out.mkdir(parents=True, exist_ok=True)
    cfg = {"kind": KIND, "format": FORMAT, "arch": {"name": "DetectorNet", "channels": det.channels,
                                                    "width": det.net.head.in_features // 4},
           "resolution": det.resolution, "channels": det.channels, **det.info}
    state = {k: v.detach().contiguous().cpu() for k, v in det.net.state_dict().items()}
    save_file(state, str(out / "model.safetensors"))
    (out / "config.json").write_text(json.dumps(cfg, indent=1))
    det.path = out
    return out


def load_detector(path: str | Path, flag: str = "--checkpoint") -> Detector:
    """Rebuild a detector from its folder (JSON + safetensors only), or a one-line UserError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    p = Path(path)
    if not p.exists():
        raise UserError(f"{flag} {p}: no such detector folder")
    if p.is_file():
        raise UserError(f"{flag} {p}: a file; expected a detector folder (config.json + model.safetensors)")
    cfg_file = p / "config.json"
    if not cfg_file.is_file():
        what = ("a generator checkpoint or run" if any((p / n).exists() for n in
                ("config.yaml", "state.json", "checkpoints")) else "not a gankit detector")
        raise UserError(f"{flag} {p}: {what}, not a detector (no config.json); train one with "
                        f"`gankit detect train --real DATA --fake CKPT --out DIR`")
    try:
        cfg = json.loads(cfg_file.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{cfg_file}: unreadable ({e})") from None
    if not isinstance(cfg, dict) or cfg.get("kind") != KIND:
        what = "a generator network" if isinstance(cfg, dict) and "name" in cfg else "not a gankit detector"
        raise UserError(f"{flag} {p}: {what}, not a detector (config.json has no kind {KIND!r})")
    if int(cfg.get("format", 0)) > FORMAT:
        raise UserError(f"{cfg_file}: written by a newer gankit (format {cfg['format']}); upgrade gankit")
    try:
        arch = cfg["arch"]
        net = DetectorNet(int(arch["channels"]), int(arch["width"]))
        net.load_state_dict(load_file(str(p / "model.safetensors")), strict=True)
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"{cfg_file}: malformed detector config ({e})") from None
    except (SafetensorError, OSError, RuntimeError) as e:
        first = str(e).strip().splitlines()
        raise UserError(f"{p / 'model.safetensors'}: unreadable or does not fit "
                        f"({first[0] if first else type(e).__name__})") from None
    net.eval().requires_grad_(False)
    info = {k: v for k, v in cfg.items() if k not in ("kind", "format", "arch", "resolution", "channels")}
    return Detector(net, int(cfg["resolution"]), int(cfg["channels"]), info, p)


# --------------------------------------------------------------------------- data sources


def generated_images(checkpoint: str | Path, n: int, seed: int) -> tuple[torch.Tensor, dict]:
    """``n`` uint8 images [n, C, H, W] from a generator checkpoint, and a description of it."""
    from .. import load, viz
    from ..generate import checkpoint_hash, sample

    model = load(checkpoint)
    if not modality(model.meta).from_noise_images:
        raise UserError(f"--fake {checkpoint}: makes {modality(model.meta)}, not images")
    x = sample(model, n, seed=seed)
    u8 = torch.from_numpy(viz.to_uint8_images(x)).permute(0, 3, 1, 2).contiguous()
    return u8, {"checkpoint": str(model.path), "recipe": model.config.recipe, "step": model.step,
                "sha256": checkpoint_hash(model)}


def real_images(spec: str, resolution: int, channels: int, holdout: float = 0.2,
                seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, str]:
    """``(train, held-out, how)`` uint8 images of a built-in dataset (its train / test splits) or
    a user folder (a seeded ``holdout`` share kept aside), at ``resolution`` and ``channels``."""
    from ..config import DataConfig
    from ..data import load_data
    from ..data.base import convert_channels

    cfg = DataConfig(name=spec, resolution=resolution)
    train = load_data(cfg, split="train")
    if not modality(train).from_noise_images:
        raise UserError(f"--real {spec}: is {train.kind} data; the detector needs images")
    how = "train/test splits"
    try:
        test = load_data(cfg, split="test")
        same = test.x.shape == train.x.shape and torch.equal(test.x, train.x)
    except (ValueError, TypeError, KeyError, UserError):
        same = True
    if same:
        perm = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed + 17))
        k = max(1, round(len(train) * holdout))
        train, test = train.subset(perm[k:]), train.subset(perm[:k])
        how = f"seeded {holdout:.0%} hold-out"
    return convert_channels(train.x, channels), convert_channels(test.x, channels), how


def train_from_sources(real: str, fakes: list[str], out: str | Path, n: int = 0,
                       options: TrainOptions | None = None, resolution: int | None = None) -> dict:
    """``gankit detect train``: real images from ``real`` (a dataset name or folder), as many
    generated ones from the checkpoints ``fakes`` (split evenly, seed ``options.seed``), train,
    measure on held-out images (real test split vs fresh samples, seed + 1), save to ``out``."""
    from ..data.base import convert_channels

    options = options or TrainOptions()
    if not fakes:
        raise UserError("--fake: name at least one generator checkpoint")
    t0 = time.perf_counter()
    probe = [generated_images(f, 1, 0)[0] for f in fakes]
    res = resolution or int(probe[0].shape[-1])
    ch = max(int(p.shape[1]) for p in probe)
    real_train, real_test, how = real_images(real, res, ch, seed=options.seed)
    if n > 0:
        real_train = real_train[torch.randperm(len(real_train), generator=torch.Generator().manual_seed(
            options.seed))[:n]]
    per = [len(real_train) // len(fakes) + (i < len(real_train) % len(fakes)) for i in range(len(fakes))]
    per_test = [len(real_test) // len(fakes) + (i < len(real_test) % len(fakes)) for i in range(len(fakes))]
    fake_train, fake_test, described = [], [], []
    for f, m, mt in zip(fakes, per, per_test):
        x, desc = generated_images(f, m, options.seed)
        xt, _ = generated_images(f, mt, options.seed + 1)
        fake_train.append(_fit(convert_channels(x, ch), res))
        fake_test.append(_fit(convert_channels(xt, ch), res))
        described.append(desc)
    det = train_detector(real_train, torch.cat(fake_train), options)
    heldout = evaluate_detector(det, real_test, torch.cat(fake_test))
    det.info.update({"trained_on": {"real": real, "real_holdout": how, "n_real": len(real_train),
                                    "n_fake": sum(per), "fakes": described},
                     "heldout": heldout})
    save_detector(det, out)
    return {"out": str(out), "heldout": heldout, "n_real": len(real_train), "n_fake": sum(per),
            "resolution": res, "channels": ch, "seconds": round(time.perf_counter() - t0, 1)}


def _fit(x: torch.Tensor, resolution: int) -> torch.Tensor:
    from ..data.base import resize_images

    if x.shape[-1] == resolution and x.shape[-2] == resolution:
        return x
    return resize_images(x.float(), resolution).round().clamp(0, 255).to(torch.uint8)
