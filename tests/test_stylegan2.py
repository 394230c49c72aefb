"""StyleGAN2: modulated convolution math, nets at two resolutions, the recipe's phases in the loop,
checkpoint round trip, resume exactness, truncation and style mixing."""
from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file

import gankit
from gankit.checkpoint import find_checkpoint
from gankit.errors import UserError
from gankit.nets.stylegan2 import (
    ModulatedConv2d,
    StyleGAN2Discriminator,
    StyleGAN2Generator,
    style_mix,
)
from gankit.presets import build_config
from gankit.recipes.stylegan2 import StyleGAN2
from gankit.train import train
from gankit.train.log import read_metrics

TINY_NETS = {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 64, "channel_max": 16}
TINY = ["G.kwargs.z_dim=16", "G.kwargs.w_dim=16", "G.kwargs.mapping_layers=2", "G.kwargs.channel_base=64",
        "G.kwargs.channel_max=16", "D.kwargs.channel_base=64", "D.kwargs.channel_max=16"]
FAST = ["loop.progress=false", "loop.tensorboard=false", "data.batch_size=8", "loop.log_every=1",
        "loop.n_samples=4", "loop.threads=1", "loop.precision=fp32", "data.resolution=16"]
# Lazy phases every 2 steps (the defaults are 16 and 4) so a 4-step run has two of each.
LAZY = ["loss.kwargs.r1={weight: 0.05, interval: 2}", "options.pl_interval=2", "loop.ema=0.9"]


