"""A user path without --recipe trains the recipe for its kind; `gankit eval` scores every kind."""
from __future__ import annotations

import json

import numpy as np
import pytest

from gankit.cli import main
from gankit.data.user import guess_kind
from gankit.presets import build_config


def _files(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "t.txt").write_text("the quick brown fox jumps over the lazy dog. " * 60)
    rows = "".join(f"{rng.normal():.3f},{rng.normal():.3f},{'ab'[i % 2]}\n" for i in range(80))
    (tmp_path / "t.csv").write_text("x,y,c\n" + rows)
    (tmp_path / "n.csv").write_text("u,v\n" + "".join(f"{np.sin(i / 5):.3f},{i % 7}\n" for i in range(300)))
    np.savez(tmp_path / "p.npz", x=rng.normal(size=(200, 2)).astype("float32"))
    np.savez(tmp_path / "i.npz", x=rng.integers(0, 255, (20, 8, 8), dtype=np.uint8))
    np.savez(tmp_path / "ab.npz", x=rng.integers(0, 255, (20, 8, 8), dtype=np.uint8),
             a=rng.integers(0, 255, (20, 8, 8), dtype=np.uint8))
    for d in ("trainA", "trainB"):
        (tmp_path / "u" / d).mkdir(parents=True)
    return tmp_path


@pytest.mark.parametrize("name, kwargs, kind, recipe", [
    ("t.txt", {}, "text", "gumbel-gan"), ("t.csv", {}, "tabular", "ctgan"),
    ("t.csv", {"layout": "series"}, "sequence", "rgan"), ("p.npz", {}, "points", "gan"),
    ("i.npz", {}, "images", "dcgan"), ("ab.npz", {}, "paired", "pix2pix"), ("u", {}, "unpaired", "cyclegan"),
])
def test_user_path_picks_the_recipe_of_its_kind(tmp_path, name, kwargs, kind, recipe):
    path = str(_files(tmp_path) / name)
    assert guess_kind(path, kwargs) == kind
    over = [f"data.kwargs.layout={kwargs['layout']}"] if kwargs else []
    assert build_config(data=path, overrides=over).recipe == recipe
    assert build_config(recipe="dcgan", data=path, overrides=over).recipe == "dcgan"  # --recipe wins


def test_missing_user_path_is_a_user_error(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "nope.csv"), "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "nope.csv" in err and "Traceback" not in err


FAST = ["--set", "loop.progress=false", "--set", "loop.tensorboard=false", "--set", "loop.threads=1"]


def test_text_file_trains_without_recipe_and_evals(tmp_path, capsys):
    f = _files(tmp_path) / "t.txt"
    run = tmp_path / "run"
    assert main(["train", "--data", str(f), "--steps", "3", "--out", str(run), *FAST,
                 "--set", "data.batch_size=8", "--set", "loop.n_samples=4"]) == 0
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(run), "--n", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["recipe"] == "gumbel-gan" and 0 <= out["bleu2"] <= 1 and out["step"] == 3
    assert main(["eval", "--checkpoint", str(run), "--metrics", "fid"]) == 2  # one fixed report
    assert "fixed report" in capsys.readouterr().err


def test_eval_of_a_translation_model_names_the_right_tool(tmp_path, capsys):
    run = tmp_path / "p2p"
    assert main(["train", "--recipe", "pix2pix", "--data", "edges2photo", "--steps", "1", "--out", str(run), *FAST,
                 "--set", "data.batch_size=2", "--set", "data.resolution=16", "--set", "data.limit=8",
                 "--set", "loop.n_samples=2"]) == 0
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(run)]) == 2
    err = capsys.readouterr().err
    assert "paired" in err and "i2i_eval" in err and "Traceback" not in err


def test_training_previews_carry_provenance(tmp_path):
    from PIL import Image

    run = tmp_path / "d"
    assert main(["train", "--recipe", "dcgan", "--data", "digits", "--steps", "2", "--out", str(run), *FAST,
                 "--set", "G.kwargs.ngf=8", "--set", "D.kwargs.ndf=8", "--set", "data.batch_size=4",
                 "--set", "data.resolution=16", "--set", "loop.n_samples=4", "--set", "loop.seed=3"]) == 0
    with Image.open(run / "samples" / "latest.png") as im:
        assert im.text["gankit:synthetic"] == "true" and im.text["gankit:recipe"] == "dcgan"
        assert im.text["gankit:step"] == "2" and im.text["gankit:seed"] == "3"


@pytest.mark.parametrize("name, extra, needle", [
    ("t.txt", [], "distinct characters"), ("t.csv", [], "columns: x (continuous), y (continuous), c (discrete)"),
    ("n.csv", ["--layout", "series"], "300 time steps of features u, v"),
])
def test_data_check_describes_text_and_csv(tmp_path, capsys, name, extra, needle):
    f = _files(tmp_path) / name
    assert main(["data", "check", str(f), *extra]) == 0
    assert needle in capsys.readouterr().out


def test_data_check_bad_csv_exits_2(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3\n")
    assert main(["data", "check", str(tmp_path / "bad.csv")]) == 2
    err = capsys.readouterr().err
    assert "bad.csv: line 3" in err and "Traceback" not in err
