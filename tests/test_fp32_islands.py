"""What the authors keep in fp32 stays fp32 under bf16 autocast (``precision: bf16`` / ``auto`` on
a bf16 machine): WGAN-GP's gradient penalty (the official code is fp32 throughout) and StyleGAN2's
mapping network (stylegan2-ada-pytorch never runs it in fp16); R1 / R2 by default too (``fp32``,
measured: bf16 penalties cost r3gan 0.4 FID on digits), or in the autocast with ``fp32: false``."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.nets.stylegan2 import MappingNetwork
from gankit.regularizers import gradient_penalty


class Probe(nn.Module):
    """A linear D that records the dtype its linear layer computed in."""

    def __init__(self):
        super().__init__()
        self.fc, self.seen = nn.Linear(12, 1), []

    def forward(self, x, y=None):
        out = self.fc(x.flatten(1))
        self.seen.append(out.dtype)
        return out.squeeze(1)


def test_gradient_penalty_runs_d_in_fp32_under_bf16_autocast():
    torch.manual_seed(0)
    D = Probe()
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert D(real).dtype == torch.bfloat16  # the probe does see autocast outside the penalty
        gp = gradient_penalty(D, real.bfloat16(), fake.bfloat16(), alpha=torch.full((4,), 0.5))
    assert D.seen[-1] == torch.float32 and gp.dtype == torch.float32
    want = (D.fc.weight.norm() - 1) ** 2  # a linear D: ||grad|| = ||w|| everywhere
    assert torch.allclose(gp, want, atol=1e-5)


def test_stylegan2_mapping_runs_in_fp32_under_bf16_autocast():
    torch.manual_seed(0)
    m = MappingNetwork(z_dim=16, w_dim=16, num_ws=4, num_layers=2)
    z = torch.randn(3, 16)
    want = m(z)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = m(z)
    assert got.dtype == torch.float32 and torch.equal(got, want)


def test_r1_r2_run_the_penalty_pass_in_fp32_unless_told_not_to():
    """R1 / R2 (``fp32`` on by default): the penalty's D pass leaves the bf16 autocast, and a
    phase's bf16 scores are not reused, a pass of its own is made; with ``fp32: false`` the pass
    keeps the autocast (and reuses the scores)."""
    from gankit.regularizers import R1, R2, RegInputs

    torch.manual_seed(0)
    D = Probe()
    real = torch.randn(4, 3, 2, 2)
    want = D.fc.weight.pow(2).sum()  # a linear D: R1 = ||w||^2
    with torch.autocast("cpu", dtype=torch.bfloat16):
        x = real.clone().requires_grad_(True)
        inp = RegInputs(D=D, real=x, fake=x, y_real=None, y_fake=None, d_real=D(x), d_fake=D(x))
        D.seen.clear()
        p32 = R1(weight=1.0, interval=1).penalty(inp)
        assert D.seen == [torch.float32]
        p2 = R2(weight=1.0, interval=4).penalty(inp)
        assert D.seen == [torch.float32, torch.float32]
        D.seen.clear()
        R1(weight=1.0, interval=1, fp32=False).penalty(inp)  # reuses the phase's bf16 scores: no new pass
        assert D.seen == []
        inp.d_real = None
        R1(weight=1.0, interval=4, fp32=False).penalty(inp)
        assert D.seen == [torch.bfloat16]
    assert torch.allclose(p32, want, rtol=1e-5) and torch.allclose(p2, want, rtol=1e-5)
    with pytest.raises(ValueError, match="fp32"):
        R1(fp32="yes")
