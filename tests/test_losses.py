"""Adversarial losses and regularizers: the math on tiny cases with known answers."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gankit.errors import UserError
from gankit.losses import g_needs_real
from gankit.nets.layers import pack
from gankit.registry import LOSSES
from gankit.regularizers import (
    R1,
    R2,
    Consistency,
    FeatureMatching,
    GradientPenalty,
    Orthogonal,
    RegInputs,
    build_regularizers,
    consistency_penalty,
    consistency_transform,
    feature_matching,
    gradient_penalty,
    ortho_weights,
    orthogonal_penalty,
    r1_penalty,
)

LOG2 = math.log(2.0)


def sp(x: float) -> float:
    """softplus, by hand."""
    return math.log1p(math.exp(x))


def t(*v):
    return torch.tensor(v, dtype=torch.float32)


# ---------------------------------------------------------------------------- losses


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_returns_scalars_and_none_halves(name):
    fn = LOSSES.get(name)
    d_real, d_fake = torch.randn(6), torch.randn(6)
    loss_d, loss_g = fn(d_real, d_fake)
    assert loss_d.dim() == 0 and loss_g.dim() == 0
    assert torch.isfinite(loss_d) and torch.isfinite(loss_g)
    if not g_needs_real(fn):  # the G phase may skip D(real)
        ld, lg = fn(None, d_fake)
        assert ld is None and torch.allclose(lg, loss_g)


@pytest.mark.parametrize("name, d_real, d_fake, loss_d, loss_g", [
    # at logits 0 (D = 1/2): D's loss is 2 log 2 for the log losses
    ("minimax", t(0, 0), t(0, 0), 2 * LOG2, -LOG2),  # G: E log(1 - 1/2)
    ("nonsaturating", t(0, 0), t(0, 0), 2 * LOG2, LOG2),  # G: -E log(1/2)
    ("hinge", t(2, 0), t(-2, 0.5), 0.5 + 0.75, 0.75),  # relu(1-x) = [0, 1]; relu(1+x) = [0, 1.5]; G: -mean
    ("wasserstein", t(1, 3), t(0, 2), 1.0 - 2.0, -1.0),
    ("lsgan", t(1, 0), t(0, 1), 0.5 * (0.5 + 0.5), 0.5 * 0.5),
    ("relativistic", t(0, 0), t(0, 0), 2 * LOG2, 2 * LOG2),
    # pairs (1, 0) and (0, 2): D(fake) - D(real) = -1, 2
    ("rpgan", t(1, 0), t(0, 2), (sp(-1) + sp(2)) / 2, (sp(1) + sp(-2)) / 2),
])
def test_loss_values(name, d_real, d_fake, loss_d, loss_g):
    ld, lg = LOSSES.get(name)(d_real, d_fake)
    assert ld.item() == pytest.approx(loss_d, abs=1e-6)
    assert lg.item() == pytest.approx(loss_g, abs=1e-6)


def test_minimax_saturates_where_nonsaturating_does_not():
    """Goodfellow et al. 2014 sec. 3: when D rejects fakes (logit -10), minimax G gets ~no gradient."""
    grads = {}
    for name in ("minimax", "nonsaturating"):
        d_fake = torch.full((4,), -10.0, requires_grad=True)
        LOSSES.get(name)(None, d_fake)[1].backward()
        grads[name] = d_fake.grad.abs().sum().item()
    assert grads["minimax"] < 1e-3
    assert grads["nonsaturating"] > 0.9


def test_relativistic_needs_real():
    assert g_needs_real(LOSSES.get("relativistic"))
    with pytest.raises(ValueError):
        LOSSES.get("relativistic")(None, torch.zeros(2))


def test_rpgan_pairs_each_real_with_one_fake():
    """RpGAN compares row i with row i; the average form (RaSGAN) compares with the other side's mean."""
    d_real, d_fake = t(3, -1), t(-1, 3)  # each pair differs by 4 in opposite directions
    ld, lg = LOSSES.get("rpgan")(d_real, d_fake)
    assert ld.item() == pytest.approx((sp(-4) + sp(4)) / 2, abs=1e-6)
    assert lg.item() == pytest.approx((sp(4) + sp(-4)) / 2, abs=1e-6)
    # RaSGAN: r - mean(f) = (2, -2), f - mean(r) = (-2, 2): softplus(-2) + softplus(2), not RpGAN's
    assert LOSSES.get("relativistic")(d_real, d_fake)[0].item() == pytest.approx(sp(-2) + sp(2), abs=1e-6)
    assert g_needs_real(LOSSES.get("rpgan"))
    with pytest.raises(ValueError, match="need d_real"):
        LOSSES.get("rpgan")(None, d_fake)
    with pytest.raises(ValueError, match="pairs"):
        LOSSES.get("rpgan")(t(0, 0, 0), d_fake)


