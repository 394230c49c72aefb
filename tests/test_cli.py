import json
import subprocess
import sys

import numpy as np
import pytest

from gankit.cli import main

FAST = ["--set", "loop.progress=false", "--set", "loop.tensorboard=false"]
SMALL = FAST + ["--set", "G.kwargs.ngf=8", "--set", "D.kwargs.ndf=8", "--set", "data.batch_size=8",
                "--set", "data.resolution=16"]


def run_cli(*args):
    """Run the real console entry point in a subprocess (exit code + stderr as a user sees them)."""
    p = subprocess.run([sys.executable, "-m", "gankit", *args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("args,needle", [
    (["train", "--data", "/no/such/dir"], "/no/such/dir"),
    (["train", "--recipe", "nope"], "unknown recipe 'nope'"),
    (["train", "--data", "digitz"], "unknown dataset 'digitz'"),
    (["train", "--set", "loop.stepz=1"], "loop.stepz"),
    (["train", "--set", "loop.steps=abc"], "loop.steps"),
    (["train", "--config", "/no/such.yaml"], "/no/such.yaml"),
    (["train", "--steps", "x"], "--steps"),
    (["sample", "--checkpoint", "/no/such/run"], "/no/such/run"),
    (["train", "--recipe", "gan", "--data", "ring8", "--init-from", "/no/such/run"], "/no/such/run"),
    (["frobnicate"], "frobnicate"),
])
def test_user_errors_exit_2_with_one_line(args, needle):
    code, out, err = run_cli(*args)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err


def test_train_then_sample_2d(tmp_path, capsys):
    run = tmp_path / "g"
    assert main(["train", "--recipe", "gan", "--data", "grid25", "--steps", "20", "--out", str(run), *FAST]) == 0
    assert main(["sample", "--checkpoint", str(run), "--n", "2500", "--out", str(tmp_path / "s")]) == 0
    arr = np.load(tmp_path / "s" / "samples.npy")
    assert arr.shape == (2500, 2) and np.isfinite(arr).all()
    assert (tmp_path / "s" / "scatter.png").stat().st_size > 1000


def test_train_resume_and_sample_images(tmp_path, capsys):
    run = tmp_path / "d"
    assert main(["train", "--recipe", "dcgan", "--data", "digits", "--steps", "2", "--out", str(run), *SMALL]) == 0
    assert main(["train", "--recipe", "dcgan", "--data", "digits", "--steps", "4", "--out", str(run), "--resume",
                 *SMALL]) == 0
    state = json.loads((run / "checkpoints" / "step_0000004" / "state.json").read_text())
    assert state["step"] == 4
    assert main(["sample", "--checkpoint", str(run), "--n", "5", "--out", str(tmp_path / "s")]) == 0
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        "000000.png", "000001.png", "000002.png", "000003.png", "000004.png", "grid.png"]


def test_class_flag_for_conditional_models(tmp_path, capsys):
    run = tmp_path / "c"
    assert main(["train", "--recipe", "cgan", "--steps", "1", "--out", str(run), *SMALL]) == 0
    assert main(["sample", "--checkpoint", str(run), "--n", "3", "--class", "7", "--out", str(tmp_path / "s")]) == 0
    assert main(["sample", "--checkpoint", str(run), "--n", "3", "--class", "12", "--out", str(tmp_path / "s")]) == 2
    assert "--class must be in 0..9" in capsys.readouterr().err


def test_listing_verbs(capsys):
    assert main(["recipes", "--json"]) == 0
    recipes = json.loads(capsys.readouterr().out)
    assert {"gan", "dcgan", "cgan"} <= set(recipes)
    assert main(["data", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["digits"]["classes"] == 10 and rows["grid25"]["shape"] == [2]
    assert main(["data", "list"]) == 0  # the text table: the name column fits the longest name
    lines = capsys.readouterr().out.splitlines()
    kind_at = {line.index(line.split()[1], len(line.split()[0])) for line in lines}
    assert len(kind_at) == 1, "the kind column is not aligned"
