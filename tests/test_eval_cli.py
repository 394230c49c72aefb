"""`gankit eval` end to end on tiny trained runs, the HTML report, real-vs-real baselines, and
in-training evaluation (loop.eval_every / loop.keep_best)."""
import json
import math
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

import gankit
from gankit.cli import main
from gankit.errors import UserError
from gankit.presets import build_config
from gankit.train import train

FAST = ["--set", "loop.progress=false", "--set", "loop.tensorboard=false"]
IMAGE_KEYS = {"fid", "kid", "precision", "recall", "density", "coverage", "extractor"}
# A tiny class-conditional run with G_ema, trained with in-training evaluation every step and
# checkpoints/best by FID: one run exercises the hook, G_ema, conditional sampling and class_acc.
TINY = ["G.kwargs.ngf=8", "D.kwargs.ndf=8", "data.batch_size=16", "loop.progress=false",
        "loop.tensorboard=false", "loop.ema=0.9"]
EVALS = ["loop.eval_every=1", "loop.eval_metrics=fid,class_acc", "loop.eval_n=100", "loop.keep_best=fid"]


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("GANKIT_CACHE", str(tmp_path_factory.mktemp("cache")))
    mp.delenv("GANKIT_INCEPTION_WEIGHTS", raising=False)
    yield
    mp.undo()


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("digits") / "run"
    train(build_config(recipe="cgan", data="digits", steps=2, overrides=TINY + EVALS), run)
    return run


def _json(capsys) -> dict:
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1, lines  # exactly one JSON object
    return json.loads(lines[0])


def test_eval_json_on_tiny_image_run(digits_run, capsys):
    assert main(["eval", "--checkpoint", str(digits_run), "--json", "--n", "200"]) == 0
    res = _json(capsys)
    assert IMAGE_KEYS | {"is", "modes", "reverse_kl", "class_acc"} <= set(res)
    assert res["extractor"] == "digits" and res["split"] == "test" and res["n_real"] == 360 and res["n"] == 200
    assert math.isfinite(res["fid"]) and res["fid"] > 0
    assert all(0 <= res[k] <= 1 for k in ("precision", "recall", "coverage"))
    assert 1 <= res["is"] <= 10 and 1 <= res["modes"] <= 10 and 0 <= res["class_acc"] <= 1
    assert main(["eval", "--checkpoint", str(digits_run), "--json", "--n", "200", "--metrics", "fid"]) == 0
    again = _json(capsys)
    assert again["fid"] == res["fid"] and "kid" not in again  # seeded: the same samples, the same number


def test_eval_report(digits_run, tmp_path, capsys):
    rep = tmp_path / "report"
    assert main(["eval", "--checkpoint", str(digits_run), "--n", "100", "--metrics", "fid,prdc",
                 "--report", str(rep)]) == 0
    out = capsys.readouterr().out
    assert "extractor" in out and "digits" in out and "fid" in out and "coverage" in out
    for f in ("index.html", "samples.png", "closest_real.png", "losses.png"):
        assert (rep / f).stat().st_size > 200, f
    page = (rep / "index.html").read_text()
    assert "digits" in page and "<td>fid</td>" in page and "closest_real.png" in page


def test_eval_json_on_tiny_grid25_run(tmp_path, capsys):
    run = tmp_path / "g"
    assert main(["train", "--recipe", "gan", "--data", "grid25", "--steps", "5", "--out", str(run), *FAST,
                 "--set", "G.kwargs.hidden=32", "--set", "D.kwargs.hidden=32"]) == 0
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(run), "--json"]) == 0
    res = _json(capsys)
    assert {"modes", "high_quality", "reverse_kl", "precision", "recall", "density", "coverage"} <= set(res)
    assert res["extractor"] == "points" and res["n"] == 2500 and res["modes_total"] == 25
    assert 0 <= res["modes"] <= 25 and 0 <= res["high_quality"] <= 100


