"""`gankit bench`: gankit's loop vs the tutorial-style references, for every workload with one,
and the per-family workloads (gankit's loop only)."""
import argparse
import copy
import json

import pytest
import torch
import torch.nn.functional as F

from gankit.bench import GROUPS, WORKLOADS, format_table
from gankit.bench.naive import NaiveDCGAN, NaivePix2Pix, NaiveStyleGAN2, now, timed_rates, use_clock
from gankit.bench.peak import count_flops, efficiency, measured_peak
from gankit.bench.throughput import progan_grown_step, resolve_names, workload_config
from gankit.cli import main
from gankit.cli.parser import build_parser
from gankit.data import load_data
from gankit.nets.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator
from gankit.presets import build_config
from gankit.recipes.progan import growth_at
from gankit.registry import NETS, RECIPES
from gankit.train.setup import data_meta

# the real workloads, shrunk (batch 4 at 16 px) so a test takes seconds
TINY = ["--steps", "3", "--warmup", "1", "--window", "1", "--rounds", "1",
        "--set", "data.batch_size=4", "--set", "data.resolution=16"]


@pytest.mark.parametrize("workload", GROUPS["naive"])
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
        assert r["s_per_step"] == pytest.approx(w["batch_size"] / r["img_per_s"], rel=0.01)
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
    # a tiny step against a fast peak keeps 3 significant digits instead of rounding to 0.0
    assert efficiency(flops_per_step=1_234_000, img_per_s=1.0, batch_size=1, peak_gflops=1000.0)["pct_of_peak"] \
        == 0.000123


# the per-family workloads: recipe, G, D of `gankit train --recipe R --data digits`
FAMILIES = {
    "dcgan-digits": ("dcgan", "dcgan_g", "dcgan_d"),
    "sngan-digits": ("sngan", "dcgan_g", "sndcgan_d"),
    "resnet-digits": ("sngan", "resnet_g", "resnet_d"),
    "biggan-digits": ("biggan", "biggan_g", "biggan_d"),
    "progan-digits": ("progan", "progan_g", "progan_d"),
    "stylegan2-digits": ("stylegan2", "stylegan2_g", "stylegan2_d"),
    "r3gan-digits": ("r3gan", "r3gan_g", "r3gan_d"),
}
# loop settings that change what a training step does (the bench's quiet settings and length aside)
STEP_LOOP_KEYS = ("d_steps", "ema", "ema_start", "ema_buffers", "accumulate", "channels_last", "check_finite",
                  "precision", "compile")


def test_groups_and_defaults():
    assert GROUPS["naive"] == ["dcgan32", "stylegan2", "pix2pix"]
    assert GROUPS["families"] == list(FAMILIES)
    assert set(GROUPS["all"]) == set(WORKLOADS) and not set(GROUPS) & set(WORKLOADS)
    assert resolve_names(None) == GROUPS["naive"]  # the default: the gankit-vs-naive comparison, as before
    assert resolve_names(["dcgan32", "families", "sngan-digits", "dcgan32"]) == ["dcgan32", *FAMILIES]
    b = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices["bench"]
    help_ = next(a.help for a in b._actions if "--workloads" in a.option_strings)
    assert all(name in help_ for name in [*WORKLOADS, *GROUPS])


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_workloads_are_the_one_flag_digits_runs(name):
    """Each family workload trains exactly what `gankit train --recipe R --data digits` trains:
    the same recipe, nets, data (resolution, batch size), loss, optimisers, options, schedules and
    per-step loop settings; only the loop's length and its logging/sampling differ. r3gan-digits
    and resnet-digits add the nets their one-flag presets no longer train (R3GAN's own; SNGAN's
    CIFAR ResNets with 5 D steps): the workload is that run + them."""
    recipe, g, d = FAMILIES[name]
    w = WORKLOADS[name]
    assert (w.recipe, w.data, w.naive) == (recipe, "digits", False)
    assert not w.overrides or name in ("r3gan-digits", "resnet-digits")
    cfg, ref = workload_config(w), build_config(recipe=recipe, data="digits", overrides=w.overrides)
    assert (cfg.recipe, cfg.G.name, cfg.D.name) == (recipe, g, d)
    for key in ("data", "G", "D", "loss", "optim_g", "optim_d", "options", "schedule", "augment"):
        assert getattr(cfg, key) == getattr(ref, key), key
    for key in STEP_LOOP_KEYS:
        assert getattr(cfg.loop, key) == getattr(ref.loop, key), key
    assert cfg.data.resolution == 32 and cfg.data.batch_size in (32, 64)
    assert (w.start_step is not None) == (recipe == "progan")


