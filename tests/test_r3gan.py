"""R3GAN: its nets (shapes, fix-up init, no normalisation), the one-pass R1/R2, the recipe's
defaults, and the Fourier-feature input option of the MLP discriminators."""
from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from gankit.data import load_data
from gankit.errors import UserError
from gankit.nets import r3gan as r3gan_nets
from gankit.nets.mlp import InputFeatures, MLPDiscriminator, MLPGenerator
from gankit.nets.r3gan import (
    R3GANDiscriminator,
    R3GANGenerator,
    R3GANMLPDiscriminator,
    R3GANMLPGenerator,
)
from gankit.presets import build_config
from gankit.registry import RECIPES
from gankit.regularizers import R1, R2, RegInputs, input_grad_penalty, r1_penalty
from gankit.train import data_meta, train


@pytest.mark.parametrize("res", [8, 16, 32])
def test_image_nets_shapes_at_any_resolution(res):
    torch.manual_seed(0)
    G = R3GANGenerator(z_dim=8, resolution=res, channels=3, width=16, cardinality=4)
    D = R3GANDiscriminator(resolution=res, channels=3, width=16, cardinality=4)
    x = G(torch.randn(5, 8))
    assert x.shape == (5, 3, res, res)
    assert D(x).shape == (5,)


def test_d_downsamples_through_the_authors_1331_lowpass(monkeypatch):
    """R3GAN's D resamples with CreateLowpassKernel([1, 2, 1]) = [1, 3, 3, 1] outer itself / 64,
    zero padding 1, stride 2 (brownvc/R3GAN Resamplers.py), not a 2x2 box (bilinear x0.5)."""
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    ref = (k[:, None] * k[None]) / 64
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    want = torch.nn.functional.conv2d(x.reshape(6, 1, 8, 8), ref[None, None].double(), stride=2, padding=1)
    got = r3gan_nets.lowpass_down(x)
    assert torch.allclose(got, want.reshape(2, 3, 4, 4))
    box = torch.nn.functional.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
    assert not torch.allclose(got, box, atol=1e-3)
    calls, orig = [], r3gan_nets.lowpass_down
    monkeypatch.setattr(r3gan_nets, "lowpass_down", lambda t: calls.append(tuple(t.shape)) or orig(t))
    R3GANDiscriminator(resolution=16, channels=1, width=8, cardinality=4)(torch.randn(2, 1, 16, 16))
    assert calls == [(2, 8, 16, 16), (2, 8, 8, 8)]  # every stage but the last, at 16 then 8 px


def test_image_nets_widths_per_stage_and_conditioning():
    G = R3GANGenerator(z_dim=8, resolution=16, channels=1, width=[32, 16, 8], cardinality=4, num_classes=3)
    D = R3GANDiscriminator(resolution=16, channels=1, width=[32, 16, 8], cardinality=4, num_classes=3)
    y = torch.tensor([0, 1, 2])
    x = G(torch.randn(3, 8), y)
    assert x.shape == (3, 1, 16, 16) and D(x, y).shape == (3,)
    with pytest.raises(ValueError, match="stages"):
        R3GANGenerator(resolution=16, width=[8, 8])
    with pytest.raises(ValueError, match="divisible"):
        R3GANGenerator(resolution=8, width=10, cardinality=3)
    with pytest.raises(ValueError, match="power of two"):
        R3GANDiscriminator(resolution=24)


def test_no_normalisation_and_fixup_residual_branches_start_at_zero():
    """Fix-up: every residual branch's last layer is zero, so each block is the identity at init."""
    for net in (R3GANGenerator(resolution=16, width=16, cardinality=4), R3GANDiscriminator(resolution=16, width=16,
                                                                                          cardinality=4)):
        assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm, nn.LayerNorm))
                       for m in net.modules())
        blocks = [m for m in net.modules() if hasattr(m, "conv3")]
        assert blocks and all(b.conv3.weight.abs().sum() == 0 for b in blocks)
        assert all(b.conv2.groups == 4 for b in blocks)  # grouped 3x3 convs
        x = torch.randn(2, 16, 8, 8)
        assert torch.equal(blocks[0](x), x)


def test_mlp_twins_and_out_scale():
    torch.manual_seed(0)
    G1 = R3GANMLPGenerator(z_dim=4, hidden=16, out_scale=1.0)
    torch.manual_seed(0)
    G4 = R3GANMLPGenerator(z_dim=4, hidden=16, out_scale=4.0)
    z = torch.randn(6, 4)
    assert torch.allclose(G4(z), 4 * G1(z))
    D = R3GANMLPDiscriminator(hidden=16, in_scale=0.25, fourier=8)
    assert D(G4(z)).shape == (6,)


