"""The 2D playground: a small GAN trained step by step on a 2D dataset, for one browser session.

The adversarial game made visible (after GAN Lab, Kahng et al. 2019): the page draws the real
points, the generated points (from a fixed set of z, so each point moves smoothly between
frames), the discriminator's output over the plane as a heat map, and for some generated
points the direction the generator's loss pushes them (minus its gradient w.r.t. the point).

G and D are gankit's own MLPs (:mod:`gankit.nets.mlp`); the loss is any name in
``gankit.losses`` (``LOSSES``); ``pack`` m > 1 makes D a PacGAN discriminator (Lin et al.
2018) that judges m samples at once; ``gp`` > 0 adds the WGAN-GP penalty (Gulrajani et al.
2017), which a Wasserstein critic needs to stay 1-Lipschitz.
"""
from __future__ import annotations

import math
import threading

import numpy as np
import torch

from ..errors import UserError
from ..losses import g_needs_real
from ..nets.mlp import MLPDiscriminator, MLPGenerator
from ..registry import LOSSES

DATASETS_2D = ("ring8", "grid25", "spiral", "moons")
MAX_STEPS = 500  # steps per request
MAX_PACK = 4
BATCH = 120  # divisible by every pack size 1..4
SHOW = 360  # points drawn per side (divisible by every pack size)
ARROWS = 72  # generated points that also get a gradient arrow
HEAT = 40  # the heat map is HEAT x HEAT cells
HISTORY = 1000  # loss points kept (halved by dropping every other one when full)
# How D's raw output becomes a 0..1 colour: a probability for logistic losses; LSGAN's
# targets are 0 and 1 already; critics (hinge, Wasserstein) are rescaled to the map's range.
HEAT_SCALE = {"minimax": "sigmoid", "nonsaturating": "sigmoid", "relativistic": "sigmoid", "lsgan": "clamp"}

_data_lock = threading.Lock()
_data_cache: dict[str, object] = {}


def loss_names() -> list[str]:
    """Every registered adversarial loss (the playground's choices)."""
    return [name for name, _ in LOSSES.items()]


def _dataset(name: str):
    """The built-in 2D dataset ``name`` (20,000 points), built once per process."""
    from ..data import dataset_spec

    with _data_lock:
        if name not in _data_cache:
            _data_cache[name] = dataset_spec(name)(resolution=0, split="train", n=20_000)
        return _data_cache[name]


def _round(a: torch.Tensor, nd: int = 3) -> list:
    """A flat list for JSON (which has no NaN/inf: a diverged net draws at the edge, not a 500)."""
    a = torch.nan_to_num(a.detach().float().cpu(), nan=0.0, posinf=1e6, neginf=-1e6)
    return np.round(a.numpy().reshape(-1), nd).tolist()


