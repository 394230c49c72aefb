"""Discrete sequences: the text data kind, gumbel-gan / seqgan / char-mle on the loop, samples.txt,
user .txt files (and bad ones), the straight-through estimator, and the BLEU metrics."""
from __future__ import annotations

import math

import pytest
import torch

import gankit
from gankit.cli import main
from gankit.config import DataConfig
from gankit.data import load_data
from gankit.data.text import decode, normalize
from gankit.metrics.text_metrics import bleu, self_bleu, text_report
from gankit.nets.text import CharCNNDiscriminator, CharGRUGenerator
from gankit.presets import build_config
from gankit.recipes.text_gan import gumbel_st_sequence
from gankit.registry import RECIPES
from gankit.train import train

FAST = ["--set", "loop.progress=false", "--set", "loop.tensorboard=false", "--set", "loop.threads=1"]
TINY = ["--set", "data.batch_size=8", "--set", "G.kwargs.hidden=16", "--set", "D.kwargs.hidden=8",
        "--set", "G.kwargs.embed=8", "--set", "D.kwargs.embed=8", "--set", "loop.n_samples=4",
        "--set", "data.kwargs.seq_len=12"]
PROSE = ("The quick brown fox jumps over the lazy dog. A generator writes characters one at a time, "
         "and a discriminator reads whole windows of them. ") * 12


def _args(recipe: str, data: str, out, *extra) -> list[str]:
    pre = [] if recipe == "char-mle" else ["--set", "options.pretrain_steps=1"]  # adversarial steps 1, 2
    return ["train", "--recipe", recipe, "--data", data, "--steps", "3", "--out", str(out), *FAST, *TINY, *pre,
            *extra]


@pytest.mark.parametrize("recipe", ["gumbel-gan", "seqgan", "char-mle"])
def test_recipe_trains_and_samples_text(recipe, tmp_path, capsys):
    run = tmp_path / "run"
    extra = ["--set", "options.rollouts=1", "--set", "options.rollout_every=6"] if recipe == "seqgan" else []
    assert main(_args(recipe, "pylicense", run, *extra)) == 0
    rows = [r for r in (run / "metrics.jsonl").read_text().splitlines() if r]
    assert rows and "loss/G" in rows[-1] and "loss/D" in rows[-1]
    assert (run / "samples" / "latest.png").is_file()
    assert main(["sample", "--checkpoint", str(run), "--n", "5", "--out", str(tmp_path / "s")]) == 0
    lines = (tmp_path / "s" / "samples.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5 and all(len(s) == 12 for s in lines)


def test_user_txt_trains_and_bad_files_exit_2(tmp_path, capsys):
    good = tmp_path / "notes.txt"
    good.write_text(PROSE, encoding="utf-8")
    assert main(_args("gumbel-gan", str(good), tmp_path / "run")) == 0
    d = load_data(DataConfig(name=str(good), kwargs={"seq_len": 12}))
    assert d.kind == "text" and d.x.dtype == torch.int64 and d.x.shape[1] == 12
    assert set(d.info["vocab"]) <= set(normalize(PROSE))

    binary = tmp_path / "weights.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    assert main(_args("gumbel-gan", str(binary), tmp_path / "r2")) == 2
    err = capsys.readouterr().err
    assert "weights.txt" in err and "binary" in err and "Traceback" not in err

    latin = tmp_path / "latin1.txt"
    latin.write_bytes("café au lait, ".encode("latin-1") * 50)
    assert main(_args("gumbel-gan", str(latin), tmp_path / "r3")) == 2
    assert "latin1.txt" in capsys.readouterr().err

    short = tmp_path / "short.txt"
    short.write_text("two words", encoding="utf-8")
    assert main(_args("gumbel-gan", str(short), tmp_path / "r4")) == 2
    assert "short.txt" in capsys.readouterr().err

    assert main(_args("gumbel-gan", str(good), tmp_path / "r5", "--set", "data.kwargs.crop=center")) == 2
    assert "crop" in capsys.readouterr().err


def test_text_recipes_refuse_other_data(tmp_path, capsys):
    assert main(["train", "--recipe", "gumbel-gan", "--data", "ring8", "--steps", "1", "--out",
                 str(tmp_path / "r"), *FAST]) == 2
    assert "needs text data" in capsys.readouterr().err


def test_save_load_round_trip_and_exact_batches(tmp_path):
    cfg = build_config(recipe="gumbel-gan", data="pylicense", steps=2,
                       overrides=[a for a in TINY + FAST if a != "--set"] + ["options.pretrain_steps=1"])
    keep = {}
    train(cfg, tmp_path / "run", hooks=[lambda st: keep.update(nets=st.nets, recipe=st.recipe)])
    model = gankit.load(tmp_path / "run")
    a = keep["recipe"].sample(keep["nets"]["G"].eval(), 6, seed=3)
    assert a.dtype == torch.int64 and torch.equal(a, model.sample(6, seed=3))
    assert not torch.equal(a, model.sample(6, seed=4))
    data = load_data(cfg.data)
    assert torch.equal(data.batch(5, 8, seed=1)["real"], data.batch(5, 8, seed=1)["real"])  # pure function
    assert data.batch(0, 8, seed=0)["real"].dtype == torch.int64


def test_straight_through_gumbel_passes_gradients_and_tau_anneals():
    torch.manual_seed(0)
    G, D = CharGRUGenerator(vocab_size=7, seq_len=5, z_dim=4, embed=4, hidden=8), CharCNNDiscriminator(7, 5, 4, 8)
    u = torch.rand(3, 5, 7)
    y = gumbel_st_sequence(G, torch.randn(3, 4), u, tau=0.5)
    assert torch.allclose(y.sum(-1), torch.ones(3, 5)) and set(y.detach().unique().tolist()) <= {0.0, 1.0}
    D(y).sum().backward()
    assert G.out.weight.grad is not None and G.out.weight.grad.abs().sum() > 0  # D's gradient reached G
    rec = RECIPES.get("gumbel-gan")(build_config(recipe="gumbel-gan", overrides=[
        "options.pretrain_steps=10", "options.anneal_steps=100", "options.tau_max=1.0", "options.tau_min=0.1"]), {})
    taus = [rec.tau(s) for s in (0, 10, 60, 110, 500)]
    assert taus[0] == taus[1] == 1.0 and math.isclose(taus[3], 0.1) and taus[4] == taus[3]
    assert taus[1] > taus[2] > taus[3]


def test_bleu_and_self_bleu_both_ways():
    refs = ["the cat sat on the mat today", "a dog ran in the park today"]
    assert bleu(refs, refs, 3) == pytest.approx(1.0)
    assert bleu(["zq xv wk jj qq"], refs, 2) < 0.05
    same = ["the cat sat on the mat now"] * 4
    assert self_bleu(same, 3) == pytest.approx(1.0)
    assert self_bleu(["alpha beta gamma x", "delta epsilon zeta x", "eta theta iota x"], 3) < 0.1
    r = text_report(same, refs, train=same[:1])
    assert r["copied"] == 1.0 and r["distinct2"] < 0.3 and 0 < r["word_validity"] <= 1
    assert decode(torch.tensor([[0, 1]]), "ab") == ["ab"]
