"""Reliability: divergence policies, crashes, full disks, and checkpoints that are unsafe to load."""
import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

import gankit
from gankit import checkpoint as ckpt_io
from gankit.cli import main
from gankit.errors import UserError
from gankit.presets import build_config
from gankit.recipes.classic import DCGAN
from gankit.registry import RECIPES
from gankit.train import train
from gankit.train.guard import TrainingDiverged

FAST = ["loop.progress=false", "loop.tensorboard=false"]
SMALL = FAST + ["G.kwargs.ngf=8", "D.kwargs.ndf=8", "data.batch_size=8", "data.resolution=16"]
NETS = ["G.name=dcgan_g", "D.name=dcgan_d"]  # the test recipe has no preset of its own


class NaNAt(DCGAN):
    """dcgan whose D loss is NaN at the steps in options.nan_steps (an injected fault): once
    per step (a transient fault that a rollback gets past) or, with nan_persistent, every time."""

    name = "nan-test"
    description = "test only: dcgan with NaN injected into the D loss"
    options = {"nan_steps": [], "nan_persistent": False}

    def d_step(self, ctx):
        out = super().d_step(ctx)
        fired = self.__dict__.setdefault("fired", set())
        step = ctx.step + 1
        if step in self.opts["nan_steps"] and (self.opts["nan_persistent"] or step not in fired):
            fired.add(step)
            out["loss"] = out["loss"] * float("nan")
        return out


if "nan-test" not in RECIPES:
    RECIPES.register("nan-test", NaNAt)


def _cfg(steps, policy, nan_steps, extra=()):
    return build_config(recipe="nan-test", data="digits", steps=steps, overrides=SMALL + NETS + [
        f"loop.on_divergence={policy}", f"options={{nan_steps: {list(nan_steps)}}}", "loop.checkpoint_every=2",
        "loop.max_skips=2", "loop.max_rollbacks=2", *extra])


def _finite(run):
    m = gankit.load(run)
    return all(torch.isfinite(v).all() for net in m.nets.values() for v in net.state_dict().values()
               if v.is_floating_point())


def test_nan_stop_names_the_step(tmp_path, capsys):
    with pytest.raises(TrainingDiverged, match=r"non-finite loss or gradient in phase D at step 3"):
        train(_cfg(6, "stop", [3]), tmp_path / "r")
    # the checkpoint before the fault is intact and finite
    assert _finite(tmp_path / "r") and gankit.load(tmp_path / "r").step == 2


