"""The studio's load test (benchmarks/studio_load.py) at a small scale: every answer is 200 or a
clean 429 (busy), the page answers meanwhile, and the run stops by itself."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from gankit.studio import make_server, start_in_thread
from test_studio_support import runs_root

pytestmark = pytest.mark.usefixtures("one_thread")
BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "studio_load.py"


def _load_module():
    spec = importlib.util.spec_from_file_location("studio_load", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return runs_root(tmp_path_factory)


def test_small_load_is_served_or_cleanly_refused(root):
    load = _load_module()
    srv = make_server(runs=root, workers=1, queue=3)  # a short queue: some requests must get 429
    start_in_thread(srv)
    try:
        r = load.run_load(srv.url, n=16, batch=4, model="dcgan", time_limit=60, request_timeout=30)
    finally:
        srv.shutdown()
        srv.server_close()
    assert r["clean"], r
    assert r["status"].get("200", 0) >= 4 and r["status"].get("429", 0) >= 1, r["status"]
    assert sum(r["status"].values()) == 16 and r["p50_s"] is not None and r["p99_s"] >= r["p50_s"]
    assert r["page"]["requests"] >= 2 and r["page"]["status"] == {"200": r["page"]["requests"]}


def test_load_refuses_other_hosts():
    with pytest.raises(SystemExit, match="not a loopback address"):
        _load_module().run_load("http://192.0.2.1:7860/", n=1)
