"""BigGAN: nets at two resolutions (hierarchical z, shared embedding, attention, projection),
a few loop steps with hinge + orthogonal regularization, checkpoint round trip, labels and
truncation at sampling."""
from __future__ import annotations

import math

import pytest
import torch

import gankit
from gankit.errors import UserError
from gankit.generate import sample as generate_sample
from gankit.nets.biggan import BigGANDiscriminator, BigGANGenerator
from gankit.presets import build_config
from gankit.recipes.biggan import BigGAN
from gankit.train import train
from gankit.train.log import read_metrics

TINY = ["G.kwargs.z_dim=16", "G.kwargs.ch=4", "G.kwargs.shared_dim=8", "D.kwargs.ch=4"]
FAST = ["loop.progress=false", "loop.tensorboard=false", "data.batch_size=8", "loop.log_every=1",
        "loop.n_samples=4", "loop.threads=1", "loop.precision=fp32", "data.resolution=16"]


@pytest.mark.parametrize("res", [16, 32])
def test_shapes(res):
    torch.manual_seed(0)
    G = BigGANGenerator(resolution=res, channels=1, z_dim=20, num_classes=10, ch=4, shared_dim=8,
                        attention_res=res // 2)
    D = BigGANDiscriminator(resolution=res, channels=1, ch=4, num_classes=10, attention_res=res // 2)
    n_blocks = int(math.log2(res // 4))
    assert len(G.chunks) == n_blocks + 1 and sum(G.chunks) == 20  # hierarchical z
    assert list(G.attn) == [str(res // 2)] and D.attn is not None
    # every block's cBN is conditioned on [shared embedding (8), its z chunk]
    assert [b.bn1.gain.in_features for b in G.blocks] == [8 + k for k in G.chunks[1:]]
    z, y = torch.randn(3, 20), torch.tensor([0, 1, 2])
    x = G(z, y)
    assert x.shape == (3, 1, res, res) and x.abs().max() <= 1
    assert D(x, y).shape == (3,)
    with pytest.raises(ValueError, match="labels"):
        D(x)


def test_train_round_trip_labels_truncation(tmp_path):
    keep = {}
    run = tmp_path / "run"
    cfg = build_config(recipe="biggan", data="digits", steps=3, overrides=FAST + TINY + ["loop.ema=0.9"])
    train(cfg, run, hooks=[lambda st: keep.update(nets=st.nets, recipe=st.recipe)])
    rows = read_metrics(run)
    assert len(rows) == 3
    for r in rows:
        assert {"loss/D", "loss/G", "reg/ortho"} <= set(r)
        assert all(math.isfinite(v) for k, v in r.items() if k.startswith(("loss/", "reg/"))), r
    nets, rec = keep["nets"], keep["recipe"]
    assert rec.cfg.G.kwargs["attention_res"] == 8 and rec.cfg.D.kwargs["num_classes"] == 10
    G = nets["G_ema"].eval().to(memory_format=torch.contiguous_format)
    model = gankit.load(run)
    assert torch.equal(rec.sample(G, 4, seed=0), model.sample(4, seed=0))
    # labels: y is used, and the same (seed, y) gives the same images
    threes = model.sample(4, seed=1, y=torch.full((4,), 3))
    assert torch.equal(threes, model.sample(4, seed=1, y=torch.full((4,), 3)))
    assert not torch.equal(threes, model.sample(4, seed=1, y=torch.full((4,), 5)))
    # truncation (the CLI's --truncation): deterministic, changes the samples, 0 gives z = 0
    t = generate_sample(model, 4, seed=0, class_=2, truncation=0.5)
    assert t.shape == (4, 1, 16, 16) and torch.equal(t, generate_sample(model, 4, seed=0, class_=2, truncation=0.5))
    assert not torch.equal(t, generate_sample(model, 4, seed=0, class_=2))
    zero = model.sample(3, seed=0, y=torch.full((3,), 4), truncation=0.0)
    assert torch.allclose(zero, zero[:1].expand_as(zero), atol=1e-6)


def test_needs_projection_d_and_labels():
    meta = {"kind": "images", "shape": [1, 16, 16], "num_classes": 10}
    cfg = build_config(recipe="biggan", data="digits", overrides=FAST + ["D.name=dcgan_d", "D.kwargs={}"])
    with pytest.raises(UserError, match="projection discriminator"):
        BigGAN.resolve(cfg, meta)
    with pytest.raises(UserError, match="labelled data"):
        BigGAN.resolve(build_config(recipe="biggan", data="digits", overrides=FAST),
                       {**meta, "num_classes": 0})


def test_ema_averages_batch_norm_statistics_as_biggan():
    """BigGAN-PyTorch's G_ema averages the whole state dict: with ``ema_buffers: average`` the
    running BN statistics move like the weights; ``copy`` (StyleGAN2-ADA's) takes G's own."""
    from gankit.train.hooks import ema_update

    assert build_config(recipe="biggan").loop.ema_buffers == "average"
    net = torch.nn.BatchNorm1d(3)
    for mode, want in (("average", 0.5), ("copy", 1.0)):
        ema = torch.nn.BatchNorm1d(3)
        net.running_mean.fill_(1.0)
        net.num_batches_tracked.fill_(7)
        ema_update(ema, net, beta=0.5, buffers=mode)  # ema's running_mean starts at 0
        assert torch.allclose(ema.running_mean, torch.full((3,), want))
        assert int(ema.num_batches_tracked) == 7  # integer buffers are copied either way


def test_digits_preset_takes_one_d_step_at_the_imagenet_lr_pair_with_ada():
    """BigGAN-PyTorch pairs lr G 1e-4 / D 4e-4 with one D step (its ImageNet script); the digits
    preset does so at ch 16 and augments D's input with ADA (37.1 -> 28.2 FID on seed 0)."""
    cfg = build_config(recipe="biggan", data="digits")
    assert (cfg.optim_g.lr, cfg.optim_d.lr, cfg.loop.d_steps) == (1e-4, 4e-4, 1)
    assert cfg.augment.name == "ada" and cfg.G.kwargs["ch"] == cfg.D.kwargs["ch"] == 16
