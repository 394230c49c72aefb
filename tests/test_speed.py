"""Speed paths of the trainer: fp16 + GradScaler, loop.compile, the GPU batch path, fused checks.

Everything runs on CPU (fp16 autocast and GradScaler("cpu") exist there); what needs a GPU
is skipped with the reason, and ``benchmarks/gpu_check.sh`` runs it on one.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gankit.data import load_data
from gankit.presets import build_config
from gankit.train import Trainer, train
from gankit.train import compile as gk_compile
from gankit.train.dist import DistInfo, average_logs, group_device, sum_across
from gankit.train.guard import finite_flags
from gankit.train.precision import Precision

pytestmark = pytest.mark.usefixtures("one_thread")
FAST = ["loop.progress=false", "loop.tensorboard=false"]
SMALL = FAST + ["G.kwargs.ngf=8", "D.kwargs.ndf=8", "data.batch_size=8", "data.resolution=16"]
ROOT = Path(__file__).resolve().parents[1]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (benchmarks/gpu_check.sh)")


def _net():
    torch.manual_seed(0)
    return torch.nn.Linear(4, 1)


def test_fp16_scaler_skips_an_overflowing_step_and_updates_its_scale():
    net = _net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    p = Precision("fp16", torch.device("cpu"), init_scale=2.0**8, growth_interval=2)
    assert p.scaling and p.name == "fp16"
    with p.autocast():
        out = net(torch.randn(8, 4))
    assert out.dtype == torch.float16
    # an overflow: the unscaled gradient holds an inf -> no step, the scale halves
    before = [t.clone() for t in net.parameters()]
    p.backward(out.float().mean())
    net.weight.grad[0, 0] = float("inf")
    p.unscale(opt)
    p.step(opt)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert p.scaler.get_scale() == 2.0**7 and p.overflows == 1
    # clean steps: the weights move, and after growth_interval=2 of them the scale doubles
    for _ in range(2):
        opt.zero_grad()
        with p.autocast():
            loss = net(torch.randn(8, 4)).float().mean()
        p.backward(loss)
        p.unscale(opt)
        assert net.weight.grad.abs().max() < 10  # unscaled: the true gradient, not x 128
        p.step(opt)
    assert not torch.equal(before[0], net.weight)
    assert p.scaler.get_scale() == 2.0**8 and p.overflows == 1
    # the state is JSON (it goes into state.json) and restores the scale exactly
    state = json.loads(json.dumps(p.state_dict()))
    q = Precision("fp16", torch.device("cpu"))
    q.load_state_dict(state)
    assert q.scaler.get_scale() == 2.0**8 and q.overflows == 1
    assert Precision("fp32", torch.device("cpu")).state_dict() == {}


def test_fp16_training_resumes_exactly_with_its_loss_scale(tmp_path, resume_exact):
    # a constant noise std: the digits preset anneals it over loop.steps, which the half run shortens
    over = SMALL + ["loop.precision=fp16", "loop.checkpoint_every=2", "loop.log_every=1", "schedule.augment.kind=constant"]
    half = resume_exact("dcgan", over, 4, 2, tmp_path)
    state = json.loads((half / "checkpoints" / "step_0000004" / "state.json").read_text())
    straight = json.loads((tmp_path / "full" / "checkpoints" / "step_0000004" / "state.json").read_text())
    assert state["precision"] == straight["precision"] and state["precision"]["scaler"]["scale"] > 0
    rows = [json.loads(x) for x in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["precision/loss_scale"] > 0 and abs(r["loss/D"]) < 1e4 for r in rows)


def test_fp16_overflow_is_the_scalers_business_not_divergence(tmp_path):
    """A scale so large that fp16 gradients overflow: the trainer skips the update through the
    scaler (weights untouched, scale halved) instead of calling the divergence guard."""
    cfg = build_config(recipe="dcgan", steps=1, overrides=SMALL + ["loop.precision=fp16", "loop.on_divergence=stop"])
    tr = Trainer(cfg, tmp_path / "run").setup()
    tr.precision.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**60)
    before = {k: v.clone() for k, v in tr.nets["D"].state_dict().items() if v.is_floating_point()}
    logs = tr.train_step(0)  # with on_divergence=stop, a guard event would raise
    after = tr.nets["D"].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if "running" not in k and "num_batches" not in k)
    assert tr.precision.overflows >= 1 and tr.precision.scaler.get_scale() < 2.0**60
    assert "loss/D" in logs
    tr.batches.close()
    tr.logger.close()


def test_nonfinite_loss_still_reaches_the_guard():
    loss = torch.tensor(float("nan"))
    net = _net()
    net(torch.randn(2, 4)).sum().backward()
    assert finite_flags(loss, list(net.parameters())).tolist() == [1.0, 0.0]
    net.bias.grad.fill_(float("inf"))
    assert finite_flags(torch.tensor(1.0), list(net.parameters())).tolist() == [0.0, 1.0]
    assert finite_flags(torch.tensor(1.0), []).tolist() == [0.0, 0.0]


def test_dist_helpers_without_a_process_group():
    assert group_device() == torch.device("cpu")
    row = {"a": 1.5}
    assert average_logs(row, DistInfo()) is row
    t = torch.tensor([1.0, 0.0])
    assert sum_across(t, DistInfo()) is t


def test_uint8_batches_convert_on_the_device_to_the_same_values():
    cfg = build_config(recipe="pix2pix", data="edges2photo", steps=1, overrides=["data.resolution=16"])
    data = load_data(cfg.data)
    ref = data.batch(3, 4, 0)
    raw = data.batch(3, 4, 0, convert=False)
    assert raw["real"].dtype == torch.uint8 and raw["A"].dtype == torch.uint8
    for k in ("real", "A", "B"):
        assert torch.equal(data.to_float(raw[k]), ref[k])


def test_compile_failure_falls_back_to_eager_with_one_line(monkeypatch, capsys):
    def broken(fn, **kw):
        def run(*a, **k):
            raise RuntimeError("inductor exploded\nlong traceback")
        return run

    monkeypatch.setattr(torch, "compile", broken)
    net = _net()
    x = torch.randn(3, 4)
    want = net(x)
    assert gk_compile.compile_nets({"G": net}, recipe=None, device=torch.device("cpu")) == ["G"]
    assert torch.equal(net(x), want) and torch.equal(net(x), want)  # eager, twice
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [("gankit: loop.compile: torch.compile failed for G (RuntimeError: inductor exploded); "
                    "running it eagerly")]
    assert list(net.state_dict()) == ["weight", "bias"]  # checkpoints keep the eager keys
    gk_compile.uncompile(net)
    assert "forward" not in net.__dict__


def test_compile_is_skipped_for_double_backward_recipes(tmp_path, capsys):
    cfg = build_config(recipe="dcgan", steps=1, overrides=SMALL + ["loop.compile=true", "loss.kwargs.r1.weight=1"])
    tr = Trainer(cfg, tmp_path / "run").setup()
    assert "forward" not in tr.nets["D"].__dict__
    assert "needs double backward" in capsys.readouterr().err
    tr.batches.close()
    tr.logger.close()


@pytest.mark.slow
def test_compiled_training_matches_eager(tmp_path, weights_of):
    """loop.compile=true really compiles (inductor on CPU) and trains the same nets: after 2
    steps the weights agree with eager ones to float rounding."""
    over = SMALL + ["loop.precision=fp32"]
    train(build_config(recipe="dcgan", steps=2, overrides=over), tmp_path / "eager")
    train(build_config(recipe="dcgan", steps=2, overrides=over + ["loop.compile=true"]), tmp_path / "compiled")
    a, b = weights_of(tmp_path / "eager"), weights_of(tmp_path / "compiled")
    assert a.keys() == b.keys() and {"G", "D"} <= a.keys()
    for net in a:
        for k in a[net]:
            torch.testing.assert_close(a[net][k], b[net][k], rtol=1e-3, atol=1e-4)


@needs_cuda
def test_cuda_batches_are_float_on_the_device(tmp_path):
    cfg = build_config(recipe="dcgan", steps=1, overrides=SMALL + ["loop.device=cuda"])
    tr = Trainer(cfg, tmp_path / "run").setup()
    b = tr.batches.next()
    assert b["real"].is_cuda and b["real"].dtype == torch.float32 and -1 <= float(b["real"].min())
    assert torch.backends.cudnn.benchmark and tr.device_rng is not None
    tr.batches.close()
    tr.logger.close()


@needs_cuda
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_cuda_training_runs(tmp_path, precision):
    train(build_config(recipe="dcgan", steps=3, overrides=SMALL + ["loop.device=cuda", f"loop.precision={precision}"]),
          tmp_path / "run")
    assert (tmp_path / "run" / "checkpoints" / "step_0000003").is_dir()


def test_gpu_check_script_dry_run(tmp_path):
    """benchmarks/gpu_check.sh --dry-run: parses, finds everything it would run, runs nothing heavy."""
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path)}
    env["PYTHONPATH"] = str(ROOT / "src")
    p = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry-run"], capture_output=True,
                       check=False, text=True, timeout=300, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "dry run OK" in p.stdout
    for needle in ("pytest", "bench", "dcgan32", "stylegan2", "pix2pix", "fp32"):
        assert needle in p.stdout