def test_progan_workload_starts_at_its_last_growth_phase():
    """progan-digits is timed fully grown: its first timed step is the first of the last phase."""
    cfg = workload_config(WORKLOADS["progan-digits"])
    rcfg = RECIPES.get("progan").resolve(copy.deepcopy(cfg), data_meta(load_data(cfg.data)))
    start = progan_grown_step(rcfg)
    per = rcfg.options["steps_per_phase"]  # the preset's (progan-digits: 500)
    assert start == 2 * 3 * per  # 4 -> 8 -> 16 -> 32 px
    levels = 3
    assert all(growth_at(s, per, levels) == levels for s in range(start, start + 100))  # fully grown from there
    assert growth_at(start - 2, per, levels) < levels  # the fade-in before it (alpha reaches 1 on its last step)


def test_bench_family_workload_reports_gankit_only(capsys):
    """A workload without a naive reference: gankit's loop only (img/s, s/step, FLOPs, % of
    peak), no naive entry or ratio; progan timed from its last growth phase."""
    assert main(["bench", "--json", "--workloads", "progan-digits", *TINY]) == 0
    out = json.loads(capsys.readouterr().out)
    (w,) = out["workloads"]
    assert w["workload"] == "progan-digits" and "skipped" not in w
    assert (w["recipe"], w["nets"], w["batch_size"], w["resolution"]) == (
        "progan", {"G": "progan_g", "D": "progan_d"}, 4, 16)
    assert w["start_step"] == 2 * 2 * 500  # 16 px: 2 doublings of the progan-digits preset's 500 steps
    for key in ("naive", "naive_img_per_s", "ratio", "naive_windows"):
        assert key not in w
    r = w["gankit"]
    assert w["windows"] == 2 and w["gankit_img_per_s"] == r["img_per_s"] > 0
    assert r["flops_per_step"] > 0 and r["peak_gflops"] > 0 and 0 < r["pct_of_peak"]
    assert r["s_per_step"] > 0 and r["s_per_step"] == pytest.approx(4 / r["img_per_s"], rel=0.01)
    assert r["gflops"] == pytest.approx(r["flops_per_step"] * r["img_per_s"] / 4 / 1e9, rel=0.02, abs=0.006)
    assert [p["dtype"] for p in out["peaks"]] == [r["precision"]]  # no fp32 peak measured for a naive loop


def test_format_table_shows_dashes_without_a_naive_loop():
    loop = {"img_per_s": 100.0, "s_per_step": 0.64, "precision": "bf16", "peak_gflops": 200.0,
            "flops_per_step": 2_000_000_000, "gflops": 312.5, "pct_of_peak": 12.5}
    result = {"clock": "cpu", "workloads": [
        {"workload": "dcgan32", "description": "a", "ratio": 2.0, "start_step": 0, "gankit": loop,
         "naive": {**loop, "precision": "fp32", "img_per_s": 50.0, "s_per_step": 1.28}},
        {"workload": "progan-digits", "description": "b", "start_step": 2400, "gankit": loop},
        {"workload": "pix2pix", "skipped": "why"}]}
    lines = format_table(result).splitlines()
    assert "s/step (cpu)" in lines[0] and "naive % of fp32 peak" in lines[0]
    assert lines[1].split()[:2] == ["dcgan32", "2.00x"] and lines[1].split()[-3:] == ["50.0", "1.28", "12.5"]
    assert lines[2].split()[:2] == ["progan-digits", "-"] and lines[2].split()[-3:] == ["-", "-", "-"]
    assert "0.64" in lines[2] and "2.00" in lines[2]  # s/step and GFLOP/step
    assert "progan-digits: b [timed from step 2400]" in lines and "pix2pix: skipped: why" in lines


@pytest.mark.parametrize("args,needle", [
    (["--workloads", "nope"], "unknown workload 'nope'"),
    (["--workloads", "families,nope"], "unknown workload 'nope'"),
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