def test_real_vs_real_baseline_is_good(capsys):
    assert main(["eval", "--real-vs-real", "--data", "digits", "--json"]) == 0
    res = _json(capsys)
    assert res["extractor"] == "digits" and res["fake"] == "train split" and res["split"] == "test"
    assert res["fid"] < 5 and abs(res["kid"]) < 0.1 and res["precision"] > 0.9 and res["recall"] > 0.85
    assert res["modes"] == 10 and res["reverse_kl"] < 0.01 and res["is"] > 7


@pytest.mark.parametrize("args,needle", [
    (["--metrics", "fid,nope"], "--metrics: unknown metric 'nope'"),
    (["--extractor", "randconv", "--metrics", "modes"], "--metrics modes: needs a classifier extractor"),
    (["--extractor", "points"], "--extractor points: reads points, but this data is images"),
    (["--n", "1", "--metrics", "fid"], "--n must be >= 2"),
    (["--data", "digits"], "--data: only used with --real-vs-real"),
])
def test_eval_user_errors(digits_run, capsys, args, needle):
    assert main(["eval", "--checkpoint", str(digits_run), "--n", "50", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_eval_inception_without_weights_exits_2_in_one_line(digits_run, tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if k != "GANKIT_INCEPTION_WEIGHTS"}
    env["GANKIT_CACHE"] = str(tmp_path)
    p = subprocess.run([sys.executable, "-m", "gankit", "eval", "--checkpoint", str(digits_run), "--extractor",
                        "inception"], capture_output=True, text=True, timeout=120, env=env, check=False)
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "--inception-weights" in lines[0] and "GANKIT_INCEPTION_WEIGHTS" in lines[0]


# ------------------------------------------------------------------------ in-training evaluation
def _final_weights(run):
    ck = gankit.checkpoint.find_checkpoint(run)
    return {n: load_file(str(ck / n / "model.safetensors")) for n in ("G", "D", "G_ema")}


def test_eval_hook_logs_metrics_keeps_best_and_does_not_disturb_training(digits_run, tmp_path):
    rows = [json.loads(line) for line in (digits_run / "metrics.jsonl").read_text().splitlines()]
    evals_logged = [r for r in rows if "metrics/fid" in r]
    assert [r["step"] for r in evals_logged] == [1, 2]
    assert all(0 <= r["metrics/class_acc"] <= 1 and r["metrics/fid"] > 0 for r in evals_logged)
    train(build_config(recipe="cgan", data="digits", steps=2, overrides=TINY), tmp_path / "plain")
    a, b = _final_weights(digits_run), _final_weights(tmp_path / "plain")
    for net in a:  # evaluation draws no noise from the loop's streams and leaves BN stats alone
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), (net, k)
    best_dir = digits_run / "checkpoints" / "best"
    state = json.loads((best_dir / "state.json").read_text())
    best_fid = min(r["metrics/fid"] for r in evals_logged)
    assert state["best"] == {"key": "fid", "value": best_fid}
    assert state["step"] == next(r["step"] for r in evals_logged if r["metrics/fid"] == best_fid)
    model = gankit.load(best_dir)
    assert "G_ema" in model.nets and model.sample(3, seed=0).shape == (3, 1, 32, 32)


def test_keep_best_must_be_an_evaluated_key(tmp_path):
    bad = ["loop.eval_every=2", "loop.eval_metrics=fid", "loop.keep_best=precision"]
    with pytest.raises(UserError, match="loop.keep_best: 'precision' is not computed"):
        train(build_config(recipe="dcgan", data="digits", steps=2, overrides=TINY + bad), tmp_path / "r")
    with pytest.raises(UserError, match="loop.eval_metrics: unknown metric 'fdi'"):
        train(build_config(recipe="dcgan", data="digits", steps=2,
                           overrides=TINY + ["loop.eval_every=1", "loop.eval_metrics=fdi"]), tmp_path / "s")