def test_mlp_g_mixture_picks_a_uniform_component_from_the_gaussian_z():
    torch.manual_seed(0)
    G = MLPGenerator(z_dim=12, hidden=16, depth=2, mixture=5)
    z = torch.randn(20_000, 12)
    k = z[:, :5].argmax(1)
    share = torch.bincount(k, minlength=5).float() / len(z)
    assert (share - 0.2).abs().max() < 0.015  # argmax of iid normals: uniform over the K components
    # the output depends on the first K coordinates only through the component they pick ...
    z2 = z.clone()
    z2[:, :5] = z2[:, :5] * 0.5 + 10 * nn.functional.one_hot(k, 5)  # same argmax, other values
    assert torch.allclose(G(z), G(z2), atol=1e-6)
    # ... and a component change moves it by a step that no small move of z gives
    z3 = z[:1].clone()
    z3[0, :5] = torch.tensor([1.0, 0.999, 0.0, 0.0, 0.0])
    z4 = z3.clone()
    z4[0, 1] = 1.001
    plain = MLPGenerator(z_dim=12, hidden=16, depth=2)
    assert (G(z3) - G(z4)).abs().max() > 100 * (plain(z3) - plain(z4)).abs().max()
    with pytest.raises(ValueError, match="mixture"):
        MLPGenerator(z_dim=4, mixture=4)


def test_input_features_are_fixed_fourier_features_of_the_scaled_input():
    f = InputFeatures(2, in_scale=0.5, fourier=3, fourier_scale=2.0)
    x = torch.tensor([[2.0, -4.0]])
    out = f(x)
    xs = x * 0.5
    proj = 2 * math.pi * xs @ f.B.t()
    assert out.shape == (1, 2 + 6)
    assert torch.allclose(out, torch.cat([xs, proj.sin(), proj.cos()], 1))
    assert torch.equal(InputFeatures(2, fourier=3, fourier_scale=2.0).B, f.B)  # same seed, same B
    assert "features.B" not in MLPDiscriminator().state_dict()  # plain D: checkpoint keys unchanged
    assert "features.B" in MLPDiscriminator(fourier=4).state_dict()
    with pytest.raises(ValueError, match="in_scale"):
        InputFeatures(2, in_scale=0.0)


def test_r1_r2_from_the_phase_scores_equal_a_fresh_pass():
    """The one-pass penalty (scores from the D phase, inputs requiring grad) is the same number."""
    torch.manual_seed(0)
    D = R3GANMLPDiscriminator(hidden=16, fourier=4)
    real = torch.randn(8, 2).requires_grad_(True)
    fake = torch.randn(8, 2).requires_grad_(True)
    inp = RegInputs(D=lambda x, y=None: D(x), real=real, fake=fake, d_real=D(real), d_fake=D(fake))
    assert R1(interval=1).penalty(inp).item() == pytest.approx(r1_penalty(D, real.detach()).item(), rel=1e-5)
    assert R2().penalty(inp).item() == pytest.approx(r1_penalty(D, fake.detach()).item(), rel=1e-5)
    assert input_grad_penalty(D(real), real).requires_grad  # create_graph: the penalty trains D


def _resolved(data, *over):
    cfg = build_config(recipe="r3gan", data=data, overrides=list(over))
    return RECIPES.get("r3gan").resolve(cfg, data_meta(load_data(cfg.data)))


def test_recipe_sets_r1_r2_from_gamma_and_picks_point_nets():
    cfg = _resolved("ring8", "options.gamma=0.3")
    assert cfg.loss.name == "rpgan"
    assert cfg.loss.kwargs["r1"] == {"weight": 0.3, "interval": 1} and cfg.loss.kwargs["r2"]["weight"] == 0.3
    assert (cfg.G.name, cfg.D.name) == ("mlp_g", "mlp_d")  # r3gan-ring8.yaml names its nets
    moons = _resolved("moons")  # no r3gan-moons preset: the image nets of r3gan.yaml become MLPs
    assert (moons.G.name, moons.D.name) == ("r3gan_mlp_g", "r3gan_mlp_d")
    assert _resolved("digits", "data.resolution=16").G.kwargs["resolution"] == 16
    with pytest.raises(UserError, match="gamma"):
        _resolved("ring8", "options.gamma=-1")


