import json

import pytest
import torch
from safetensors.torch import load_file

import gankit
from gankit.errors import UserError
from gankit.presets import build_config
from gankit.train import train

FAST = ["loop.progress=false", "loop.tensorboard=false"]
SMALL = FAST + ["G.kwargs.ngf=8", "D.kwargs.ndf=8", "data.batch_size=8", "data.resolution=16"]


@pytest.mark.parametrize("recipe,data,extra", [
    ("gan", "ring8", ["G.kwargs.hidden=32", "D.kwargs.hidden=32", "data.batch_size=32"]),
    ("gan", "grid25", ["loss.name=minimax", "loop.d_steps=2", "G.kwargs.hidden=32", "D.kwargs.hidden=32"]),
    ("dcgan", "digits", SMALL[2:]),
    ("cgan", "digits", SMALL[2:]),
])
def test_classic_recipes_run_with_finite_losses(tmp_path, recipe, data, extra):
    cfg = build_config(recipe=recipe, data=data, steps=4, overrides=FAST + extra + ["loop.log_every=2"])
    train(cfg, tmp_path / "run")
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4]
    for r in rows:
        assert all(torch.isfinite(torch.tensor(v)) for k, v in r.items() if k.startswith("loss/"))
        assert {"loss/D", "loss/G", "D/real_score"} <= set(r)
    run = tmp_path / "run"
    assert (run / "config.yaml").is_file() and (run / "samples" / "latest.png").is_file()
    ck = run / "checkpoints" / "step_0000004"
    assert (ck / "G" / "config.json").is_file() and (ck / "G" / "model.safetensors").is_file()
    assert (run / "checkpoints" / "latest").read_text().strip() == "step_0000004"


def _weights(run):
    ck = gankit.checkpoint.find_checkpoint(run)
    return {n: load_file(str(ck / n / "model.safetensors")) for n in ("G", "D", "G_ema")}


def test_resume_is_bit_exact(tmp_path, resume_exact):
    over = SMALL + ["loop.ema=0.9", "loop.checkpoint_every=3", "loop.d_steps=2"]
    half = resume_exact("cgan", over, 6, 3, tmp_path)
    state = json.loads((half / "checkpoints" / "step_0000006" / "state.json").read_text())
    assert state["step"] == 6


def test_resume_refuses_changed_config_and_missing_run(tmp_path):
    train(build_config(recipe="dcgan", steps=2, overrides=SMALL), tmp_path / "r")
    with pytest.raises(UserError, match="config differs.*optim_g.lr"):
        train(build_config(recipe="dcgan", steps=4, overrides=SMALL + ["optim_g.lr=1e-3"]), tmp_path / "r",
              resume=True)
    with pytest.raises(UserError, match="no run to resume"):
        train(build_config(recipe="dcgan", steps=4, overrides=SMALL), tmp_path / "none", resume=True)
    with pytest.raises(UserError, match="already holds a run"):
        train(build_config(recipe="dcgan", steps=4, overrides=SMALL), tmp_path / "r")


def test_shared_fake_matches_fresh_forward(tmp_path):
    """The G step reuses the fake from the D step: G runs once per step (not twice)."""
    cfg = build_config(recipe="dcgan", steps=3, overrides=SMALL)
    from gankit.nets.dcgan import DCGANGenerator

    calls = {"n": 0}
    orig = DCGANGenerator.forward

    def counting(self, z, y=None):
        if self.training:
            calls["n"] += 1
        return orig(self, z, y)

    DCGANGenerator.forward = counting
    try:
        train(cfg, tmp_path / "r")
    finally:
        DCGANGenerator.forward = orig
    assert calls["n"] == 3