def config(steps: int, extra=()):
    return build_config(recipe="stylegan2", data="digits", steps=steps, overrides=FAST + TINY + LAZY + list(extra))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 4-step run: (run dir, in-memory nets, recipe, metrics rows)."""
    keep = {}
    run = tmp_path_factory.mktemp("sg2") / "run"
    train(config(4), run, hooks=[lambda st: keep.update(nets=st.nets, recipe=st.recipe)])
    return run, keep["nets"], keep["recipe"], read_metrics(run)


def test_demodulation_gives_unit_variance_whatever_the_style():
    """Eq. 1-3: with demodulation the output std of unit-variance input is ~1 for any style scale;
    without it, it scales with the style."""
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 32, 3, w_dim=8)
    raw = ModulatedConv2d(64, 32, 3, w_dim=8, demodulate=False)
    raw.weight.data.copy_(conv.weight.data)
    x = torch.randn(4, 64, 32, 32)  # [N, C, H, W], unit variance
    for scale in (0.1, 1.0, 30.0):
        w = torch.randn(4, 8) * scale  # styles s = A(w): scale changes their magnitude
        y = conv(x, w)[:, :, 1:-1, 1:-1]  # interior: away from the zero padding
        assert y.shape == (4, 32, 30, 30)
        assert abs(y.std().item() - 1.0) < 0.05, scale
    small, large = raw(x, torch.zeros(4, 8)).std(), raw(x, torch.full((4, 8), 30.0)).std()
    assert large > 5 * small


@pytest.mark.parametrize("res", [16, 32])
def test_shapes(res):
    G = StyleGAN2Generator(resolution=res, channels=1, **TINY_NETS)
    D = StyleGAN2Discriminator(resolution=res, channels=1, channel_base=64, channel_max=16)
    assert G.num_ws == 2 * (int(math.log2(res)) - 1)
    z = torch.randn(3, 16)
    ws = G.mapping(z)
    assert ws.shape == (3, G.num_ws, 16)
    x = G(z)
    assert x.shape == (3, 1, res, res) and torch.isfinite(x).all()
    assert D(x).shape == (3,)
    # widths follow min(channel_base // r, channel_max)
    assert G.synthesis.const.shape[0] == 16 and G.synthesis.torgbs[-1].conv.weight.shape[1] == 64 // res


def test_training_runs_every_phase(trained):
    _, nets, rec, rows = trained
    assert [(p.name, p.opt, p.interval) for p in rec.phases()] == \
        [("D", "D", 1), ("D_reg", "D", 2), ("G", "G", 1), ("G_reg", "G", 2)]
    assert len(rows) == 4
    for i, row in enumerate(rows):
        losses = {k: v for k, v in row.items() if k.startswith("loss/")}
        assert all(math.isfinite(v) for v in losses.values()), row
        assert ("reg/r1" in row) == ("reg/pl" in row) == (i % 2 == 0)  # steps 0 and 2
    G = nets["G"]
    assert G.pl_mean.item() > 0  # the path-length running mean moved, and is a buffer
    assert G.mapping.w_avg.abs().sum() > 0
    assert "pl_mean" in dict(G.named_buffers()) and "mapping.w_avg" in dict(G.named_buffers())


def test_checkpoint_round_trip(trained):
    run, nets, rec, _ = trained
    G = nets["G_ema"].eval().to(memory_format=torch.contiguous_format)
    model = gankit.load(run)
    assert torch.equal(rec.sample(G, 4, seed=0), model.sample(4, seed=0))
    assert torch.equal(model.nets["G_ema"].mapping.w_avg, nets["G_ema"].mapping.w_avg)
    assert torch.equal(model.nets["G"].pl_mean, nets["G"].pl_mean)


def test_truncation_zero_is_the_mean_w_image(trained):
    run, _, rec, _ = trained
    G = gankit.load(run).generator
    a = rec.sample(G, 4, seed=0, truncation=0.0)
    b = rec.sample(G, 4, seed=7, truncation=0.0)
    mean_img = G.synthesis(G.mapping.w_avg.expand(1, G.num_ws, -1), noise_mode="const")
    assert torch.allclose(a, mean_img.expand_as(a), atol=1e-6) and torch.allclose(b, a, atol=1e-6)
    full = rec.sample(G, 4, seed=0)
    assert not torch.allclose(full[0], full[1])  # without truncation seeds differ
    assert torch.equal(rec.sample(G, 4, seed=0, truncation=1.0), full)
    with pytest.raises(UserError, match="noise_mode"):
        rec.sample(G, 2, seed=0, noise_mode="loud")


def test_style_mix(trained):
    run, _, rec, _ = trained
    G = gankit.load(run).generator
    grid = style_mix(G, [1, 2, 3], [4, 5], crossover_layer=2)
    assert grid.shape == (3, 2, 1, 16, 16)
    only_coarse = style_mix(G, [1, 2], [4], crossover_layer=G.num_ws)  # all ws from the coarse seed
    assert torch.allclose(only_coarse[1, 0], rec.sample(G, 1, seed=2)[0], atol=1e-5)  # batch 2 vs 1: float rounding only
    only_fine = style_mix(G, [1, 2], [4], crossover_layer=0)
    assert torch.allclose(only_fine[0, 0], only_fine[1, 0])
    assert not torch.allclose(grid[0, 0], grid[0, 1])
    with pytest.raises(UserError, match="crossover_layer"):
        style_mix(G, [1], [2], crossover_layer=G.num_ws + 1)


@pytest.mark.parametrize("extra, msg", [
    (["options.pl_interval=0"], "pl_interval"),
    (["options.mixing_prob=1.5"], "mixing_prob"),
    (["G.name=dcgan_g", "G.kwargs={}"], "StyleGAN2 generator"),
])
def test_user_errors(extra, msg):
    with pytest.raises(UserError, match=msg):
        StyleGAN2.resolve(config(1, extra), {"kind": "images", "shape": [1, 16, 16], "num_classes": 10})


def _weights(run):
    ck = find_checkpoint(run)
    return {n: load_file(str(ck / n / "model.safetensors")) for n in ("G", "D", "G_ema")}


def test_resume_is_exact(tmp_path):
    """6 steps straight == 3 steps + resume to 6 (w_avg and pl_mean are checkpointed buffers)."""
    over = ["loop.checkpoint_every=3"]
    train(config(6, over), tmp_path / "full")
    train(config(3, over), tmp_path / "half")
    train(config(6, over), tmp_path / "half", resume=True)
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "half")
    for net in a:
        assert a[net].keys() == b[net].keys()
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), (net, k)
    assert a["G"]["pl_mean"].item() > 0
