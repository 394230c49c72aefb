"""Data at scale: N synthetic 64x64 PNGs -> `gankit data prepare` -> 200 dcgan steps from disk.

    python benchmarks/data_scale.py [--count 100000] [--steps 200] [--workers 2] [--dir DIR]

1. writes ``--count`` PNGs (smooth random colour fields with noise, 1,000 per subfolder);
2. prepares them once (:func:`gankit.data.prepare.prepare`, 64 px, no labels) and times it;
3. in a fresh process, trains dcgan (its preset at 64 px, widths ``--width``) for ``--steps`` steps from the
   prepared folder with ``--workers`` DataLoader workers, and prints:

   - peak RSS of the training process (``getrusage(RUSAGE_SELF)``), of its largest worker
     (``RUSAGE_CHILDREN``, read after the workers exit), and the peak over time of the sum of
     RSS and of PSS over the process and its workers (sampled from /proc every 0.2 s; RSS
     counts pages shared between them once per process, PSS splits them);
   - loader wait: the time the step spent waiting for a batch, as % of step time (all steps,
     and steps 10+ after the workers' start-up).

Nothing is downloaded; the PNGs, the prepared folder and the run go under ``--dir`` (a temporary
folder, removed at the end, unless given).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def write_pngs(root: Path, count: int, size: int = 64, seed: int = 0) -> float:
    """``count`` PNGs of smooth random colour fields plus noise; seconds taken."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    u = np.linspace(0.0, 1.0, size, dtype=np.float32)
    for i in range(count):
        if i % 1000 == 0:
            (root / f"shard{i // 1000:04d}").mkdir(parents=True, exist_ok=True)
        c = rng.random((4, 3), dtype=np.float32) * 255  # corner colours, bilinear in between
        top = c[0][None] * (1 - u[:, None]) + c[1][None] * u[:, None]
        bot = c[2][None] * (1 - u[:, None]) + c[3][None] * u[:, None]
        img = top[None] * (1 - u[:, None, None]) + bot[None] * u[:, None, None]
        img += rng.normal(0, 8, img.shape).astype(np.float32)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            root / f"shard{i // 1000:04d}" / f"{i:06d}.png", compress_level=1)
    return time.perf_counter() - t


