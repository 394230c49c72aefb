import json
import os
import subprocess
import sys
from pathlib import Path


def _torchrun(tmp_path, *extra) -> dict:
    worker = Path(__file__).with_name("ddp_worker.py")
    result = tmp_path / "result.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                        str(worker), str(tmp_path / "run"), str(result), *extra],
                       capture_output=True, text=True, timeout=600, env=env, check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(result.read_text())


def test_two_process_gloo_ddp_keeps_ranks_in_sync(tmp_path):
    """torchrun with 2 CPU processes: identical weights on both ranks, disjoint data."""
    r = _torchrun(tmp_path)
    assert r["world"] == 2
    assert r["identical"], "ranks diverged"
    assert r["overlap"] == 0, r  # within an epoch each rank draws its own slice
    assert r["seen"][0] == r["seen"][1] > 0
    assert Path(r["checkpoint"]).name == "step_0000005"


def test_two_ranks_read_disjoint_shards_of_a_prepared_dataset_each_epoch(tmp_path):
    """torchrun with 2 CPU processes training from a prepared folder through DataLoaders: in
    every epoch the ranks' examples are disjoint and together cover the data; weights agree."""
    import numpy as np
    from PIL import Image

    from gankit.data.prepare import prepare

    rng = np.random.default_rng(0)
    n = 32  # two batches of 8 per rank per epoch
    for i in range(n):
        (tmp_path / "imgs").mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "imgs" / f"{i}.png")
    prepare(str(tmp_path / "imgs"), str(tmp_path / "p"), 16)
    r = _torchrun(tmp_path, str(tmp_path / "p"))
    assert r["identical"], "ranks diverged"
    per_epoch = n // (8 * 2)
    b0, b1 = ({int(k): v for k, v in b.items()} for b in r["batches"])
    assert b0.keys() == b1.keys() and len(b0) >= 2 * per_epoch  # d_steps=2: two batches a step
    for epoch in range(len(b0) // per_epoch):
        nums = range(epoch * per_epoch, (epoch + 1) * per_epoch)
        s0, s1 = [i for b in nums for i in b0[b]], [i for b in nums for i in b1[b]]
        assert not set(s0) & set(s1), epoch
        assert sorted(s0 + s1) == list(range(n)), epoch