# ---------------------------------------------------------------------- regularizers


class LinearD(nn.Module):
    """D(x) = <w, flatten(x)> (+ y when given): its input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor, packing: int = 1):
        super().__init__()
        self.w, self.pack = nn.Parameter(w.clone()), packing

    def forward(self, x, y=None):
        out = pack(x, self.pack).flatten(1) @ self.w
        return out if y is None else out + y.float()


def test_gradient_penalty_of_linear_d():
    """GP = (||w|| - 1)^2 exactly, wherever the interpolates fall (Gulrajani et al. 2017, eq. 3)."""
    w = t(3.0, 4.0)  # ||w|| = 5
    D = LinearD(w)
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    gp = gradient_penalty(D, real, fake, rng=torch.Generator().manual_seed(0))
    assert gp.item() == pytest.approx(16.0, rel=1e-5)
    gp.backward()  # create_graph: the penalty trains D; d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    assert torch.allclose(D.w.grad, 2 * 4 * w / 5, rtol=1e-5)


def test_gradient_penalty_interpolates_and_labels():
    seen = {}

    def D(x, y):
        seen["x"], seen["y"] = x.detach(), y
        return x.sum(1)

    real, fake, y = torch.ones(3, 2), torch.zeros(3, 2), torch.tensor([0, 1, 2])
    alpha = t(0.0, 0.5, 1.0)
    gp = gradient_penalty(D, real, fake, y, alpha=alpha)
    assert torch.equal(seen["x"][:, 0], alpha) and seen["y"] is y  # x_hat = a real + (1 - a) fake
    assert gp.item() == pytest.approx((math.sqrt(2) - 1) ** 2, rel=1e-5)


def test_gradient_penalty_with_pacgan_packing_uses_the_pack_norm():
    """With pack m, D's input is m samples: the norm is over each pack (= ||w||), not per sample."""
    w = torch.arange(1.0, 5.0)  # packs of 2 points in 2D -> w in R^4, ||w||^2 = 30
    D = LinearD(w, packing=2)
    gp = gradient_penalty(D, torch.randn(4, 2), torch.randn(4, 2), pack=2, rng=torch.Generator().manual_seed(0))
    assert gp.item() == pytest.approx((math.sqrt(30) - 1) ** 2, rel=1e-5)


def test_r1_of_linear_d_and_lazy_scaling():
    """R1 = gamma / 2 * ||w||^2 (Mescheder et al. 2018, eq. 9); lazily x interval (StyleGAN2)."""
    D = LinearD(t(1.0, 2.0, 2.0))  # ||w||^2 = 9
    real = torch.randn(5, 3)
    assert r1_penalty(D, real).item() == pytest.approx(9.0, rel=1e-5)
    inp = RegInputs(D=D, real=real, fake=torch.randn(5, 3))
    loss, logs = R1(weight=10.0, interval=1).loss(inp)
    assert loss.item() == pytest.approx(45.0, rel=1e-5) and logs["reg/r1"].item() == pytest.approx(9.0, rel=1e-5)
    lazy = R1(weight=10.0, interval=16)
    assert lazy.lazy and lazy.loss(inp)[0].item() == pytest.approx(45.0 * 16, rel=1e-5)
    assert not GradientPenalty().lazy  # GP runs every D step


def test_r2_penalises_the_gradient_at_fakes_not_reals():
    """R2 = gamma / 2 * E||grad D(G z)||^2 (R3GAN's second penalty). With D(x) = ||x||^2 the
    gradient is 2x, so the penalty is 4 E||x||^2 at the points it is taken at."""
    def D(x, y=None):
        return x.pow(2).sum(1)

    real, fake = torch.zeros(2, 2), t(1.0, 0.0, 0.0, 2.0).view(2, 2)  # ||fake||^2 = 1, 4
    inp = RegInputs(D=D, real=real, fake=fake)
    loss, logs = R2(weight=0.5).loss(inp)
    assert logs["reg/r2"].item() == pytest.approx(4 * (1 + 4) / 2, rel=1e-5)  # = 10
    assert loss.item() == pytest.approx(0.25 * 10, rel=1e-5)
    assert R1(weight=0.5, interval=1).loss(inp)[0].item() == 0.0  # R1 looks at the reals (gradient 0 there)
    assert not R2().lazy


