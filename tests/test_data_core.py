import math

import torch

from gankit.config import DataConfig
from gankit.data import load_data


def test_ring8_and_grid25_constants():
    ring = load_data(DataConfig(name="ring8"))
    means = torch.tensor(ring.info["means"])
    assert means.shape == (8, 2) and torch.allclose(means.norm(dim=1), torch.ones(8, dtype=means.dtype))
    assert ring.info["std"] == 0.01
    grid = load_data(DataConfig(name="grid25"))
    gm = torch.tensor(grid.info["means"])
    assert gm.shape == (25, 2) and set(gm[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert grid.info["std"] == 0.05
    # samples sit on their modes
    d = torch.cdist(grid.x.double(), gm.double()).min(1).values
    assert (d < 3 * 0.05 * math.sqrt(2)).double().mean() > 0.98  # within 3 std per axis


def test_digits_resolution_and_split():
    tr = load_data(DataConfig(name="digits", resolution=16))
    te = load_data(DataConfig(name="digits", resolution=16), split="test")
    assert tr.x.shape == (1437, 1, 16, 16) and te.x.shape == (360, 1, 16, 16)
    assert tr.x.dtype == torch.uint8 and tr.num_classes == 10
    b = tr.batch(0, 32, seed=0)
    assert b["real"].shape == (32, 1, 16, 16) and -1 <= b["real"].min() and b["real"].max() <= 1
    assert b["y"].shape == (32,)


def test_batches_are_stateless_and_cover_epochs():
    data = load_data(DataConfig(name="digits", resolution=8, limit=100))
    a = data.indices(3, 64, seed=5)
    assert torch.equal(a, data.indices(3, 64, seed=5))
    # one epoch of a 100-example set in batches of 10 sees every example once
    seen = torch.cat([data.indices(i, 10, seed=1) for i in range(10)])
    assert sorted(seen.tolist()) == list(range(100))
    # ranks of a DDP world see disjoint slices of the same global batch
    r0, r1 = data.indices(0, 10, 1, rank=0, world=2), data.indices(0, 10, 1, rank=1, world=2)
    assert not set(r0.tolist()) & set(r1.tolist())
