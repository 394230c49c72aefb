"""A bounded load test of ``gankit studio``: many generate requests at once, on 127.0.0.1 only.

Starts ``gankit studio`` (a subprocess, as a user runs it) on a free loopback port, sends
``--requests`` POST /api/generate of ``--batch`` samples all at once (each on its own
connection), and meanwhile loads the page (GET / and /api/info) every 0.25 s. It stops by
itself: every request has a deadline and the whole run ``--time-limit`` seconds. Prints one
JSON object: latency p50/p99 of the answered requests, the count of each status, the page's
latency during the load, and ``clean``: true when every answer was 200 or a clean 429/503
(busy) and none failed or timed out. Exit status 1 when not clean.

    flock /work/heavy.lock python benchmarks/studio_load.py                # 200 x batch 16
    python benchmarks/studio_load.py --checkpoint runs/demo --requests 50

Without ``--checkpoint`` it makes a 0-step checkpoint of the default preset (dcgan on digits,
32 px) in a temporary folder: the network's size, not its training, sets the cost.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

CLEAN = {200, 429, 503}


def _percentile(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))
    return round(xs[k], 4)


async def _load(url: str, n: int, batch: int, model: str | None, time_limit: float,
                request_timeout: float) -> dict:
    base = url.rstrip("/")
    headers = {"Origin": base}  # what the page sends
    limits = httpx.Limits(max_connections=n + 4, max_keepalive_connections=n + 4)
    statuses: Counter = Counter()
    latency_ok: list[float] = []
    latency_all: list[float] = []
    page: list[float] = []
    page_status: Counter = Counter()
    stop = asyncio.Event()
    body = {"batch": batch, **({"model": model} if model else {})}

    async with httpx.AsyncClient(limits=limits, timeout=request_timeout) as client:
        async def one(i: int) -> None:
            t0 = time.perf_counter()
            try:
                r = await client.post(f"{base}/api/generate", json={**body, "seed": i}, headers=headers)
                statuses[r.status_code] += 1
                if r.status_code == 200:
                    latency_ok.append(time.perf_counter() - t0)
            except httpx.TimeoutException:
                statuses["timeout"] += 1
            except httpx.HTTPError as e:
                statuses[type(e).__name__] += 1
            latency_all.append(time.perf_counter() - t0)

        async def probe() -> None:
            async with httpx.AsyncClient(timeout=request_timeout) as pc:
                while not stop.is_set():
                    for path in ("/", "/api/info"):
                        t0 = time.perf_counter()
                        try:
                            page_status[(await pc.get(base + path, headers=headers)).status_code] += 1
                        except httpx.HTTPError as e:
                            page_status[type(e).__name__] += 1
                        page.append(time.perf_counter() - t0)
                    await asyncio.sleep(0.25)

        t_start = time.perf_counter()
        prober = asyncio.create_task(probe())
        tasks = [asyncio.create_task(one(i)) for i in range(n)]
        _, pending = await asyncio.wait(tasks, timeout=time_limit)
        for t in pending:  # past the time limit: count and cancel, never hang
            t.cancel()
            statuses["unfinished"] += 1
        wall = time.perf_counter() - t_start
        stop.set()
        await prober
    return {"requests": n, "batch": batch, "wall_s": round(wall, 2),
            "status": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))},
            "p50_s": _percentile(latency_ok, 50), "p99_s": _percentile(latency_ok, 99),
            "p50_all_s": _percentile(latency_all, 50), "p99_all_s": _percentile(latency_all, 99),
            "page": {"requests": len(page), "p50_s": _percentile(page, 50), "max_s": round(max(page), 4) if page else None,
                     "status": {str(k): v for k, v in page_status.items()}},
            "clean": set(statuses) <= CLEAN and set(page_status) <= {200}}


def run_load(url: str, n: int = 200, batch: int = 16, model: str | None = None, time_limit: float = 300,
             request_timeout: float = 120) -> dict:
    """Send ``n`` concurrent generate requests of ``batch`` to the studio at ``url`` (loopback only)."""
    host = httpx.URL(url).host
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"studio_load: {url} is not a loopback address; this test only loads 127.0.0.1")
    return asyncio.run(_load(url, n, batch, model, time_limit, request_timeout))


def _tiny_checkpoint(folder: Path) -> Path:
    from gankit.presets import build_config
    from gankit.train import train

    train(build_config(steps=0, overrides=["loop.progress=false", "loop.tensorboard=false"]), folder / "run")
    return folder / "run"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", help="checkpoint or run to serve (default: a 0-step default-preset dcgan)")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2, help="the studio's --workers")
    ap.add_argument("--time-limit", type=float, default=300, help="seconds for the whole run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gankit-load-") as tmp:
        ckpt = Path(args.checkpoint) if args.checkpoint else _tiny_checkpoint(Path(tmp))
        cmd = [sys.executable, "-m", "gankit", "studio", "--checkpoint", str(ckpt), "--port", "0",
               "--host", "127.0.0.1", "--workers", str(args.workers)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            line = proc.stdout.readline()
            m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            if not m:
                raise SystemExit(f"studio_load: the studio did not start: {line.strip()}")
            result = run_load(m.group(1), args.requests, args.batch, None, args.time_limit)
        finally:
            proc.terminate()
            proc.wait(30)
    result.update(workers=args.workers, checkpoint=args.checkpoint or "default preset, 0 steps")
    print(json.dumps(result))
    sys.exit(0 if result["clean"] else 1)


if __name__ == "__main__":
    main()