def test_nan_stop_from_the_cli_exits_1_with_one_line(tmp_path, capsys):
    code = main(["train", "--recipe", "nan-test", "--steps", "4", "--out", str(tmp_path / "r"),
                 *sum((["--set", o] for o in SMALL + NETS), []), "--set", "loop.on_divergence=stop",
                 "--set", "options={nan_steps: [2]}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "step 2" in err[0]


def test_nan_skip_drops_the_update_and_finishes(tmp_path):
    train(_cfg(6, "skip", [3, 4]), tmp_path / "r")
    assert _finite(tmp_path / "r") and gankit.load(tmp_path / "r").step == 6
    # three NaN steps in a row exceed max_skips=2: escalate to a rollback, then go on
    train(_cfg(8, "skip", [3, 4, 5]), tmp_path / "r2")
    state = json.loads((tmp_path / "r2" / "checkpoints" / "step_0000008" / "state.json").read_text())
    assert state["rollbacks"] == 1


def test_nan_rollback_lowers_lr_and_finishes(tmp_path):
    train(_cfg(6, "rollback", [5]), tmp_path / "r")
    ck = tmp_path / "r" / "checkpoints" / "step_0000006"
    assert json.loads((ck / "state.json").read_text())["rollbacks"] == 1
    groups = json.loads((ck / "optim" / "D.json").read_text())["param_groups"]
    assert groups[0]["lr"] == pytest.approx(2e-4 * 0.5)
    assert _finite(tmp_path / "r")
    # a fault that keeps coming back exhausts the rollbacks and stops with a message
    with pytest.raises(TrainingDiverged, match=r"after 2 rollback\(s\)"):
        train(_cfg(8, "rollback", [5], ["options.nan_persistent=true"]), tmp_path / "r3")


def test_collapse_detection(tmp_path):
    from gankit.train.guard import Guard

    class LP:
        on_divergence, max_skips, max_rollbacks, rollback_lr_factor = "stop", 0, 0, 0.5
        collapse_window, collapse_accuracy = 100, 0.995

    g = Guard(LP())
    assert g.log_row(50, {"D/accuracy": 1.0}, 50) == "continue"
    assert g.log_row(100, {"D/accuracy": 0.9}, 50) == "continue"  # not pinned: the window resets
    assert g.log_row(150, {"D/accuracy": 1.0}, 50) == "continue"
    with pytest.raises(TrainingDiverged, match="D/accuracy >= 0.995 for 100 steps"):
        g.log_row(200, {"D/accuracy": 0.999}, 50)


# ------------------------------------------------------------------------- crashes


def _weights(run):
    ck = ckpt_io.find_checkpoint(run)
    return {n: load_file(str(ck / n / "model.safetensors")) for n in ("G", "D")}


def _cli(out, steps, resume=False):
    args = [sys.executable, "-m", "gankit", "train", "--steps", str(steps), "--out", str(out),
            *sum((["--set", o] for o in SMALL + ["loop.checkpoint_every=1", "loop.keep_checkpoints=2",
                                                   "loop.precision=fp32"]), [])]
    return args + (["--resume"] if resume else [])


def test_sigkill_at_random_moments_then_resume_is_exact(tmp_path):
    steps = 12
    subprocess.run(_cli(tmp_path / "full", steps), check=True, capture_output=True, timeout=300)
    ref = _weights(tmp_path / "full")
    rnd = random.Random(0)
    for trial in range(3):
        run = tmp_path / f"killed{trial}"
        proc = subprocess.Popen(_cli(run, steps), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # wait until training has written a checkpoint, then kill at a random moment
        deadline = time.time() + 120
        while not (run / "checkpoints" / "latest").exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
        time.sleep(rnd.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        p = subprocess.run(_cli(run, steps, resume=True), capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        got = _weights(run)
        for net in ref:
            for k in ref[net]:
                assert torch.equal(ref[net][k], got[net][k]), (trial, net, k)
        assert not list((run / "checkpoints").glob(".tmp_*"))


def test_sigterm_checkpoints_and_exits_0(tmp_path):
    run = tmp_path / "r"
    proc = subprocess.Popen(_cli(run, 100000), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (run / "checkpoints" / "latest").exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "--resume" in err
    step = gankit.load(run).step
    assert step > 0 and (run / "checkpoints" / ckpt_io.step_dir_name(step)).is_dir()


def test_failed_checkpoint_write_leaves_the_previous_one_intact(tmp_path, monkeypatch):
    cfg = build_config(recipe="dcgan", steps=4, overrides=SMALL + ["loop.checkpoint_every=2"])
    real_save = ckpt_io.save_file
    calls = {"n": 0}

    def full_disk(tensors, filename, *a, **k):
        calls["n"] += 1
        if "step_0000004" in str(filename) or calls["n"] > 6:  # the second checkpoint hits a full disk
            with open(filename, "wb") as fh:
                fh.write(b"partial")
            raise OSError(28, "No space left on device")
        return real_save(tensors, filename, *a, **k)

    monkeypatch.setattr(ckpt_io, "save_file", full_disk)
    with pytest.raises(ckpt_io.CheckpointWriteError, match="No space left on device.*intact"):
        train(cfg, tmp_path / "r")
    ckpts = tmp_path / "r" / "checkpoints"
    assert (ckpts / "latest").read_text().strip() == "step_0000002"
    assert not list(ckpts.glob(".tmp_*")) and not (ckpts / "step_0000004").exists()
    monkeypatch.setattr(ckpt_io, "save_file", real_save)
    assert gankit.load(tmp_path / "r").step == 2


def test_small_disk_warning(tmp_path, capsys, monkeypatch):
    import shutil as sh

    monkeypatch.setattr(sh, "disk_usage", lambda p: sh._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    train(build_config(recipe="dcgan", steps=1, overrides=SMALL), tmp_path / "r")
    assert "warning:" in capsys.readouterr().err


# -------------------------------------------------------------------- safe loading


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    run = tmp_path_factory.mktemp("good") / "r"
    train(build_config(recipe="dcgan", steps=1, overrides=SMALL), run)
    return ckpt_io.find_checkpoint(run)


def _copy(ck, tmp_path):
    dst = tmp_path / "ck"
    shutil.copytree(ck, dst)
    return dst


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _expect_refused(ck, needle, capsys):
    with pytest.raises(UserError, match=needle):
        gankit.load(ck)
    assert main(["sample", "--checkpoint", str(ck), "--n", "1", "--out", str(ck.parent / "s")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gankit: error:")


def test_malicious_pickle_is_never_executed(good_checkpoint, tmp_path, capsys):
    ck = _copy(good_checkpoint, tmp_path)
    marker = tmp_path / "pwned"
    (ck / "G" / "model.safetensors").write_bytes(pickle.dumps(_Evil(marker)))
    _expect_refused(ck, "unreadable weights", capsys)
    assert not marker.exists()
    # a pickle dropped next to the weights is not read either
    ck2 = _copy(good_checkpoint, tmp_path / "b")
    (ck2 / "G" / "model.pt").write_bytes(pickle.dumps(_Evil(marker)))
    (ck2 / "state.pkl").write_bytes(pickle.dumps(_Evil(marker)))
    gankit.load(ck2).sample(2)
    assert not marker.exists()


def test_mismatched_architecture_is_refused(good_checkpoint, tmp_path, capsys):
    ck = _copy(good_checkpoint, tmp_path)
    meta = json.loads((ck / "G" / "config.json").read_text())
    meta["kwargs"]["ngf"] = 16
    (ck / "G" / "config.json").write_text(json.dumps(meta))
    _expect_refused(ck, "does not fit network 'dcgan_g'", capsys)


def test_truncated_weights_are_refused(good_checkpoint, tmp_path, capsys):
    ck = _copy(good_checkpoint, tmp_path)
    f = ck / "D" / "model.safetensors"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    _expect_refused(ck, "unreadable weights", capsys)


def test_newer_format_and_unknown_config_are_refused(good_checkpoint, tmp_path, capsys):
    ck = _copy(good_checkpoint, tmp_path)
    state = json.loads((ck / "state.json").read_text())
    state["format"] = 99
    (ck / "state.json").write_text(json.dumps(state))
    _expect_refused(ck, "newer gankit", capsys)
    ck2 = _copy(good_checkpoint, tmp_path / "b")
    (ck2 / "config.yaml").write_text((ck2 / "config.yaml").read_text() + "\nfuture_section: {x: 1}\n")
    _expect_refused(ck2, "unknown key 'future_section'", capsys)
