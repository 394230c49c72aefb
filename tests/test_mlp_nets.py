"""The MLP nets of Goodfellow et al. (2014): mlp_d's maxout units and input dropout."""
from __future__ import annotations

import pytest
import torch

from gankit.nets.mlp import Maxout, MLPDiscriminator


def test_maxout_takes_the_max_over_each_units_pieces():
    x = torch.tensor([[1.0, 5.0, -2.0, 0.5, 0.25, 0.75]])  # 2 units x 3 pieces
    assert torch.equal(Maxout(3)(x), torch.tensor([[5.0, 0.75]]))


def test_goodfellow_mnist_discriminator_shape_and_size():
    """hidden 240, depth 2, maxout 5 (goodfeli/adversarial mnist.yaml): 784 -> 1200 -> 240 -> 1200
    -> 240 -> 1 weights, i.e. the paper's maxout layers, not 240-unit ReLU layers."""
    torch.manual_seed(0)
    d = MLPDiscriminator(in_shape=[1, 28, 28], hidden=240, depth=2, maxout=5, dropout=0.5, in_dropout=0.2)
    n = sum(p.numel() for p in d.parameters())
    assert n == (784 * 1200 + 1200) + (240 * 1200 + 1200) + (240 + 1)
    x = torch.randn(4, 1, 28, 28)
    assert d(x).shape == (4,)
    out = d(x, heads=True)
    assert out["features"].shape == (4, 240)


def test_dropouts_act_in_training_only():
    torch.manual_seed(0)
    d = MLPDiscriminator(in_shape=[64], hidden=32, depth=2, maxout=2, dropout=0.5, in_dropout=0.2)
    x = torch.randn(8, 64)
    d.train()
    assert not torch.equal(d(x), d(x))  # a fresh mask each call
    d.eval()
    assert torch.equal(d(x), d(x))


def test_plain_mlp_d_keeps_its_checkpoint_keys():
    """No maxout / input dropout: the same modules (and state_dict keys) as before the options."""
    keys = set(MLPDiscriminator(in_shape=[2]).state_dict())
    assert {"body.0.weight", "body.2.weight", "body.4.weight", "body.6.weight"} <= keys


@pytest.mark.parametrize("kw", [{"maxout": -1}, {"in_dropout": 1.0}, {"dropout": -0.1}])
def test_bad_options_raise(kw):
    with pytest.raises(ValueError):
        MLPDiscriminator(in_shape=[2], **kw)


def test_gan_digits_preset_uses_the_authors_mnist_sizes(tmp_path):
    """`gankit train --recipe gan --data digits` trains goodfeli/adversarial's MNIST MLPs (issue #28:
    with the 256-unit LeakyReLU MLPs it stalled at FID 53; with these, 7.8 on seed 0)."""
    from gankit import load
    from gankit.presets import build_config
    from gankit.train import train

    cfg = build_config(recipe="gan", data="digits")
    assert (cfg.G.kwargs["z_dim"], cfg.G.kwargs["hidden"], cfg.G.kwargs["depth"]) == (100, 1200, 2)
    d = cfg.D.kwargs
    assert (d["hidden"], d["depth"], d["maxout"], d["dropout"], d["in_dropout"]) == (240, 2, 5, 0.5, 0.2)
    assert cfg.data.batch_size == 100
    over = ["loop.sample_every=2", "loop.checkpoint_every=2", "loop.progress=false", "loop.tensorboard=false",
            "data.batch_size=8", "data.limit=32"]
    train(build_config(recipe="gan", data="digits", steps=2, overrides=over), tmp_path / "run")
    m = load(tmp_path / "run")
    assert any(isinstance(x, Maxout) for x in m.nets["D"].modules())
    assert m.sample(4, 0, None).shape == (4, 1, 32, 32)


def test_maxout_layers_take_batch_norm_over_every_piece():
    from torch import nn

    from gankit.nets.mlp import _mlp

    layers = nn.Sequential(*_mlp([8, 4, 4], nn.ReLU(), norm=True, maxout=3))
    assert layers(torch.randn(5, 8)).shape == (5, 4)
    assert [m.num_features for m in layers if isinstance(m, nn.BatchNorm1d)] == [12, 12]
