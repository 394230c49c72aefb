"""The references: GAN training loops written the way tutorials write them.

Every reference here is deliberately plain: fp32, NCHW, a ``DataLoader`` over in-memory uint8
tensors normalised in the loop, default (non-fused, for-loop) ``torch.optim.Adam``,
``zero_grad()`` and a *fresh* generator forward for the D step and another for the G step.
Each runs on the same architecture (the same ``nn.Module`` objects, built by the gankit recipe)
as the gankit workload it is compared with; only the loop differs.

* :class:`NaiveDCGAN`: the pytorch/examples ``dcgan/main.py`` loop (``nn.BCELoss`` on sigmoid
  outputs, real and fake D losses backpropagated separately).
* :class:`NaiveStyleGAN2`: the shape of rosinality's ``stylegan2-pytorch/train.py``
  (non-saturating softplus losses, style mixing, lazy R1 every ``r1_interval`` steps and
  lazy path-length every ``pl_interval`` steps on a batch ``pl_batch_shrink`` times smaller,
  EMA of G every step), with the intervals and weights of gankit's config, so that both loops
  do the same work per step.
* :class:`NaivePix2Pix`: the shape of junyanz ``pix2pix_model.py`` (``BCEWithLogitsLoss``
  GAN loss, D loss halved, L1 x ``l1_weight``), except that, as the issue asks of all
  references, the G step runs G again instead of reusing the D step's output.

:func:`timed_rates` runs any of them for a number of steps and returns images/s of each
timed window after warm-up; :func:`naive_throughput` keeps the older DCGAN-only entry point.
"""
from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn


def _to_float(x: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    # uint8 [0, 255] -> [-1, 1] on the CPU, as a tutorial's Normalize(0.5, 0.5), then
    # ``.to(device)`` from pageable memory, as a tutorial's training loop does
    return (x.float() / 127.5 - 1).to(device)


def _device_of(net: nn.Module) -> torch.device:
    return next(net.parameters()).device


def loader_batches(tensors: tuple[torch.Tensor, ...], batch_size: int) -> Iterator[tuple[torch.Tensor, ...]]:
    """Shuffled batches from a ``DataLoader`` over in-memory tensors, epoch after epoch, forever."""
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*tensors), batch_size=batch_size,
                                         shuffle=True, drop_last=True)
    while True:
        yield from loader


class NaiveDCGAN:
    """pytorch/examples DCGAN: BCELoss on sigmoid(D), two G forwards per step."""

    def __init__(self, G: nn.Module, D: nn.Module, z_dim: int, lr: float = 2e-4, betas=(0.5, 0.999)):
        self.G, self.D, self.z_dim = G, D, z_dim
        self.criterion = nn.BCELoss()
        self.opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
        self.opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)

    def step(self, real: torch.Tensor) -> None:
        G, D, criterion = self.G, self.D, self.criterion
        dev = _device_of(G)
        real = _to_float(real, dev)
        n = real.size(0)
        ones, zeros = torch.ones(n, device=dev), torch.zeros(n, device=dev)
        # D step
        D.zero_grad()
        out_real = torch.sigmoid(D(real).view(-1))
        criterion(out_real, ones).backward()
        fake = G(torch.randn(n, self.z_dim, device=dev))
        out_fake = torch.sigmoid(D(fake.detach()).view(-1))
        criterion(out_fake, zeros).backward()
        self.opt_d.step()
        # G step, with a fresh generator forward
        G.zero_grad()
        fake = G(torch.randn(n, self.z_dim, device=dev))
        loss_g = criterion(torch.sigmoid(D(fake).view(-1)), ones)
        loss_g.backward()
        self.opt_g.step()


