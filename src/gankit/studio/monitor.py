"""The training monitor's data: run directories under a root, their curves and newest samples.

A run directory (see ``gankit.train``) holds ``config.yaml``, ``metrics.jsonl`` (one JSON
object per logged step), ``samples/latest.png`` and ``checkpoints/``. Everything here only
*reads* those files, so it works while ``gankit train`` is writing them in another process:
a torn last line of ``metrics.jsonl`` is skipped and picked up on the next poll.

Runs are addressed by their path relative to the root (``"dcgan-digits"``, ``"sweep/a"``);
a name is only ever resolved by looking it up in :func:`find_runs`'s listing, so a request
cannot reach files outside the root. Symbolic links are resolved and must stay inside: a run
folder that links elsewhere is not listed, a file of a run (``samples/latest.png``,
``metrics.jsonl``, ``config.yaml``) that resolves outside its run is treated as missing, and
a checkpoint with anything linked outside (:func:`contained`) is not loaded.
"""
from __future__ import annotations

import math
import os
import threading
from pathlib import Path, PurePath

from ..errors import UserError


class NotFound(UserError):
    """A file the page asked for that is not there (HTTP 404)."""


MAX_RUNS = 200  # runs listed under one root
MAX_DEPTH = 3  # how deep under the root run directories are looked for
MAX_POINTS = 600  # points per curve sent to the page (evenly thinned, the last one always kept)


def inside(root: str | Path, path: str | Path) -> bool:
    """True when ``path``, with every symbolic link resolved, is ``root`` or below it."""
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
        return True
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop
        return False


def public(value):
    """``value`` as a client may see it: an absolute path becomes its last part (a run trained
    with ``--data /home/me/faces`` shows ``faces``); anything else is returned as it is."""
    if isinstance(value, str) and (value.startswith(("/", "~", "\\")) or value[1:3] in (":\\", ":/")):
        return PurePath(value.replace("\\", "/")).name or value[:1]
    return value


def contained(root: str | Path, folder: str | Path, most: int = 10_000) -> bool:
    """True when ``folder`` and everything below it, symbolic links followed, resolve inside
    ``root``: a checkpoint whose ``G`` (or one of its files) links elsewhere is not loaded.
    At most ``most`` entries are looked at (more is taken as not contained); a link back up
    the tree is walked once."""
    if not inside(root, folder):
        return False
    seen, n = set(), 0
    for here, dirs, files in os.walk(folder, followlinks=True):
        real = Path(here).resolve()
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        for name in dirs + files:
            n += 1
            if n > most or not inside(root, Path(here) / name):
                return False
    return True


def run_file(run: Path, rel: str) -> Path | None:
    """The file ``run/rel`` when it exists and resolves inside ``run``, else None."""
    p = run / rel
    return p if p.is_file() and inside(run, p) else None


def has_checkpoint(run: Path) -> bool:
    """True when the run has saved at least one checkpoint (``checkpoints/step_*``)."""
    return (run / "checkpoints").is_dir() and any((run / "checkpoints").glob("step_*"))


def is_run(d: Path) -> bool:
    """True for a gankit run directory (it has a config, metrics or checkpoints)."""
    return (d / "config.yaml").is_file() or (d / "metrics.jsonl").is_file() or (d / "checkpoints").is_dir()


def find_runs(root: str | Path) -> dict[str, Path]:
    """Run directories under ``root`` (``root`` itself included), by name (relative path).

    Breadth-first to ``MAX_DEPTH`` levels, at most ``MAX_RUNS``; a run's own subfolders
    (checkpoints, samples) are not searched. Hidden folders and folders that resolve outside
    ``root`` (symbolic links elsewhere) are skipped.
    """
    root = Path(root)
    if not root.is_dir():
        return {}
    found: dict[str, Path] = {}
    level = [root]
    for _ in range(MAX_DEPTH + 1):
        nxt = []
        for d in level:
            if is_run(d):
                found[d.relative_to(root).as_posix() if d != root else "."] = d
                if len(found) >= MAX_RUNS:
                    return found
                continue
            try:
                nxt.extend(sorted(c for c in d.iterdir()
                                  if c.is_dir() and not c.name.startswith(".") and inside(root, c)))
            except OSError:
                continue
        level = nxt
    return found