def test_consistency_penalty_and_weights():
    assert consistency_penalty(t(1, 2), t(0, 0)).item() == pytest.approx(2.5)  # (1 + 4) / 2
    D = LinearD(t(1.0, 1.0))  # D(x) = x1 + x2
    reg = Consistency(weight=10.0, weight_fake=5.0)
    reg._t = lambda x, rng: x + 1.0  # a known T: D(T x) - D(x) = 2, penalty 4 on each side
    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    loss, logs = reg.loss(RegInputs(D=D, real=real, fake=fake))
    assert logs["reg/cr_real"].item() == pytest.approx(4.0) and logs["reg/cr_fake"].item() == pytest.approx(4.0)
    assert loss.item() == pytest.approx(10 * 4 + 5 * 4)
    # weight_fake < 0 means "same as weight" (bCR's lambda_real = lambda_fake = 10)
    reg2 = Consistency()
    reg2._t = reg._t
    assert reg2.loss(RegInputs(D=D, real=real, fake=fake))[0].item() == pytest.approx(80.0)


def test_consistency_transform_flips_and_translates():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, 8, 8)
    flipped = consistency_transform(x, g, translate=0.0, flip=True)
    for a, b in zip(x, flipped):  # every sample is itself or its mirror image
        assert torch.equal(a, b) or torch.equal(a.flip(2), b)
    const = torch.ones(4, 1, 8, 8) * torch.randn(4, 1, 1, 1)  # invariant to flips and shifts
    assert torch.equal(consistency_transform(const, g), const)
    shifted = consistency_transform(x, g, translate=0.25, flip=False)
    assert shifted.shape == x.shape and not torch.equal(shifted, x)
    pts = torch.zeros(100, 2)
    assert consistency_transform(pts, g, noise=0.1).std().item() == pytest.approx(0.1, rel=0.2)


def test_orthogonal_penalty():
    """Brock et al. 2019, eq. 3: ||W W^T * (1 - I)||_F^2 (rows = filters); norms are free."""
    assert orthogonal_penalty([t(1, 0, 1, 1).view(2, 2)]).item() == pytest.approx(2.0)  # gram [[1,1],[1,2]]
    q, _ = torch.linalg.qr(torch.randn(4, 4))
    assert orthogonal_penalty([q * torch.tensor([[1.0], [2.0], [3.0], [4.0]])]).item() == pytest.approx(0, abs=1e-5)
    conv = torch.zeros(2, 1, 3, 3)
    conv[0, 0, 0, 0], conv[1, 0, 0, 0], conv[1, 0, 1, 1] = 1.0, 2.0, 1.0  # rows [1,0..] [2,0,0,0,1..]: <,> = 2
    assert orthogonal_penalty([conv]).item() == pytest.approx(2 * 2.0**2)
    net = nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert [p.shape for p in ortho_weights(net)] == [torch.Size([4, 3])]  # no embedding, bias or BN
    G = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        G.weight.copy_(t(1, 0, 1, 1).view(2, 2))
    loss, _ = Orthogonal(weight=1e-4).loss(RegInputs(D=None, real=None, fake=None, G=G))
    assert loss.item() == pytest.approx(2e-4) and Orthogonal.player == "G"


def test_feature_matching():
    """Salimans et al. 2016: ||E f(x) - E f(G z)||^2 = ||[2, 3] - [1, 1]||^2 = 5."""
    f_real, f_fake = t(1, 2, 3, 4).view(2, 2), t(0, 0, 2, 2).view(2, 2)
    assert feature_matching(f_real, f_fake).item() == pytest.approx(5.0)
    loss, _ = FeatureMatching(weight=2.0).loss(RegInputs(D=None, real=None, fake=None, feat_real=f_real,
                                                         feat_fake=f_fake))
    assert loss.item() == pytest.approx(10.0)


def test_build_regularizers_from_config():
    regs = build_regularizers({"gp": 10, "r1": {"weight": 5, "interval": 8}, "fm": 0})
    assert [type(r) for r in regs] == [GradientPenalty, R1]  # weight 0 is off
    assert regs[1].weight == 5 and regs[1].interval == 8
    for bad, msg in [({"gpp": 1}, "did you mean 'gp'"), ({"gp": {"wieght": 1}}, "loss.kwargs.gp"),
                     ({"gp": -1}, "weight must be"), ({"r1": {"interval": 0}}, "interval"),
                     ({"gp": "ten"}, "expected a weight")]:
        with pytest.raises(UserError, match=msg):
            build_regularizers(bad)
