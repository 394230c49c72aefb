"""Discriminator rejection sampling (``sample.drs``): what it keeps, and that it is seeded."""
from __future__ import annotations

import pytest
import torch

import gankit
from gankit.presets import build_config
from gankit.train import train

FAST = ["loop.progress=false", "loop.tensorboard=false", "loop.threads=1", "data.batch_size=32",
        "G.kwargs.hidden=16", "D.kwargs.hidden=16", "loop.checkpoint_every=20"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("drs") / "run"
    train(build_config(recipe="r3gan", data="ring8", steps=20, overrides=FAST + ["sample.drs=true"]), out)
    return out


def test_drs_keeps_what_d_rates_real_and_is_seeded(run):
    m = gankit.load(run)
    assert m.config.sample.drs
    x = m.sample(300, seed=3)
    assert x.shape == (300, 2) and torch.equal(x, m.sample(300, seed=3))
    assert not torch.equal(x, m.sample(300, seed=4))
    plain = m.recipe.sample(m.generator, 300, 3)
    # accepted with probability exp(min(0, D - M)): the kept samples score higher under D
    assert m.d_score(x).mean() > m.d_score(plain).mean()
    # every kept sample is one of G's outputs (a subset of the seeded candidate rounds)
    cand = torch.cat([m.recipe.sample(m.generator, 600, 3 * 1_000_003 + r) for r in range(3)])
    assert torch.cdist(x, cand).min(1).values.max() < 1e-3  # cdist rounding; points are ~1 apart


def test_drs_off_is_plain_sampling(run):
    m = gankit.load(run)
    m.config.sample.drs = False
    assert torch.equal(m.sample(50, seed=1), m.recipe.sample(m.generator, 50, 1))
