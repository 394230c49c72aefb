"""Schedules: the multiplier by hand, the config's type checks, an lr schedule and a
regularizer-weight schedule taking effect in training, and exact resume."""
from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file

import gankit
from gankit.config import ScheduleConfig
from gankit.errors import UserError
from gankit.presets import build_config
from gankit.train import Hook, train
from gankit.train.schedules import check, multiplier

FAST = ["loop.progress=false", "loop.tensorboard=false", "loop.threads=1", "data.batch_size=16",
        "G.kwargs.hidden=16", "D.kwargs.hidden=16", "loop.log_every=1"]


def test_multiplier_by_hand():
    cos = ScheduleConfig(kind="cosine", warmup=2, final=0.25, steps=6)  # decay over steps 2..6
    got = [multiplier(cos, s, total=100) for s in range(8)]
    # warm-up (s + 1) / 2; then 0.25 + 0.75 * (1 + cos(pi * (s - 2) / 4)) / 2; final after step 6
    want = [0.5, 1.0, 1.0, 0.25 + 0.75 * (1 + math.cos(math.pi / 4)) / 2, 0.625,
            0.25 + 0.75 * (1 + math.cos(3 * math.pi / 4)) / 2, 0.25, 0.25]
    assert got == pytest.approx(want)
    lin = ScheduleConfig(kind="linear", final=0.0)
    assert [multiplier(lin, s, total=4) for s in range(5)] == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])
    assert multiplier(ScheduleConfig(), 10**6, total=5) == 1.0


def test_hold_then_linear_is_cyclegans_policy():
    """CycleGAN/pix2pix's lr policy: constant for the first half, then linearly to 0 at the end."""
    sc = ScheduleConfig(kind="linear", final=0.0, hold=0.5)
    got = [multiplier(sc, s, total=8) for s in range(9)]
    assert got == pytest.approx([1.0, 1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0])
    # with a warm-up, the hold is a share of what follows it: warm-up 2, hold 3 of the last 6
    wh = ScheduleConfig(kind="linear", final=0.0, hold=0.5, warmup=2)
    assert [multiplier(wh, s, total=8) for s in range(9)] == pytest.approx(
        [0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 2 / 3, 1 / 3, 0.0])


def test_step_schedule_is_srgans_step_down():
    """SRGAN (Ledig et al. 2017): lr 1e-4 for the first half, 1e-5 for the second."""
    sc = ScheduleConfig(kind="step", final=0.1, hold=0.5)
    assert [multiplier(sc, s, total=6) for s in range(6)] == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1])


@pytest.mark.parametrize("over, msg", [
    (["schedule.lr.kind=exponential"], "schedule.lr.kind must be one of"),
    (["schedule.lr.hold=1.0"], "schedule.lr.hold"),
    (["schedule.reg.final=-1"], "schedule.reg.final"),
    (["schedule.lr.kind=cosine", "schedule.lr.warmup=10", "schedule.lr.steps=5"], "past the warm-up"),
])
def test_bad_schedules_are_user_errors(tmp_path, over, msg):
    cfg = build_config(recipe="gan", data="ring8", steps=1, overrides=FAST + over)
    with pytest.raises(UserError, match=msg):
        train(cfg, tmp_path / "run")


def test_schedule_keys_are_typed():
    with pytest.raises(UserError, match="schedule.lr.warmup must be an integer"):
        build_config(recipe="gan", data="ring8", overrides=["schedule.lr.warmup=abc"])
    with pytest.raises(UserError, match="unknown key"):
        build_config(recipe="gan", data="ring8", overrides=["schedule.gamma.kind=cosine"])
    with pytest.raises(UserError, match="x.final must be a number"):
        check(ScheduleConfig(kind="cosine", final=float("nan")), "x")


class Record(Hook):
    """The lr each optimizer stepped with and the regularizer scale, per step."""

    def __init__(self):
        self.lr, self.reg = [], []

    def after_step(self, tr, step, logs):
        self.lr.append({g: o.param_groups[0]["lr"] for g, o in tr.optimizers.items()})
        self.reg.append(float(logs["reg/gp"]) if "reg/gp" in logs else None)


def test_lr_schedule_takes_effect(tmp_path):
    rec = Record()
    over = FAST + ["schedule.lr.kind=linear", "schedule.lr.final=0.0", "schedule.lr.warmup=2",
                   "optim_g.lr=0.01", "optim_d.lr=0.001"]
    train(build_config(recipe="gan", data="ring8", steps=6, overrides=over), tmp_path / "run", hooks=[rec])
    # warm-up 1/2, 1; then linear 1 -> 0 over steps 2..6: 1, 3/4, 1/2, 1/4
    want = [0.5, 1.0, 1.0, 0.75, 0.5, 0.25]
    assert [r["G"] for r in rec.lr] == pytest.approx([0.01 * m for m in want])
    assert [r["D"] for r in rec.lr] == pytest.approx([0.001 * m for m in want])


