"""Tables: CTGAN's encoding (mode-specific normalisation), training-by-sampling batches, the ctgan
recipe on built-in and user CSV tables, samples.csv, bad CSVs, and the table metrics."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

import gankit
from gankit.cli import main
from gankit.config import DataConfig
from gankit.data import load_data
from gankit.data.tabular import decode, encode, fit_gmm, fit_transform, wine_table
from gankit.metrics.tabular_metrics import column_distances, correlation_difference, tstr
from gankit.presets import build_config
from gankit.train import train

FAST = ["--set", "loop.progress=false", "--set", "loop.tensorboard=false", "--set", "loop.threads=1"]
TINY = ["--set", "data.batch_size=16", "--set", "G.kwargs.hidden=16", "--set", "D.kwargs.hidden=16",
        "--set", "G.kwargs.z_dim=8", "--set", "loop.n_samples=16"]


def _train(data: str, out, *extra) -> list[str]:
    return ["train", "--recipe", "ctgan", "--data", data, "--steps", "3", "--out", str(out), *FAST, *TINY, *extra]


def _user_csv(path, rows: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["height", "weight", "colour", "grade"])
        for _ in range(rows):
            c = rng.choice(["red", "green", "blue"], p=[0.7, 0.25, 0.05])
            h = rng.normal(170 if c == "red" else 150, 5)
            w.writerow([f"{h:.1f}", f"{h * 0.4 + rng.normal(0, 2):.1f}", c, int(rng.integers(1, 4))])
    return path


def test_ctgan_trains_on_wine_and_writes_csv(tmp_path):
    run = tmp_path / "run"
    assert main(_train("wine", run)) == 0
    assert (run / "samples" / "latest.png").is_file()
    assert main(["sample", "--checkpoint", str(run), "--n", "25", "--out", str(tmp_path / "s")]) == 0
    rows = list(csv.reader((tmp_path / "s" / "samples.csv").read_text().splitlines()))
    assert rows[0][0] == "alcohol" and rows[0][-1] == "class" and len(rows) == 26
    assert {r[-1] for r in rows[1:]} <= {"class_0", "class_1", "class_2"}
    assert all(float(r[0]) == float(r[0]) for r in rows[1:])  # numbers, not NaN
    assert (tmp_path / "s" / "histograms.png").is_file()


def test_user_csv_mixed_columns(tmp_path):
    f = _user_csv(tmp_path / "people.csv")
    d = load_data(DataConfig(name=str(f)))
    spec = {s["name"]: s for s in d.info["transform"]}
    assert d.kind == "tabular" and spec["colour"]["type"] == "discrete" and spec["grade"]["type"] == "discrete"
    assert spec["height"]["type"] == "continuous" and d.info["target"] == "grade"
    run = tmp_path / "run"
    assert main(_train(str(f), run)) == 0
    assert main(["sample", "--checkpoint", str(run), "--n", "10", "--out", str(tmp_path / "s")]) == 0
    rows = list(csv.reader((tmp_path / "s" / "samples.csv").read_text().splitlines()))
    assert rows[0] == ["height", "weight", "colour", "grade"] and len(rows) == 11
    assert {r[2] for r in rows[1:]} <= {"red", "green", "blue"} and {r[3] for r in rows[1:]} <= {"1", "2", "3"}


@pytest.mark.parametrize("content, needle", [
    ("a,b,c\n" + "1,2,3\n" * 12 + "4,5\n", "line 14 has 2 fields"),
    ("a,b,c\n" + "1,2,3\n" * 12 + "4,oops,6\n" + "1,2,3\n" * 3, "line 14, column 'b': 'oops' is not a number"),
    ("a,b,c\n" + "1,2,3\n" * 12 + "4,,6\n", "empty cell"),
    ("a,b\n1,2\n3,4\n", "at least 10"),
])
def test_bad_csv_files_exit_2(tmp_path, capsys, content, needle):
    f = tmp_path / "bad.csv"
    f.write_text(content)
    assert main(_train(str(f), tmp_path / "run")) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_binary_csv_and_bad_kwargs_exit_2(tmp_path, capsys):
    f = tmp_path / "blob.csv"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" * 100)
    assert main(_train(str(f), tmp_path / "r")) == 2
    assert "blob.csv" in capsys.readouterr().err
    good = _user_csv(tmp_path / "ok.csv")
    assert main(_train(str(good), tmp_path / "r2", "--set", "data.kwargs.target=nope")) == 2
    assert "nope" in capsys.readouterr().err
    assert main(_train("wine", tmp_path / "r3", "--set", "data.batch_size=12")) == 2  # not a multiple of pack 8
    assert "pack" in capsys.readouterr().err


def test_mode_specific_normalisation_round_trip():
    t = wine_table()
    rows = t.split("train")
    spec = fit_transform(t, rows)
    enc = encode(t.values[rows], spec, seed=0)
    back = decode(enc, spec)
    inside = np.abs(enc[:, 0]) < 0.99  # alcohol values within 4 sigma of their mode decode exactly
    assert np.allclose(back[inside, 0], t.values[rows][inside, 0], atol=1e-4)
    assert np.array_equal(back[:, -1], t.values[rows, -1])  # the class column, one-hot
    bimodal = np.concatenate([np.random.default_rng(0).normal(-5, 1, 300), np.random.default_rng(1).normal(5, 1, 300)])
    g = fit_gmm(bimodal)
    assert len(g["means"]) == 2 and np.allclose(g["means"], [-5, 5], atol=0.3)


def test_training_by_sampling_is_exact_and_rebalances():
    d = load_data(DataConfig(name="breast-cancer"))
    b1, b2 = d.batch(7, 400, seed=3), d.batch(7, 400, seed=3)
    assert torch.equal(b1["real"], b2["real"]) and torch.equal(b1["cond"], b2["cond"])
    off, size = d.info["cond_spans"][0]
    assert torch.equal(b1["real"][:, off: off + size], b1["cond"])  # the real row has the asked category
    freq = d.x[:, off: off + size].mean(0)  # malignant ~ 0.37
    asked = b1["cond"].mean(0)
    assert abs(float(asked[0]) - 0.5) < abs(float(freq[0]) - 0.5)  # log-frequency: closer to balanced


def test_save_load_round_trip(tmp_path):
    over = [a for a in TINY + FAST if a != "--set"]
    cfg = build_config(recipe="ctgan", data="wine", steps=2, overrides=over)
    keep = {}
    train(cfg, tmp_path / "run", hooks=[lambda st: keep.update(nets=st.nets, recipe=st.recipe)])
    model = gankit.load(tmp_path / "run")
    a = keep["recipe"].sample(keep["nets"]["G"].eval(), 16, seed=1)
    assert torch.equal(a, model.sample(16, seed=1))


def test_table_metrics():
    t = wine_table()
    tr, te = t.values[t.split("train")], t.values[t.split("test")]
    spec = fit_transform(t, t.split("train"))
    same = column_distances(tr, tr, spec)
    assert same["ks_mean"] == 0 and same["tv_mean"] == 0
    assert correlation_difference(tr, tr, spec) == pytest.approx(0.0)
    shuffled = tr.copy()
    shuffled[:, -1] = np.random.default_rng(0).permutation(shuffled[:, -1])
    r = tstr(tr, te, shuffled, spec, "class", models=("linear",))
    assert r["trtr/logreg/accuracy"] > 0.85 and r["tstr/logreg/accuracy"] < r["trtr/logreg/accuracy"]


def test_resume_is_exact(tmp_path):
    """Training-by-sampling batches are a pure function of the batch index: 2 + 2 steps = 4 steps."""
    over = [a for a in TINY + FAST if a != "--set"]
    train(build_config(recipe="ctgan", data="wine", steps=4, overrides=over), tmp_path / "a")
    train(build_config(recipe="ctgan", data="wine", steps=2, overrides=over), tmp_path / "b")
    train(build_config(recipe="ctgan", data="wine", steps=4, overrides=over), tmp_path / "b", resume=True)
    a, b = gankit.load(tmp_path / "a"), gankit.load(tmp_path / "b")
    for name in ("G", "D"):
        sa, sb = a.nets[name].state_dict(), b.nets[name].state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa), name
