import json
import os
import subprocess
import sys
from pathlib import Path


def test_two_process_gloo_ddp_keeps_ranks_in_sync(tmp_path):
    """torchrun with 2 CPU processes: identical weights on both ranks, disjoint data."""
    worker = Path(__file__).with_name("ddp_worker.py")
    result = tmp_path / "result.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                        str(worker), str(tmp_path / "run"), str(result)],
                       capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(result.read_text())
    assert r["world"] == 2
    assert r["identical"], "ranks diverged"
    assert r["overlap"] == 0, r  # within an epoch each rank draws its own slice
    assert r["seen"][0] == r["seen"][1] > 0
    assert Path(r["checkpoint"]).name == "step_0000005"