class Playground:
    """A G/D pair on a 2D dataset, advanced ``steps`` at a time by :meth:`step`.

    One D step and one G step per training step, Adam (lr, betas (0.5, 0.999)) as in
    gankit's ``gan`` preset, batches of 120 real points and 120 fakes. Not thread-safe by
    itself: the caller holds the session's lock.
    """

    def __init__(self, dataset: str = "ring8", loss: str = "nonsaturating", pack: int = 1, gp: float = 0.0,
                 lr: float = 1e-3, seed: int = 0, hidden: int = 128, z_dim: int = 8):
        if dataset not in DATASETS_2D:
            raise UserError(f"dataset must be one of {', '.join(DATASETS_2D)}, got {dataset!r}")
        if loss not in loss_names():
            raise UserError(f"loss must be one of {', '.join(loss_names())}, got {loss!r}")
        if not 1 <= pack <= MAX_PACK:
            raise UserError(f"pack must be in 1..{MAX_PACK}, got {pack}")
        if not (0 <= gp <= 100 and math.isfinite(gp)):
            raise UserError(f"gp (gradient penalty weight) must be in [0, 100], got {gp}")
        if not (0 < lr <= 0.1 and math.isfinite(lr)):
            raise UserError(f"lr must be in (0, 0.1], got {lr}")
        self.dataset, self.loss_name, self.pack, self.gp, self.lr = dataset, loss, pack, gp, lr
        self.loss_fn = LOSSES.get(loss)
        data = _dataset(dataset)
        self.x, self.info = data.x.float(), data.info
        torch.manual_seed(seed)  # initial weights
        self.G = MLPGenerator(z_dim=z_dim, out_shape=[2], hidden=hidden, depth=3)
        self.D = MLPDiscriminator(in_shape=[2], hidden=hidden, depth=3, pack=pack)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr, betas=(0.5, 0.999))
        self.rng = torch.Generator().manual_seed(seed + 1)
        show = torch.Generator().manual_seed(seed + 2)
        self.z_show = torch.randn(SHOW, z_dim, generator=show)  # fixed: points move smoothly
        self.real_show = self.x[torch.randint(len(self.x), (SHOW,), generator=show)]
        self.z_eval = torch.randn(1000, z_dim, generator=show)
        lim = float(self.x.abs().max()) * 1.3
        self.view = [-lim, lim]
        self.step_count = 0
        self.history: dict[str, list] = {"step": [], "d": [], "g": []}
        self.skipped = 0

    # ------------------------------------------------------------------ training
    def _train_step(self) -> tuple[float, float] | None:
        n = BATCH
        real = self.x[torch.randint(len(self.x), (n,), generator=self.rng)]  # [n, 2]
        z = torch.randn(n, self.G.z_dim, generator=self.rng)
        fake = self.G(z)  # [n, 2]
        # D step: fakes detached, so only D learns here.
        loss_d, _ = self.loss_fn(self.D(real), self.D(fake.detach()))
        if self.gp:
            from ..regularizers import gradient_penalty

            loss_d = loss_d + self.gp * gradient_penalty(self.D, real, fake, pack=self.pack, rng=self.rng)
        if not torch.isfinite(loss_d):
            return None
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        # G step: D's weights get gradients too, but only G's optimizer steps (and D's are
        # cleared before its next step).
        d_real = self.D(real).detach() if g_needs_real(self.loss_fn) else None
        _, loss_g = self.loss_fn(d_real, self.D(fake))
        if not torch.isfinite(loss_g):
            return None
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        return float(loss_d.detach()), float(loss_g.detach())

    def step(self, steps: int) -> dict:
        """Advance ``steps`` (1..``MAX_STEPS``) training steps; returns :meth:`state`."""
        if not 1 <= steps <= MAX_STEPS:
            raise UserError(f"steps must be in 1..{MAX_STEPS}, got {steps}")
        sums, count = [0.0, 0.0], 0
        record_every = max(1, steps // 50)
        for i in range(steps):
            out = self._train_step()
            self.step_count += 1
            if out is None:  # a non-finite loss: skip the update, as the loop's guard would
                self.skipped += 1
                continue
            sums[0] += out[0]
            sums[1] += out[1]
            count += 1
            if count == record_every or i == steps - 1:
                self._record(sums[0] / count, sums[1] / count)
                sums, count = [0.0, 0.0], 0
        return self.state()

    def _record(self, d: float, g: float) -> None:
        h = self.history
        h["step"].append(self.step_count)
        h["d"].append(round(d, 5))
        h["g"].append(round(g, 5))
        if len(h["step"]) > HISTORY:
            for k in h:
                h[k] = h[k][::2]

    # ------------------------------------------------------------------ pictures
    def _heat(self) -> tuple[list, str]:
        lo, hi = self.view
        c = torch.linspace(lo, hi, HEAT)
        yy, xx = torch.meshgrid(c.flip(0), c, indexing="ij")  # row 0 = top of the picture
        pts = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)  # [HEAT^2, 2]
        # A packed D scores m samples at once: score each cell as a pack of m copies of it.
        with torch.no_grad():
            out = self.D(pts.repeat_interleave(self.pack, 0))  # [HEAT^2]
        mode = HEAT_SCALE.get(self.loss_name, "range")
        if mode == "sigmoid":
            v = torch.sigmoid(out)
        elif mode == "clamp":
            v = out.clamp(0, 1)
        else:
            v = (out - out.min()) / (out.max() - out.min()).clamp_min(1e-8)
        return _round(v, 3), mode

    def _arrows(self) -> list:
        """``[x, y, dx, dy] * ARROWS``: where G's loss pushes the first generated points."""
        k = ARROWS - ARROWS % self.pack
        z = self.z_show[:k]
        with torch.no_grad():
            fake = self.G(z)
        fake = fake.clone().requires_grad_(True)
        real = self.real_show[:k] if g_needs_real(self.loss_fn) else None
        _, loss_g = self.loss_fn(None if real is None else self.D(real).detach(), self.D(fake))
        (grad,) = torch.autograd.grad(loss_g, fake)
        self.D.zero_grad(set_to_none=True)
        step = -grad
        norm = step.norm(dim=1).max().clamp_min(1e-12)
        step = step / norm * (self.view[1] - self.view[0]) * 0.06  # longest arrow: 6% of the view
        return _round(torch.cat([fake.detach(), step], 1), 4)

    def metrics(self) -> dict:
        """Mode coverage of 1,000 generated points (PacGAN's 2D protocol, ``gankit.metrics.modes``)."""
        from ..metrics.modes import curve_labels, curve_metrics_2d, mode_metrics_2d

        with torch.no_grad():
            pts = self.G(self.z_eval).numpy()
        if not np.isfinite(pts).all():
            return {}
        if "means" in self.info:
            m = mode_metrics_2d(pts, np.asarray(self.info["means"]), self.info["std"])
        else:
            m = curve_metrics_2d(pts, np.asarray(self.info["curve"]), curve_labels(self.info), self.info["std"])
        return {k: (round(v, 3) if math.isfinite(v) else None) for k, v in m.items()}

    def state(self) -> dict:
        """Everything the page draws: points, heat map, arrows, loss history, mode metrics."""
        with torch.no_grad():
            fake = self.G(self.z_show)
        heat, scale = self._heat()
        return {
            "step": self.step_count, "dataset": self.dataset, "loss": self.loss_name, "pack": self.pack,
            "gp": self.gp, "lr": self.lr, "view": self.view, "real": _round(self.real_show),
            "fake": _round(fake), "arrows": self._arrows(), "heat": {"n": HEAT, "values": heat, "scale": scale},
            "history": self.history, "metrics": self.metrics(), "skipped": self.skipped,
        }