def test_reg_schedule_scales_the_penalty_in_the_loss(tmp_path):
    """With schedule.reg going to 0 the D loss is the adversarial loss alone on the last step."""
    over = FAST + ["schedule.reg.kind=linear", "schedule.reg.final=0.0", "schedule.reg.steps=2",
                   "loss.kwargs.gp=1000"]  # a huge weight: the penalty dominates while it is on
    run = tmp_path / "run"
    train(build_config(recipe="wgan-gp", data="ring8", steps=3, overrides=over + ["loop.d_steps=1"]), run)
    rows = gankit.train.log.read_metrics(run)
    for r, scale in zip(rows, [1.0, 0.5, 0.0]):  # linear 1 -> 0 over steps 0..2
        critic = r["D/fake_score"] - r["D/real_score"]  # the Wasserstein part of loss_D
        assert r["loss/D"] == pytest.approx(critic + scale * 1000 * r["reg/gp"], rel=1e-4, abs=1e-4)


def _weights(run):
    ck = gankit.checkpoint.find_checkpoint(run)
    return {n: load_file(str(ck / n / "model.safetensors")) for n in ("G", "D")}


def test_resume_restores_the_schedules_exactly(tmp_path):
    over = FAST + ["loop.checkpoint_every=3", "schedule.lr.kind=cosine", "schedule.lr.warmup=2",
                   "schedule.lr.final=0.1", "schedule.lr.steps=6", "schedule.reg.kind=linear", "schedule.reg.final=0.2",
            "schedule.reg.steps=6"]  # pinned: with steps 0 a decay ends at loop.steps (3, then 6)
    cfg = lambda steps: build_config(recipe="r3gan", data="ring8", steps=steps, overrides=over)
    full, half = Record(), Record()
    train(cfg(6), tmp_path / "full", hooks=[full])
    train(cfg(3), tmp_path / "half", hooks=[half])
    train(cfg(6), tmp_path / "half", resume=True, hooks=[half])
    assert [r["G"] for r in half.lr] == [r["G"] for r in full.lr]
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "half")
    for net in a:
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), (net, k)


def test_top_k_fakes_keeps_the_most_realistic_fakes_and_their_paired_reals():
    from gankit.losses import rpgan
    from gankit.recipes.adversarial import top_k_fakes
    d_real, d_fake = torch.tensor([10.0, 20.0, 30.0, 40.0]), torch.tensor([0.1, 2.0, -1.0, 0.5])
    r, f = top_k_fakes(d_real, d_fake, 0.5)  # ceil(0.5 * 4) = 2: the fakes scored 2.0 and 0.5
    assert f.tolist() == [2.0, 0.5] and r.tolist() == [20.0, 40.0]
    _, loss_g = rpgan(r, f)  # G's RpGAN half on the kept pairs: mean softplus(r - f)
    assert float(loss_g) == pytest.approx((math.log1p(math.exp(18.0)) + math.log1p(math.exp(39.5))) / 2)
    assert top_k_fakes(None, d_fake, 0.3)[1].tolist() == [2.0, 0.5]  # ceil(1.2) = 2; no reals
    assert top_k_fakes(d_real, d_fake, 1.0) == (d_real, d_fake)


def test_topk_schedule_sets_the_fraction_g_learns_from(tmp_path, monkeypatch):
    import gankit.recipes.adversarial as adv
    seen, real = [], adv.top_k_fakes
    monkeypatch.setattr(adv, "top_k_fakes", lambda r, f, frac: seen.append(frac) or real(r, f, frac))
    over = FAST + ["schedule.topk.kind=linear", "schedule.topk.final=0.5", "schedule.topk.steps=2"]
    train(build_config(recipe="gan", data="ring8", steps=4, overrides=over), tmp_path / "run")
    assert seen == pytest.approx([1.0, 0.75, 0.5, 0.5])
    for bad, msg in [("schedule.topk.final=0", "in \\(0, 1\\]"), ("schedule.topk.warmup=2", "cannot warm up")]:
        cfg = build_config(recipe="gan", data="ring8", steps=1, overrides=over + [bad])
        with pytest.raises(UserError, match=msg):
            train(cfg, tmp_path / "bad")


@pytest.mark.parametrize("recipe, kind, last", [("cyclegan", "linear", 0.0), ("pix2pix", "linear", 0.0),
                                                ("stargan", "linear", 0.0), ("srgan", "step", 0.1)])