def test_lazy_r1_r2_run_in_their_own_phase_weighted_by_the_interval():
    cfg = _resolved("grid25")  # the grid25 preset: R1 / R2 every 4 steps
    assert cfg.loss.kwargs["r1"] == {"weight": 0.01, "interval": 4} == cfg.loss.kwargs["r2"]
    rec = RECIPES.get("r3gan")(cfg, data_meta(load_data(cfg.data)))
    phases = {ph.name: ph.interval for ph in rec.phases()}
    assert phases.get("D_reg_r1") == 4 and phases.get("D_reg_r2") == 4, phases
    r1 = R1(weight=0.01, interval=4)
    lin = nn.Linear(2, 1)  # grad D = its weight at every input
    x = torch.randn(8, 2)
    loss, _ = r1.loss(RegInputs(D=lambda v, y=None: lin(v).flatten(), real=x, fake=x))
    loss = loss.detach()
    assert math.isclose(loss.item(), 0.5 * 0.01 * 4 * lin.weight.detach().pow(2).sum().item(), rel_tol=1e-5)
    for bad in ("0", "2.5", "true"):
        with pytest.raises(UserError, match="reg_interval"):
            _resolved("grid25", f"options.reg_interval={bad}")


def test_stacked_preset_trains_r1_r2_through_the_batch_norm_of_dcgan_d(tmp_path, resume_exact):
    """The stacked-digits preset keeps its DCGAN nets under r3gan (no swap to r3gan_g / r3gan_d);
    lazy R1 / R2 differentiate through dcgan_d's batch norm, log finite penalties, and resume
    exactly (the schedules end at a fixed step, not at each leg's loop.steps)."""
    over = ["data.name=stacked-digits", "data.resolution=16", "data.kwargs={n: 256}", "data.batch_size=16",
            "G.name=dcgan_g", "G.kwargs={z_dim: 8, ngf: 8}", "D.name=dcgan_d", "D.kwargs={ndf: 8}",
            "options.reg_interval=2", "schedule.lr.steps=6", "schedule.reg.steps=6", "schedule.beta2.steps=6",
            "schedule.augment.steps=6",
            "loop.sample_every=100", "loop.checkpoint_every=100", "loop.ema=0.9"]
    cfg = _resolved("stacked-digits", "data.resolution=16")
    assert (cfg.G.name, cfg.D.name) == ("dcgan_g", "dcgan_d")
    assert cfg.loss.kwargs["r1"] == {"weight": 0.05, "interval": 4} == cfg.loss.kwargs["r2"]
    run = resume_exact("r3gan", over, 6, 3, tmp_path)
    logs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    r1 = [m["reg/r1"] for m in logs if "reg/r1" in m]
    assert r1 and all(math.isfinite(v) and v > 0 for v in r1)


def test_mlp_d_classifier_head_shares_the_trunk():
    torch.manual_seed(0)
    D = MLPDiscriminator(hidden=16, depth=2, q_cat=5)
    x = torch.randn(7, 2)
    out = D(x, heads=True)
    assert out["q_cat"].shape == (7, 5) and out["features"].shape == (7, 16)
    assert torch.allclose(out["logit"], D(x))  # the head does not change D's score
    assert set(MLPDiscriminator(hidden=16, depth=2).state_dict()) == set(D.state_dict()) - {"q.weight", "q.bias"}
    with pytest.raises(ValueError, match="q_cat"):
        MLPDiscriminator(pack=2, q_cat=5)


def test_mixture_weight_trains_mgan_classifier_so_components_separate(tmp_path):
    """options.mixture_weight: D gets a K-way head (mlp_d q_cat = G's mixture), D and G add
    beta * CE of the component; after a short run the head tells the components apart, and G's
    components occupy separate places (far better than with beta = 0)."""
    cfg = _resolved("grid25")  # the preset's classifier head
    assert cfg.D.kwargs["q_cat"] == [cfg.G.kwargs["mixture"]] == [25]
    for bad, msg in (("options.mixture_weight=-1", "mixture_weight"), ("options.mixture_weight=true", "mixture_weight")):
        with pytest.raises(UserError, match=msg):
            _resolved("grid25", bad)
    with pytest.raises(UserError, match="mixture G"):
        _resolved("ring8", "options.mixture_weight=0.5")
    assert "q_cat" not in _resolved("grid25", "options.mixture_weight=0").D.kwargs
    with pytest.raises(UserError, match="mixture_until"):
        _resolved("grid25", "options.mixture_weight=0.5", "options.mixture_until=2")
    with pytest.raises(UserError, match="mixture_after"):
        _resolved("grid25", "options.mixture_weight=0.5", "options.mixture_after=-1")

    def run(beta, name, *extra):
        over = ["G.kwargs={z_dim: 12, mixture: 4, hidden: 32, depth: 2, out_scale: 4.0}", "D.kwargs={hidden: 32, depth: 2}",
                f"options.mixture_weight={beta}", "options.mixture_until=1.0", "options.mixture_after=0",
                "data.batch_size=64", "loop.steps=400", "schedule.lr.steps=400",
                "loop.sample_every=1000", "loop.checkpoint_every=1000", "loop.threads=1", "loop.progress=false",
                "loop.tensorboard=false", "loop.seed=0", "sample.drs=false", *extra]
        keep = {}
        train(build_config(recipe="r3gan", data="grid25", overrides=over), tmp_path / name,
              hooks=[lambda st: keep.update(G=st.nets["G"])])
        G = keep["G"]
        torch.manual_seed(1)
        z = torch.randn(4000, 12)
        with torch.no_grad():
            x = G(z)
        k = z[:, :4].argmax(1)
        within = sum(x[k == c].var(0).sum() * (k == c).float().mean() for c in range(4))
        return float(within / x.var(0).sum())  # share of G's spread inside a component
    on, off = run(0.5, "on"), run(0.0, "off")
    logs = [json.loads(line) for line in (tmp_path / "on" / "metrics.jsonl").read_text().splitlines()]
    acc = [m["mixture/acc"] for m in logs if "mixture/acc" in m]
    assert acc and acc[-1] > 0.8 and acc[0] < 0.5, acc  # chance: 0.25
    assert on < 0.7 * off, (on, off)  # measured 0.52 vs 0.99
    run(0.5, "half", "options.mixture_until=0.5")  # the term for the first 200 of 400 steps only
    steps = [m["step"] for m in (json.loads(line) for line in (tmp_path / "half" / "metrics.jsonl").read_text().splitlines())
             if "mixture/ce" in m]
    assert steps and max(steps) <= 200
    run(0.5, "after", "options.mixture_until=0.5", "options.mixture_after=0.05")  # ... then at 0.05
    steps = [m["step"] for m in (json.loads(line) for line in (tmp_path / "after" / "metrics.jsonl").read_text().splitlines())
             if "mixture/ce" in m]
    assert max(steps) == 400


