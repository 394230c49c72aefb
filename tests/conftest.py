import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import torch

# The prepared-data cache of image folders (data.cache=auto) goes to a folder of this session
# (subprocesses inherit it), never to ~/.cache.
if "GANKIT_CACHE" not in os.environ:
    os.environ["GANKIT_CACHE"] = tempfile.mkdtemp(prefix="gankit-test-cache-")
    atexit.register(shutil.rmtree, os.environ["GANKIT_CACHE"], True)

# Small, deterministic, and quiet: tests share 2 cores.
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

FAST = ["loop.progress=false", "loop.tensorboard=false"]
SMALL_DCGAN = ["G.kwargs.ngf=8", "D.kwargs.ndf=8", "data.batch_size=8", "data.resolution=16"]


@pytest.fixture
def fast_overrides():
    return list(FAST)


@pytest.fixture
def small_dcgan():
    return FAST + SMALL_DCGAN


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module's tests (their trainings are tiny: threads cost more than
    they give), restored afterwards. Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def run_weights(run) -> dict:
    """{net name: state dict} of a run's newest checkpoint (``<step>/<net>/model.safetensors``)."""
    from safetensors.torch import load_file

    ckpt = max((run / "checkpoints").glob("step_*"))
    return {d.name: load_file(str(d / "model.safetensors")) for d in ckpt.iterdir() if (d / "model.safetensors").is_file()}


def _resume_exact(recipe: str, overrides: list[str], steps: int, half: int, root):
    """Train ``steps`` steps straight, and ``half`` then resumed to ``steps``; assert the final
    weights are identical; returns the resumed run's directory."""
    from gankit.presets import build_config
    from gankit.train import train

    train(build_config(recipe=recipe, steps=steps, overrides=overrides), root / "full")
    train(build_config(recipe=recipe, steps=half, overrides=overrides), root / "half")
    train(build_config(recipe=recipe, steps=steps, overrides=overrides), root / "half", resume=True)
    a, b = run_weights(root / "full"), run_weights(root / "half")
    assert a.keys() == b.keys() and {"G", "D"} <= a.keys()
    for net in a:
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), (net, k)
    return root / "half"


@pytest.fixture
def resume_exact():
    """``resume_exact(recipe, overrides, steps, half, tmp_path)``: a resumed run equals a straight one."""
    return _resume_exact


@pytest.fixture
def weights_of():
    """``weights_of(run_dir)``: {net: state dict} of the run's newest checkpoint."""
    return run_weights


BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load_bench(name: str):
    """``benchmarks/<name>.py`` as a module (the scripts import their siblings by name)."""
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(BENCH))
    return mod


@pytest.fixture
def bench():
    """Loads a benchmark script: ``bench("family_table")``."""
    return _load_bench