class MetricsCache:
    """``metrics.jsonl`` rows per file, re-read only when the file's size or mtime changed."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rows: dict[Path, tuple[tuple[int, int], list[dict]]] = {}

    def rows(self, run: Path) -> list[dict]:
        from ..train.log import read_metrics

        p = run_file(run, "metrics.jsonl")
        if p is None:
            return []
        try:
            st = p.stat()
            key = (st.st_size, st.st_mtime_ns)
        except OSError:
            return []
        with self._lock:
            hit = self._rows.get(p)
            if hit and hit[0] == key:
                return hit[1]
        rows = read_metrics(run)
        with self._lock:
            if len(self._rows) > 4 * MAX_RUNS:
                self._rows.clear()
            self._rows[p] = (key, rows)
        return rows


def _number(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def config_summary(run: Path) -> dict:
    """recipe, data, steps, loss and batch size from the run's ``config.yaml`` ({} when unreadable)."""
    import yaml

    f = run_file(run, "config.yaml")
    if f is None:
        return {}
    try:
        cfg = yaml.safe_load(f.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}
    if not isinstance(cfg, dict):
        return {}
    data = cfg.get("data") if isinstance(cfg.get("data"), dict) else {}
    loop = cfg.get("loop") if isinstance(cfg.get("loop"), dict) else {}
    loss = cfg.get("loss") if isinstance(cfg.get("loss"), dict) else {}
    return {"recipe": cfg.get("recipe"), "data": public(data.get("name")), "steps": loop.get("steps"),
            "loss": loss.get("name"), "batch_size": data.get("batch_size")}


def run_summary(name: str, run: Path, cache: MetricsCache) -> dict:
    """One line of the run list: name, recipe, data, newest logged step, target steps, mtime."""
    rows = cache.rows(run)
    files = [run_file(run, f) for f in ("metrics.jsonl", "samples/latest.png", "config.yaml")]
    mtimes = [p.stat().st_mtime for p in files if p is not None]
    return {"name": name, **config_summary(run), "step": rows[-1].get("step", 0) if rows else 0,
            "updated": max(mtimes) if mtimes else None, "has_sample": files[1] is not None,
            "has_checkpoint": has_checkpoint(run)}


def _thin(points: list, most: int) -> list:
    if len(points) <= most:
        return points
    stride = len(points) / most
    out = [points[int(i * stride)] for i in range(most)]
    if out[-1] is not points[-1]:
        out[-1] = points[-1]
    return out


def group_of(key: str) -> str:
    """The chart a metric goes on: ``loss/D`` -> ``loss``; keys without a slash -> ``metrics``."""
    return key.split("/", 1)[0] if "/" in key else "metrics"


def run_detail(name: str, run: Path, cache: MetricsCache, max_points: int = MAX_POINTS) -> dict:
    """Curves of a run: ``series`` {key: [[step, value], ...]} (thinned to ``max_points``),
    ``groups`` {chart: [keys]}, ``last`` {key: newest value}, and the newest sample's mtime."""
    rows = cache.rows(run)
    series: dict[str, list] = {}
    last: dict = {}
    for r in rows:
        step = r.get("step")
        if _number(step) is None:
            continue
        for k, v in r.items():
            if k == "step":
                continue
            last[k] = v if _number(v) is not None else str(v)
            x = _number(v)
            if x is not None:
                series.setdefault(k, []).append([step, round(x, 6)])
    series = {k: _thin(v, max_points) for k, v in sorted(series.items())}
    groups: dict[str, list] = {}
    for k in series:
        groups.setdefault(group_of(k), []).append(k)
    sample = run_file(run, "samples/latest.png")
    return {**run_summary(name, run, cache), "series": series, "groups": groups, "last": last,
            "sample_mtime": sample.stat().st_mtime if sample is not None else None}


def compare(runs: dict[str, Path], names: list[str], cache: MetricsCache) -> dict:
    """The comparison table: for each run, the newest value of each metric (``None`` = never logged)."""
    missing = [n for n in names if n not in runs]
    if missing:
        raise UserError(f"compare: unknown run {missing[0]!r}")
    table, keys = [], set()
    for n in names:
        last: dict = {}
        rows = cache.rows(runs[n])
        for r in rows:
            last.update({k: v for k, v in r.items() if k != "step"})
        keys |= set(last)
        table.append({"name": n, **config_summary(runs[n]), "step": rows[-1].get("step", 0) if rows else 0,
                      "last": {k: (v if _number(v) is not None else str(v)) for k, v in last.items()}})
    order = sorted(keys, key=lambda k: (group_of(k) != "loss", group_of(k), k))
    return {"keys": order, "runs": table}


def sample_file(run: Path) -> Path:
    """The run's newest sample picture; :class:`NotFound` when there is none inside the run."""
    p = run_file(run, "samples/latest.png")
    if p is None:
        raise NotFound(f"run {run.name}: no sample picture yet (samples/latest.png)")
    return p
