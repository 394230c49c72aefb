"""`gankit bench`: gankit's loop vs the tutorial-style references, for every workload."""
import json

import pytest
import torch

from gankit.bench import WORKLOADS
from gankit.bench.naive import NaiveDCGAN, NaivePix2Pix, NaiveStyleGAN2, timed_rates
from gankit.cli import main
from gankit.nets.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator
from gankit.registry import NETS

# the real workloads, shrunk (batch 4 at 16 px) so a test takes seconds
TINY = ["--steps", "3", "--warmup", "1", "--window", "1", "--rounds", "1",
        "--set", "data.batch_size=4", "--set", "data.resolution=16"]


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_bench_json_reports_both_loops_and_ratio(workload, capsys):
    """`gankit bench --json` prints throughputs of both loops and their ratio (no workload skipped)."""
    assert main(["bench", "--json", "--workloads", workload, *TINY]) == 0
    out = json.loads(capsys.readouterr().out)
    (w,) = out["workloads"]
    assert w["workload"] == workload and "skipped" not in w
    for key in ("gankit_img_per_s", "naive_img_per_s", "ratio"):
        assert w[key] > 0
    assert w["ratio"] == pytest.approx(w["gankit_img_per_s"] / w["naive_img_per_s"], rel=0.02, abs=0.006)
    assert w["windows"] == w["naive_windows"] == 2  # steps 2 and 3 timed, one step each


@pytest.mark.parametrize("args,needle", [
    (["--workloads", "nope"], "unknown workload 'nope'"),
    (["--steps", "5", "--warmup", "5", "--window", "1"], "--steps"),
])
def test_bench_user_errors(args, needle, capsys):
    assert main(["bench", "--json", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def _changed(net, before):
    return any(not torch.equal(p, b) for p, b in zip(net.parameters(), before))


def test_naive_references_train_their_nets():
    """Each reference really steps both optimizers (a reference that did less work would
    flatter the ratio)."""
    torch.manual_seed(0)
    G = NETS.build("dcgan_g", resolution=16, channels=1, z_dim=8, ngf=8)
    D = NETS.build("dcgan_d", resolution=16, channels=1, ndf=8)
    before_g, before_d = [p.clone() for p in G.parameters()], [p.clone() for p in D.parameters()]
    NaiveDCGAN(G, D, 8).step(torch.randint(0, 256, (4, 1, 16, 16), dtype=torch.uint8))
    assert _changed(G, before_g) and _changed(D, before_d)

    G = StyleGAN2Generator(resolution=8, channels=1, z_dim=8, w_dim=8, mapping_layers=2, channel_base=32,
                           channel_max=8)
    D = StyleGAN2Discriminator(resolution=8, channels=1, channel_base=32, channel_max=8)
    sg = NaiveStyleGAN2(G, D, 2e-3, (0.0, 0.99), 2e-3, (0.0, 0.99), r1_gamma=1.0, r1_interval=2,
                        pl_weight=2.0, pl_interval=2, ema=0.5)
    before_g, before_ema = [p.clone() for p in G.parameters()], [p.clone() for p in sg.G_ema.parameters()]
    sg.step(torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8))
    assert _changed(G, before_g) and _changed(sg.G_ema, before_ema)
    assert sg.mean_path_length > 0  # the path-length phase ran on step 0

    G = NETS.build("unet_g", in_channels=1, channels=3, resolution=16, ngf=4)
    D = NETS.build("patchgan_d", in_channels=4, resolution=16, ndf=4, n_layers=1)
    before_g, before_d = [p.clone() for p in G.parameters()], [p.clone() for p in D.parameters()]
    p2p = NaivePix2Pix(G, D)
    rates = timed_rates(p2p.step, iter([(torch.zeros(2, 1, 16, 16, dtype=torch.uint8),
                                         torch.zeros(2, 3, 16, 16, dtype=torch.uint8))] * 3), 2, 3, 1, 1)
    assert len(rates) == 2 and all(r > 0 for r in rates)
    assert _changed(G, before_g) and _changed(D, before_d)