def test_g_fresh_trains_g_on_new_z(tmp_path, monkeypatch):
    """loop.g_fresh (StyleGAN2, sngan_projection): the G phase draws its own z instead of reusing
    the D step's fakes, so G sees a different batch than D did, every step."""
    from gankit.nets.dcgan import DCGANGenerator

    seen, orig = [], DCGANGenerator.forward

    def record(self, z, y=None):
        if self.training:
            seen.append((torch.is_grad_enabled(), z[0, :4].clone()))
        return orig(self, z, y)

    monkeypatch.setattr(DCGANGenerator, "forward", record)
    train(build_config(recipe="dcgan", steps=2, overrides=SMALL + ["loop.g_fresh=true"]), tmp_path / "r")
    assert [g for g, _ in seen] == [False, True, False, True]  # D's fakes without a graph, then G's own
    assert not torch.equal(seen[0][1], seen[1][1]) and not torch.equal(seen[2][1], seen[3][1])
    seen.clear()
    train(build_config(recipe="dcgan", steps=2, overrides=SMALL), tmp_path / "shared")
    assert [g for g, _ in seen] == [True, True]  # the default: one forward, shared by D and G


def test_checkpoint_alone_samples(tmp_path):
    train(build_config(recipe="cgan", steps=2, overrides=SMALL), tmp_path / "r")
    ck = gankit.checkpoint.find_checkpoint(tmp_path / "r")
    model = gankit.load(ck)
    assert model.step == 2 and model.meta["kind"] == "images"
    x = model.sample(10, seed=3)
    assert x.shape == (10, 1, 16, 16) and x.abs().max() <= 1
    assert torch.equal(x, model.sample(10, seed=3))


def test_gradient_accumulation_matches_the_full_batch(tmp_path):
    """Two micro-batches of 16 take the same step as one batch of 32 (no batch norm here)."""
    over = FAST + ["G.kwargs.hidden=32", "D.kwargs.hidden=32", "data.batch_size=32", "loop.ema=0",
                   "loop.precision=fp32"]
    train(build_config(recipe="gan", data="ring8", steps=2, overrides=over), tmp_path / "full")
    train(build_config(recipe="gan", data="ring8", steps=2, overrides=over + ["loop.accumulate=2"]), tmp_path / "acc")
    a, b = gankit.load(tmp_path / "full"), gankit.load(tmp_path / "acc")
    for net in ("G", "D"):
        for (k, v), w in zip(a.nets[net].state_dict().items(), b.nets[net].state_dict().values()):
            assert torch.allclose(v, w, atol=1e-5), (net, k)
    with pytest.raises(UserError, match="must divide"):
        train(build_config(recipe="gan", data="ring8", steps=1, overrides=over + ["loop.accumulate=3"]), tmp_path / "x")


def test_the_per_step_reseed_draws_the_stream_torch_manual_seed_draws():
    # the loop reseeds torch's global generator (augmentation, dropout) every step without the
    # accelerator bookkeeping of torch.manual_seed; runs must reproduce the stream they had
    from gankit.train.setup import seed_global_rng

    torch.manual_seed(1234)
    want = (torch.rand(5), torch.randn(3), torch.randint(0, 10, (4,)))
    torch.manual_seed(0)
    seed_global_rng(1234, torch.device("cpu"))
    got = (torch.rand(5), torch.randn(3), torch.randint(0, 10, (4,)))
    assert all(torch.equal(a, b) for a, b in zip(want, got))


@pytest.mark.parametrize("recipe", ["stylegan2", "sngan", "projection", "biggan", "wgan-gp", "wgan", "sagan",
                                    "progan", "infogan"])
def test_presets_whose_authors_draw_fresh_z_for_g_set_g_fresh(recipe):
    """stylegan2-ada-pytorch, sngan_projection, BigGAN-PyTorch, the WGAN and WGAN-GP code, SAGAN's,
    ProGAN's and InfoGAN's all sample new z for the G update; the DCGAN family (pytorch/examples) reuses D's fakes (the default)."""
    assert build_config(recipe=recipe).loop.g_fresh is True
    assert build_config(recipe="dcgan").loop.g_fresh is False
