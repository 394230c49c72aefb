"""The reference: a GAN training loop written the way tutorials write it.

fp32, NCHW, a ``DataLoader`` over an in-memory tensor, ``nn.BCELoss`` on sigmoid outputs,
default ``Adam``, and a fresh generator forward for the D step and another for the G step.
Same architecture as the gankit workload it is compared with; only the loop differs.
"""
from __future__ import annotations

import time

import torch
from torch import nn


def naive_throughput(G: nn.Module, D: nn.Module, data: torch.Tensor, z_dim: int, batch_size: int,
                     steps: int, warmup: int, window: int, lr: float = 2e-4, betas=(0.5, 0.999)) -> list[float]:
    """Train ``steps`` tutorial-style steps; return images/s of each timed window after warm-up."""
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=batch_size,
                                         shuffle=True, drop_last=True)
    criterion = nn.BCELoss()
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    rates, done, t0 = [], 0, None
    while done < steps:
        for (real,) in loader:
            if done == warmup:
                t0 = time.perf_counter()
            real = real.float() / 127.5 - 1  # uint8 -> [-1, 1]
            n = real.size(0)
            ones, zeros = torch.ones(n), torch.zeros(n)
            # D step
            D.zero_grad()
            out_real = torch.sigmoid(D(real).view(-1))
            fake = G(torch.randn(n, z_dim))
            out_fake = torch.sigmoid(D(fake.detach()).view(-1))
            loss_d = criterion(out_real, ones) + criterion(out_fake, zeros)
            loss_d.backward()
            opt_d.step()
            # G step, with a fresh generator forward
            G.zero_grad()
            fake = G(torch.randn(n, z_dim))
            loss_g = criterion(torch.sigmoid(D(fake).view(-1)), ones)
            loss_g.backward()
            opt_g.step()
            done += 1
            if t0 is not None and (done - warmup) % window == 0:
                t1 = time.perf_counter()
                rates.append(window * batch_size / (t1 - t0))
                t0 = t1
            if done >= steps:
                break
    return rates