class NaiveStyleGAN2:
    """StyleGAN2 the way rosinality's ``train.py`` writes it, on gankit's StyleGAN2 nets.

    Same work per step as gankit's ``stylegan2`` recipe: D step (non-saturating), lazy R1
    (gamma ``r1_gamma``, every ``r1_interval`` steps, loss x interval), G step on a fresh
    forward, lazy path length (every ``pl_interval`` steps, weight x interval, batch /
    ``pl_batch_shrink``), style mixing with probability ``mixing_prob``, and an EMA copy of G
    updated every step. Adam with the config's (already lazy-corrected) lr and betas.
    """

    def __init__(self, G: nn.Module, D: nn.Module, lr_g: float, betas_g, lr_d: float, betas_d,
                 r1_gamma: float, r1_interval: int, pl_weight: float, pl_interval: int, pl_decay: float = 0.01,
                 pl_batch_shrink: int = 2, mixing_prob: float = 0.9, ema: float = 0.998):
        self.G, self.D = G, D
        self.G_ema = copy.deepcopy(G).eval().requires_grad_(False)
        self.opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=tuple(betas_g))
        self.opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=tuple(betas_d))
        self.r1_gamma, self.r1_interval = r1_gamma, r1_interval
        self.pl_weight, self.pl_interval, self.pl_decay = pl_weight, pl_interval, pl_decay
        self.pl_batch_shrink, self.mixing_prob, self.ema = pl_batch_shrink, mixing_prob, ema
        self.mean_path_length = 0.0
        self.i = 0

    def _ws(self, n: int) -> torch.Tensor:
        G = self.G
        dev = _device_of(G)
        ws = G.mapping(torch.randn(n, G.z_dim, device=dev))
        if torch.rand(()) < self.mixing_prob:  # style mixing: a second z after a random layer
            cutoff = int(torch.randint(1, G.num_ws, ()))
            ws2 = G.mapping(torch.randn(n, G.z_dim, device=dev))
            ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], 1)
        return ws

    def step(self, real: torch.Tensor) -> None:
        G, D = self.G, self.D
        real = _to_float(real, _device_of(G))
        n = real.size(0)
        # D step: G frozen, a fresh fake
        G.requires_grad_(False)
        D.requires_grad_(True)
        fake = G.synthesis(self._ws(n))
        loss_d = F.softplus(D(fake)).mean() + F.softplus(-D(real)).mean()
        D.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        if self.i % self.r1_interval == 0:  # lazy R1 (Mescheder et al. 2018; StyleGAN2 sec. 3.1)
            real.requires_grad = True
            (grad,) = torch.autograd.grad(D(real).sum(), real, create_graph=True)
            r1 = grad.pow(2).reshape(n, -1).sum(1).mean()
            D.zero_grad()
            (self.r1_gamma / 2 * r1 * self.r1_interval).backward()
            self.opt_d.step()
        # G step: D frozen, another fresh fake
        G.requires_grad_(True)
        D.requires_grad_(False)
        fake = G.synthesis(self._ws(n))
        loss_g = F.softplus(-D(fake)).mean()
        G.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        if self.pl_weight > 0 and self.i % self.pl_interval == 0:  # lazy path length (sec. 3.2)
            m = max(1, n // self.pl_batch_shrink)
            ws = self._ws(m)
            img = G.synthesis(ws)
            noise = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
            (grad,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)
            lengths = grad.pow(2).sum(2).mean(1).sqrt()
            path_mean = self.mean_path_length + self.pl_decay * (lengths.mean().item() - self.mean_path_length)
            self.mean_path_length = path_mean
            G.zero_grad()
            ((lengths - path_mean).pow(2).mean() * self.pl_weight * self.pl_interval).backward()
            self.opt_g.step()
        with torch.no_grad():  # EMA of G, every step
            for pe, p in zip(self.G_ema.parameters(), G.parameters()):
                pe.mul_(self.ema).add_(p, alpha=1 - self.ema)
            for be, b in zip(self.G_ema.buffers(), G.buffers()):
                be.copy_(b)
        D.requires_grad_(True)
        self.i += 1


class NaivePix2Pix:
    """pix2pix the way junyanz ``pix2pix_model.py`` writes it (BCEWithLogits GAN loss, D loss x 0.5,
    L1 x ``l1_weight``), with a fresh G forward for the G step and tutorial-style random flips."""

    def __init__(self, G: nn.Module, D: nn.Module, lr: float = 2e-4, betas=(0.5, 0.999), l1_weight: float = 100.0,
                 flip: bool = True):
        self.G, self.D, self.l1_weight, self.flip = G, D, l1_weight, flip
        self.gan_loss, self.l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()
        self.opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
        self.opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)

    def step(self, a: torch.Tensor, b: torch.Tensor) -> None:
        G, D = self.G, self.D
        dev = _device_of(G)
        a, b = _to_float(a, dev), _to_float(b, dev)
        if self.flip:  # RandomHorizontalFlip, the same coin for input and target
            coin = (torch.rand(len(a), device=dev) < 0.5).view(-1, 1, 1, 1)
            a, b = torch.where(coin, a.flip(-1), a), torch.where(coin, b.flip(-1), b)
        # D step
        fake = G(a)
        pred_fake = D(torch.cat([a, fake.detach()], 1))
        pred_real = D(torch.cat([a, b], 1))
        loss_d = 0.5 * (self.gan_loss(pred_fake, torch.zeros_like(pred_fake))
                        + self.gan_loss(pred_real, torch.ones_like(pred_real)))
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        # G step, with a fresh generator forward; D frozen
        D.requires_grad_(False)
        fake = G(a)
        pred_fake = D(torch.cat([a, fake], 1))
        loss_g = self.gan_loss(pred_fake, torch.ones_like(pred_fake)) + self.l1_weight * self.l1(fake, b)
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        D.requires_grad_(True)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = {"now": time.perf_counter}


def now() -> float:
    """The benchmark clock: wall time, or with :func:`use_clock` ``"cpu"`` this process's CPU
    time (on a shared machine, CPU seconds of a 1-thread run barely move with other jobs' load)."""
    return _clock["now"]()


@contextlib.contextmanager
def use_clock(name: str):
    old = _clock["now"]
    _clock["now"] = CLOCKS[name]
    try:
        yield
    finally:
        _clock["now"] = old


def sync() -> None:
    """Wait for queued GPU work, so a timer reads finished steps (nothing to wait for on CPU)."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def timed_rates(step, batches: Iterator[tuple], batch_size: int, steps: int, warmup: int,
                window: int) -> list[float]:
    """Run ``step(*batch)`` ``steps`` times; images/s of each ``window`` steps after ``warmup``."""
    rates: list[float] = []
    t0 = None
    for done in range(steps):
        if done == warmup:
            sync()
            t0 = now()
        step(*next(batches))
        if t0 is not None and (done + 1 - warmup) % window == 0:
            sync()
            t1 = now()
            rates.append(window * batch_size / (t1 - t0))
            t0 = t1
    return rates


def naive_throughput(G: nn.Module, D: nn.Module, data: torch.Tensor, z_dim: int, batch_size: int,
                     steps: int, warmup: int, window: int, lr: float = 2e-4, betas=(0.5, 0.999)) -> list[float]:
    """Train ``steps`` tutorial-style DCGAN steps; return images/s of each timed window after warm-up."""
    trainer = NaiveDCGAN(G, D, z_dim, lr, betas)
    return timed_rates(trainer.step, loader_batches((data,), batch_size), batch_size, steps, warmup, window)
