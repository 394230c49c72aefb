"""`gankit bench`: gankit's loop vs the tutorial-style references, for every workload."""
import json

import pytest
import torch
import torch.nn.functional as F

from gankit.bench import WORKLOADS
from gankit.bench.naive import NaiveDCGAN, NaivePix2Pix, NaiveStyleGAN2, now, timed_rates, use_clock
from gankit.bench.peak import count_flops, efficiency, measured_peak
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
    for loop in ("gankit", "naive"):  # against the hardware: counted FLOPs, achieved and peak GFLOP/s
        r = w[loop]
        assert r["flops_per_step"] > 0 and r["peak_gflops"] > 0
        assert r["gflops"] == pytest.approx(r["flops_per_step"] * r["img_per_s"] / w["batch_size"] / 1e9,
                                            rel=0.02, abs=0.006)
        assert r["pct_of_peak"] == pytest.approx(100 * r["gflops"] / r["peak_gflops"], rel=0.02, abs=0.06)
    assert w["naive"]["precision"] == "fp32"
    if workload != "stylegan2":  # gankit reuses the D phase's fake for the G phase: one G forward less
        assert w["gankit"]["flops_per_step"] < w["naive"]["flops_per_step"]
    assert {p["dtype"] for p in out["peaks"]} == {w["gankit"]["precision"], "fp32"}


def test_count_flops_matches_the_formula():
    """A matmul's FLOPs are 2mnk; its backward adds two more matmuls of the same size."""
    a = torch.randn(8, 16, requires_grad=True)
    b = torch.randn(16, 4)
    assert count_flops(lambda: a @ b) == 2 * 8 * 16 * 4
    assert count_flops(lambda: (a @ b).sum().backward(), n=2) == 2 * 2 * (8 * 16 * 4) * 2
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    w = torch.randn(5, 3, 3, 3)
    # a gradient penalty (autograd.grad with create_graph on a leaf) is counted too
    assert count_flops(lambda: torch.autograd.grad(F.conv2d(x, w, padding=1).sum(), x, create_graph=True)) > 0


def test_measured_peak_and_efficiency():
    p = measured_peak("fp32", matmul_n=256, reps=1, min_time=0.0)
    assert p["peak_gflops"] == max(p["matmul_gflops"], p["conv_gflops"]) > 0 and p["dtype"] == "fp32"
    e = efficiency(flops_per_step=2_000_000_000, img_per_s=64.0, batch_size=32, peak_gflops=8.0)
    assert e == {"flops_per_step": 2_000_000_000, "gflops": 4.0, "pct_of_peak": 50.0}


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


def test_cpu_clock_ignores_time_spent_waiting():
    """--clock cpu: a sleeping process advances the wall clock, not the CPU clock."""
    import time

    for name, moves in (("wall", True), ("cpu", False)):
        with use_clock(name):
            t0 = now()
            time.sleep(0.2)
            assert (now() - t0 > 0.15) is moves, name