def _proc_mem(pid: int) -> tuple[int, int, list[int]]:
    """(RSS, PSS) in bytes of ``pid`` and its child pids, from /proc."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
        kids = [int(k) for t in Path(f"/proc/{pid}/task").iterdir()
                for k in (t / "children").read_text().split()]
    except OSError:
        return rss, pss, []
    return rss, pss, kids


class MemorySampler(threading.Thread):
    """Peak over time of the summed RSS and PSS of this process and its children."""

    def __init__(self, every: float = 0.2, log_every: float = 20.0):
        super().__init__(daemon=True)
        self.every, self.log_every, self.peak_rss, self.peak_pss, self.stop = every, log_every, 0, 0, threading.Event()
        self.timeline = []  # (seconds, [RSS MB of the process, then of each worker])

    def run(self):
        t0, last = time.perf_counter(), -1e9
        while not self.stop.is_set():
            todo, rss, pss, each = [os.getpid()], 0, 0, []
            while todo:
                r, p, kids = _proc_mem(todo.pop(0))
                rss, pss = rss + r, pss + p
                each.append(round(r / 2**20))
                todo += kids
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            if time.perf_counter() - last >= self.log_every:
                last = time.perf_counter()
                self.timeline.append((round(last - t0), each))
            self.stop.wait(self.every)


def train_phase(prepared: str, out: str, steps: int, workers: int, width: int) -> dict:
    """Train dcgan from ``prepared``; memory and loader-wait numbers (runs in its own process)."""
    from gankit.presets import build_config
    from gankit.train import Trainer
    from gankit.train.hooks import Hook

    class StepTimes(Hook):
        def __init__(self):
            self.times, self.waits, self.t, self.w = [], [], 0.0, 0.0

        def before_step(self, tr, step):
            self.t, self.w = time.perf_counter(), tr.batches.wait_s

        def after_step(self, tr, step_done, logs):
            self.times.append(time.perf_counter() - self.t)
            self.waits.append(tr.batches.wait_s - self.w)

    sampler = MemorySampler()
    sampler.start()
    cfg = build_config(recipe="dcgan", data=prepared, steps=steps, overrides=[
        "data.resolution=64", f"data.num_workers={workers}", f"G.kwargs.ngf={width}", f"D.kwargs.ndf={width}", "loop.progress=false", "loop.tensorboard=false",
        "loop.sample_every=100000", "loop.checkpoint_every=100000"])
    timer = StepTimes()
    tr = Trainer(cfg, out, hooks=[timer]).setup()
    kind = type(tr.batches).__name__
    t0 = time.perf_counter()
    tr.run()
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    times, waits = np.array(timer.times), np.array(timer.waits)
    mb = 1 / 2**20
    return {"batch_source": kind, "steps": len(times), "batch_size": cfg.data.batch_size, "wall_s": wall,
            "cpu_s": time.process_time(), "step_ms_mean": 1000 * float(times.mean()),
            "wait_pct_all": 100 * float(waits.sum() / times.sum()),
            "wait_pct_after_10": 100 * float(waits[10:].sum() / times[10:].sum()),
            # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across fork + exec, so a
            # child started by a driver that has just prepared (and so mapped) the whole dataset
            # would report the driver's RSS; VmHWM is this process image's own high-water mark
            "peak_rss_main_mb": vm_hwm_kb() / 1024,
            "ru_maxrss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_rss_largest_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "peak_rss_sum_mb": sampler.peak_rss * mb, "peak_pss_sum_mb": sampler.peak_pss * mb,
            "rss_timeline_mb": sampler.timeline}


def vm_hwm_kb() -> int:
    """This process's peak resident set (kB) since its exec (``VmHWM`` in /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100_000, help="synthetic PNGs to write")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--width", type=int, default=16, help="dcgan ngf = ndf (the preset's 64 takes ~10 s a step "
                    "on 2 shared cores)")
    ap.add_argument("--dir", help="work folder (kept); default: a temporary folder, removed")
    ap.add_argument("--train-only", nargs=2, metavar=("PREPARED", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.train_only:
        print(json.dumps(train_phase(*args.train_only, args.steps, args.workers, args.width)))
        return 0
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="gankit-data-scale-"))
    try:
        pngs, prepared = work / "pngs", work / "prepared"
        if not pngs.is_dir():
            print(f"writing {args.count:,} PNGs ...", flush=True)
            print(f"  wrote {args.count:,} PNGs in {write_pngs(pngs, args.count):.1f} s", flush=True)
        if not prepared.is_dir():
            from gankit.data.prepare import prepare

            t = time.perf_counter()
            m = prepare(str(pngs), str(prepared), 64, labels=False, progress=False)
            e = m["splits"]["train"]
            print(f"  prepared {e['count']:,} images ({e['arrays']['x']}) in {time.perf_counter() - t:.1f} s, "
                  f"{sum(f.stat().st_size for f in prepared.rglob('*.npy')) / 2**20:.0f} MiB on disk", flush=True)
        shutil.rmtree(work / "run", ignore_errors=True)
        p = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--workers", str(args.workers),
                            "--width", str(args.width), "--train-only", str(prepared), str(work / "run")], capture_output=True, text=True,
                           check=False)
        if p.returncode:
            print(p.stderr[-3000:], file=sys.stderr)
            return 1
        r = json.loads(p.stdout.strip().splitlines()[-1])
        print(f"trained dcgan (ngf = ndf = {args.width}) {r['steps']} steps (batch {r['batch_size']}, "
              f"{r['batch_source']}, {args.workers} workers):"
              f" {r['wall_s']:.1f} s wall, {r['step_ms_mean']:.0f} ms/step")
        print(f"peak RSS: training process {r['peak_rss_main_mb']:.0f} MB, largest worker "
              f"{r['peak_rss_largest_worker_mb']:.0f} MB; sampled sum over process + workers: RSS "
              f"{r['peak_rss_sum_mb']:.0f} MB, PSS {r['peak_pss_sum_mb']:.0f} MB")
        print(f"loader wait: {r['wait_pct_all']:.2f} % of step time (all steps), "
              f"{r['wait_pct_after_10']:.2f} % (steps 10+)")
        print(json.dumps({"count": args.count, "width": args.width, **r}))
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
