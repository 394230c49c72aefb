"""ProGAN: the growth schedule, fade-in of G and D at two resolutions, real-image fading, training
through a fade-in in the loop, and the checkpoint round trip."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import gankit
from gankit.errors import UserError
from gankit.nets.progan import ProGANDiscriminator, ProGANGenerator, split_growth
from gankit.presets import build_config
from gankit.recipes.base import StepContext
from gankit.recipes.progan import ProGAN, growth_at
from gankit.train import train
from gankit.train.log import read_metrics

TINY = ["G.kwargs.z_dim=16", "G.kwargs.channel_base=64", "G.kwargs.channel_max=16",
        "D.kwargs.channel_base=64", "D.kwargs.channel_max=16"]
FAST = ["loop.progress=false", "loop.tensorboard=false", "data.batch_size=8", "loop.log_every=1",
        "loop.n_samples=4", "loop.threads=1", "loop.precision=fp32", "data.resolution=16"]


def test_schedule_is_a_function_of_the_step():
    # phases of 2 steps: stable 4, fade 8, stable 8, fade 16, stable 16 (= fully grown, L = 2)
    got = [growth_at(s, 2, 2) for s in range(12)]
    assert got == [0, 0, 0.5, 1, 1, 1, 1.5, 2, 2, 2, 2, 2]
    assert [split_growth(g, 2) for g in (0, 0.5, 1, 1.5, 2)] == [(0, 1.0), (1, 0.5), (1, 1.0), (2, 0.5), (2, 1.0)]


@pytest.mark.parametrize("res", [16, 32])
def test_shapes_and_fade_in(res):
    torch.manual_seed(0)
    G = ProGANGenerator(resolution=res, channels=1, z_dim=16, channel_base=64, channel_max=16).eval()
    D = ProGANDiscriminator(resolution=res, channels=1, channel_base=64, channel_max=16)
    levels = int(math.log2(res // 4))
    assert G.levels == levels and float(G.growth) == levels  # fully grown when built
    z = torch.randn(4, 16)
    for g in [k / 2 for k in range(2 * levels + 1)]:
        G.set_growth(g)
        D.set_growth(g)
        r = G.current_resolution
        native = G(z, full_res=False)
        assert native.shape == (4, 1, r, r)
        assert G(z).shape == (4, 1, res, res)  # samples always at the final resolution
        assert D(native).shape == (4,) and D(G(z)).shape == (4,)  # larger images are pooled down
    # Fade-in (sec. 2): halfway into level l, G's image is the average of the upsampled level
    # l-1 image and the level l image.
    G.set_growth(levels - 1)
    low = F.interpolate(G(z, full_res=False), scale_factor=2.0, mode="nearest")
    G.set_growth(levels)
    high = G(z, full_res=False)
    G.set_growth(levels - 0.5)
    assert torch.allclose(G(z, full_res=False), 0.5 * (low + high), atol=1e-5)
    D.set_growth(1)
    with pytest.raises(ValueError, match="resolution 8"):
        D(torch.randn(2, 1, 4, 4))


def test_reals_fade_like_fakes():
    cfg = build_config(recipe="progan", data="digits", overrides=FAST + TINY + ["options.steps_per_phase=2"])
    meta = {"kind": "images", "shape": [1, 16, 16], "num_classes": 10}
    rec = ProGAN(ProGAN.resolve(cfg, meta), meta)
    nets = rec.build_nets()
    x = torch.randn(2, 1, 16, 16)

    def ctx(step):
        return StepContext(rec, nets, {"real": x}, step, torch.Generator(), torch.device("cpu"))

    assert torch.equal(rec.at_current(ctx(0), x), F.avg_pool2d(x, 4))  # stable 4x4
    x8 = F.avg_pool2d(x, 2)
    faded = rec.at_current(ctx(2), x)  # fading 8x8 in, alpha 0.5
    assert torch.allclose(faded, 0.5 * x8 + 0.5 * F.interpolate(F.avg_pool2d(x8, 2), scale_factor=2.0))
    assert nets["D"].current == (1, 0.5) and nets["G"].current == (1, 0.5)
    assert rec.at_current(ctx(2), faded) is faded  # fakes (already at r) pass through


def test_training_through_a_fade_in(tmp_path):
    keep = {}
    run = tmp_path / "run"
    cfg = build_config(recipe="progan", data="digits", steps=6,
                       overrides=FAST + TINY + ["options.steps_per_phase=2", "loop.ema=0.9"])
    train(cfg, run, hooks=[lambda st: keep.update(nets=st.nets, recipe=st.recipe)])
    rows = read_metrics(run)
    assert [r["progan/resolution"] for r in rows] == [4, 4, 8, 8, 8, 8]
    assert [r["progan/alpha"] for r in rows] == [1, 1, 0.5, 1, 1, 1]
    for r in rows:
        assert all(math.isfinite(v) for k, v in r.items() if k.startswith(("loss/", "reg/"))), r
        assert {"loss/D", "loss/G", "reg/gp", "reg/drift"} <= set(r)
    nets, rec = keep["nets"], keep["recipe"]
    G = nets["G_ema"].eval().to(memory_format=torch.contiguous_format)
    model = gankit.load(run)
    assert float(model.generator.growth) == 1.0  # the checkpoint knows how far G has grown
    a, b = rec.sample(G, 4, seed=0), model.sample(4, seed=0)
    assert a.shape == (4, 1, 16, 16) and torch.equal(a, b)
    # grown to 8x8 so far: the 16 px samples are 2x2 blocks
    assert torch.equal(a, F.interpolate(F.avg_pool2d(a, 2), scale_factor=2.0))


@pytest.mark.parametrize("extra, msg", [
    (["options.steps_per_phase=0"], "steps_per_phase"),
    (["G.name=dcgan_g", "G.kwargs={}"], "growing nets"),
])
def test_user_errors(extra, msg):
    cfg = build_config(recipe="progan", data="digits", overrides=FAST + TINY + extra)
    with pytest.raises(UserError, match=msg):
        ProGAN.resolve(cfg, {"kind": "images", "shape": [1, 16, 16], "num_classes": 10})


def test_digits_preset_trains_4000_steps_fully_grown():
    """progan's one-flag digits run: 500-step phases reach 32 px by step 3,000, then 4,000 steps
    fully grown (issue #28: 5,000 steps in all gave FID 12.84 on 2 seeds, 7,000 give 9.63 on 3)."""
    from gankit.nets.progan import _levels
    from gankit.recipes.progan import grown_step

    cfg = build_config(recipe="progan", data="digits")
    per, levels = cfg.options["steps_per_phase"], _levels(cfg.data.resolution)
    assert (per, cfg.loop.steps) == (500, 7000)
    assert growth_at(grown_step(per, levels), per, levels) == levels
    assert cfg.loop.steps - grown_step(per, levels) == 4000