def test_mixture_groups_pick_one_component_per_group_for_dcgan_g_too():
    from gankit.nets.dcgan import DCGANGenerator
    from gankit.nets.layers import mixture_onehot

    torch.manual_seed(0)
    z = torch.randn(6, 9)
    z2, cat = mixture_onehot(z, [3, 4])
    assert torch.equal(cat[:, 0], z[:, :3].argmax(1)) and torch.equal(cat[:, 1], z[:, 3:7].argmax(1))
    assert torch.equal(z2[:, :3].argmax(1), cat[:, 0]) and z2[:, :7].sum(1).eq(2).all()
    assert torch.equal(z2[:, 7:], z[:, 7:])
    G = DCGANGenerator(z_dim=12, resolution=16, channels=3, ngf=8, mixture=[3, 4]).eval()
    zz = torch.randn(6, 12)
    bumped = zz.clone()
    bumped[:, :7] = torch.where(mixture_onehot(zz, [3, 4])[0][:, :7] > 0, 5.0, -5.0)  # same argmaxes
    assert torch.allclose(G(zz), G(bumped), atol=1e-5)
    for bad in ([1, 3], [6, 6], 12):
        with pytest.raises(ValueError, match="mixture"):
            DCGANGenerator(z_dim=12, resolution=16, ngf=8, mixture=bad)


def test_preset_ramps_beta2_and_augmentation_as_the_authors():
    """brownvc/R3GAN's CIFAR-10 preset: beta2 0.9 -> 0.99 and augmentation p 0 -> 0.55, both cosine
    over the decay (the augmentation ramp as the digits preset's docstring spells it, for R3GAN's
    own nets); the 2D and stacked presets (measured without them) hold beta2 at 0.99."""
    from gankit.train.schedules import multiplier
    cfg = build_config(recipe="r3gan", data="digits", overrides=[
        "augment.name=ada-fixed", "augment.p=0.55", "schedule.augment.kind=cosine", "schedule.augment.start=0",
        "schedule.augment.final=1"])
    n, b2 = cfg.loop.steps, cfg.optim_d.betas[1]
    assert b2 * multiplier(cfg.schedule.beta2, 0, n) == pytest.approx(0.9, abs=1e-4)
    assert b2 * multiplier(cfg.schedule.beta2, n, n) == pytest.approx(0.99)
    assert cfg.augment.p * multiplier(cfg.schedule.augment, 0, n) == 0.0
    assert cfg.augment.p * multiplier(cfg.schedule.augment, n // 2, n) == pytest.approx(0.275)
    assert cfg.augment.p * multiplier(cfg.schedule.augment, n, n) == pytest.approx(0.55)
    digits = build_config(recipe="r3gan", data="digits")  # the one-flag run: DCGAN nets, no augmentation
    assert (digits.G.name, digits.D.name, digits.augment.name) == ("dcgan_g", "dcgan_d", "")
    for data in ("grid25", "ring8", "stacked-digits"):
        c = build_config(recipe="r3gan", data=data)
        assert c.augment.name == "" and multiplier(c.schedule.beta2, 0, 10) == 1.0, data
