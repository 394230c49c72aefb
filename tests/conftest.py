import atexit
import os
import shutil
import tempfile

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