def test_translation_presets_decay_the_lr_as_their_authors(recipe, kind, last):
    """CycleGAN / pix2pix / StarGAN: constant for half the run, then linearly to 0 at the last
    step; SRGAN: 1e-4 then 1e-5. The preset's schedule reaches the configured end value."""
    cfg = build_config(recipe=recipe)
    sc, n = cfg.schedule.lr, cfg.loop.steps
    assert sc.kind == kind and sc.hold == 0.5
    assert multiplier(sc, n // 2 - 1, n) == 1.0
    assert multiplier(sc, n, n) == pytest.approx(last)
    assert multiplier(sc, n - 1, n) == pytest.approx(last if kind == "step" else 1 / (n // 2))


@pytest.mark.parametrize("recipe", ["sngan", "projection"])
def test_sngan_family_decays_the_lr_to_zero(recipe):
    """sngan_projection's LinearShift: alpha from its value to 0, starting at iteration 0."""
    cfg = build_config(recipe=recipe)
    sc, n = cfg.schedule.lr, cfg.loop.steps
    assert multiplier(sc, 0, n) == 1.0 and multiplier(sc, n // 2, n) == pytest.approx(0.5)
    assert multiplier(sc, n, n) == 0.0


def test_start_lets_a_schedule_rise():
    """``start`` < ``final``: R3GAN's ramps (beta2 0.9 -> 0.99, augmentation p 0 -> 0.55) are cosine
    moves up; the warm-up ends at ``start``."""
    up = ScheduleConfig(kind="cosine", start=0.0, final=1.0, steps=4)
    assert [multiplier(up, s, total=9) for s in range(6)] == pytest.approx(
        [0.0, (1 - math.cos(math.pi / 4)) / 2, 0.5, (1 - math.cos(3 * math.pi / 4)) / 2, 1.0, 1.0])
    assert multiplier(ScheduleConfig(kind="linear", start=2.0, final=1.0, warmup=2), 0, total=4) == 1.0
    assert multiplier(ScheduleConfig(start=0.5), 3, total=4) == 0.5
    with pytest.raises(UserError, match="x.start must be a number >= 0"):
        check(ScheduleConfig(kind="cosine", start=-1.0), "x")


class Betas(Hook):
    def __init__(self):
        self.b2, self.p = [], []

    def after_step(self, tr, step, logs):
        self.b2.append({g: o.param_groups[0]["betas"][1] for g, o in tr.optimizers.items()})
        self.p.append(tr.augment.p if tr.augment is not None else None)


def test_beta2_and_augment_schedules_take_effect(tmp_path):
    """schedule.beta2 scales both Adams' second beta, schedule.augment a fixed ADA p, each step."""
    rec = Betas()
    over = FAST + ["optim_g.betas=[0.0,0.99]", "optim_d.betas=[0.0,0.99]", "schedule.beta2.kind=linear",
                   f"schedule.beta2.start={0.9 / 0.99}", "schedule.beta2.final=1.0", "schedule.beta2.steps=4",
                   "augment.name=ada-fixed", "augment.p=0.5", "schedule.augment.kind=linear",
                   "schedule.augment.start=0.0", "schedule.augment.final=1.0", "schedule.augment.steps=4"]
    train(build_config(recipe="r3gan", data="digits", steps=5, overrides=[o for o in over if "hidden" not in o]
                       + ["G.kwargs.ngf=8", "D.kwargs.ndf=8", "data.resolution=16"]), tmp_path / "run", hooks=[rec])
    assert [r["G"] for r in rec.b2] == pytest.approx([0.9, 0.9225, 0.945, 0.9675, 0.99])
    assert [r["D"] for r in rec.b2] == [r["G"] for r in rec.b2]
    assert rec.p == pytest.approx([0.0, 0.125, 0.25, 0.375, 0.5])


@pytest.mark.parametrize("over, msg", [
    (["schedule.beta2.kind=linear", "schedule.beta2.final=1.2"], "beta2 must stay below 1"),
    (["schedule.beta2.kind=linear", "schedule.beta2.final=0.9", "optim_d.name=sgd"], "optim_d.name is 'sgd'"),
    (["schedule.augment.kind=linear", "schedule.augment.start=0"], "only augment.name: ada-fixed"),
    (["schedule.augment.kind=linear", "augment.name=ada-fixed", "augment.p=0.6", "schedule.augment.final=2"],
     "above 1"),
])
def test_bad_beta2_and_augment_schedules_are_user_errors(tmp_path, over, msg):
    cfg = build_config(recipe="gan", data="ring8", steps=1, overrides=FAST + over)
    with pytest.raises(UserError, match=msg):
        train(cfg, tmp_path / "run")
