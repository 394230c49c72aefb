"""Checkpoints that describe themselves, and the one loader ``gankit.load``.

Layout of ``RUN/checkpoints/step_0000200/``::

    config.yaml            the run's resolved config
    data.json              what the data looked like (kind, shape, classes, ...)
    state.json             step, RNG states, format version (no pickle anywhere)
    G/config.json          {"name": registered net, "kwargs": {...}, "format": 1}
    G/model.safetensors    weights and buffers
    D/..., G_ema/...       the same per network
    optim/G.safetensors    optimizer tensors; optim/G.json its param groups and scalars

A checkpoint is written into a temporary directory, fsynced, then renamed into place;
``checkpoints/latest`` is updated only after that, so a crash never leaves a half-written
checkpoint that a resume would pick.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .config import Config
from .errors import UserError
from .registry import NETS, RECIPES

FORMAT_VERSION = 1


# ---------------------------------------------------------------- networks


def save_net(net: nn.Module, name: str, kwargs: dict, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(
        json.dumps({"name": name, "kwargs": kwargs, "format": FORMAT_VERSION}, indent=1)
    )
    state = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    save_file(state, str(directory / "model.safetensors"))


def load_net(directory: Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a network from its ``config.json`` and load ``model.safetensors`` (strictly)."""
    cfg_file, weights = directory / "config.json", directory / "model.safetensors"
    for f in (cfg_file, weights):
        if not f.is_file():
            raise UserError(f"{f}: missing from checkpoint")
    try:
        meta = json.loads(cfg_file.read_text())
        name, kwargs = meta["name"], meta.get("kwargs", {})
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise UserError(f"{cfg_file}: not a gankit network config ({e})") from None
    if int(meta.get("format", 0)) > FORMAT_VERSION:
        raise UserError(f"{cfg_file}: written by a newer gankit (format {meta['format']}); upgrade gankit")
    net = NETS.build(name, **kwargs)
    try:
        state = load_file(str(weights), device=str(map_location))
    except (SafetensorError, OSError, ValueError) as e:
        raise UserError(f"{weights}: unreadable weights ({e})") from None
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise UserError(f"{weights}: does not fit network {name!r} ({first[0] if first else e})") from None
    return net


# -------------------------------------------------------------- optimizers


def _optim_to_files(opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"{pid}.{k}"] = v.detach().contiguous().cpu()
            else:
                scalars[f"{pid}.{k}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _optim_from_files(opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state: dict = {}
    for key, v in tensors.items():
        pid, k = key.split(".", 1)
        state.setdefault(int(pid), {})[k] = v
    for key, v in meta.get("scalars", {}).items():
        pid, k = key.split(".", 1)
        state.setdefault(int(pid), {})[k] = v
    groups = meta["param_groups"]
    for g in groups:
        for k, v in list(g.items()):
            if isinstance(v, list) and k != "params":
                g[k] = tuple(v)
    opt.load_state_dict({"state": state, "param_groups": groups})
    # Give every moment its parameter's memory layout (e.g. channels_last): safetensors stores
    # contiguous tensors, and fused optimizer kernels walk param and state memory in lockstep,
    # so a layout mismatch would silently scramble the update.
    for group in opt.param_groups:
        for p in group["params"]:
            st = opt.state.get(p, {})
            for k, v in st.items():
                if torch.is_tensor(v) and v.shape == p.shape and v.stride() != p.stride():
                    st[k] = torch.empty_like(p, dtype=v.dtype).copy_(v)


# -------------------------------------------------------------- checkpoints


def step_dir_name(step: int) -> str:
    return f"step_{step:07d}"


def _fsync_tree(root: Path) -> None:
    for p in sorted(root.rglob("*")):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())


def save_checkpoint(run_dir: Path, step: int, cfg: Config, meta: dict, nets: dict[str, nn.Module],
                    net_cfgs: dict, optimizers: dict[str, torch.optim.Optimizer], state: dict,
                    keep: int = 3) -> Path:
    """Write ``run_dir/checkpoints/step_XXXXXXX`` atomically, point ``latest`` at it, prune."""
    ckpts = Path(run_dir) / "checkpoints"
    ckpts.mkdir(parents=True, exist_ok=True)
    final = ckpts / step_dir_name(step)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp_", dir=ckpts))
    try:
        cfg.save(tmp / "config.yaml")
        (tmp / "data.json").write_text(json.dumps(meta, indent=1))
        for name, net in nets.items():
            nc = net_cfgs[name]
            save_net(unwrap(net), nc.name, nc.kwargs, tmp / name)
        (tmp / "optim").mkdir()
        for name, opt in optimizers.items():
            tensors, ometa = _optim_to_files(opt)
            save_file(tensors, str(tmp / "optim" / f"{name}.safetensors"))
            (tmp / "optim" / f"{name}.json").write_text(json.dumps(ometa))
        rng = state.pop("rng", {})
        save_file({k: v.contiguous() for k, v in rng.items()}, str(tmp / "rng.safetensors"))
        (tmp / "state.json").write_text(json.dumps({**state, "step": step, "format": FORMAT_VERSION}, indent=1))
        _fsync_tree(tmp)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except OSError as e:  # e.g. disk full: the previous checkpoint and `latest` are untouched
        shutil.rmtree(tmp, ignore_errors=True)
        raise CheckpointWriteError(f"could not write checkpoint {final} ({e.strerror or e}); "
                                   f"the previous checkpoint is intact: {_latest_name(ckpts)}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    pointer_tmp = ckpts / ".latest.tmp"
    pointer_tmp.write_text(final.name + "\n")
    os.replace(pointer_tmp, ckpts / "latest")
    _prune(ckpts, keep)
    return final


class CheckpointWriteError(RuntimeError):
    """A checkpoint could not be written (disk full, permissions); nothing was corrupted."""


def _latest_name(ckpts: Path) -> str:
    latest = ckpts / "latest"
    return str(ckpts / latest.read_text().strip()) if latest.is_file() else "(none yet)"


def estimate_checkpoint_bytes(nets: dict[str, nn.Module], optimizers: dict) -> int:
    """Bytes one checkpoint will take: weights and buffers, plus Adam-style moments (2x params)."""
    n = sum(t.numel() * t.element_size() for net in nets.values() for t in net.state_dict().values())
    params = sum(p.numel() * p.element_size() for opt in optimizers.values()
                 for g in opt.param_groups for p in g["params"])
    return n + 2 * params + 64 * 1024  # + JSON, RNG, headers


def clean_stale_temporaries(run_dir: Path) -> int:
    """Remove ``.tmp_*`` directories a killed checkpoint write left behind; returns how many."""
    ckpts = Path(run_dir) / "checkpoints"
    stale = [d for d in ckpts.glob(".tmp_*") if d.is_dir()] if ckpts.is_dir() else []
    for d in stale:
        shutil.rmtree(d, ignore_errors=True)
    return len(stale)


def _prune(ckpts: Path, keep: int) -> None:
    dirs = sorted(d for d in ckpts.glob("step_*") if d.is_dir())
    for d in dirs[: max(0, len(dirs) - max(keep, 1))]:
        shutil.rmtree(d, ignore_errors=True)


def unwrap(net: nn.Module) -> nn.Module:
    """The module inside a DDP / compiled wrapper."""
    while hasattr(net, "module") and isinstance(getattr(net, "module"), nn.Module):
        net = net.module
    return getattr(net, "_orig_mod", net)


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint directory from a run directory (its latest), a checkpoints/ dir or a step dir."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: no such checkpoint or run directory")
    if (p / "state.json").is_file():
        return p
    for ck in (p / "checkpoints", p):
        latest = ck / "latest"
        if latest.is_file():
            target = ck / latest.read_text().strip()
            if (target / "state.json").is_file():
                return target
        steps = sorted(d for d in ck.glob("step_*") if (d / "state.json").is_file())
        if steps:
            return steps[-1]
    raise UserError(f"{p}: not a gankit checkpoint (no state.json, no checkpoints/latest)")


def read_state(ckpt: Path) -> dict:
    try:
        state = json.loads((ckpt / "state.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{ckpt / 'state.json'}: unreadable ({e})") from None
    if int(state.get("format", 0)) > FORMAT_VERSION:
        raise UserError(f"{ckpt}: written by a newer gankit (format {state['format']}); upgrade gankit")
    rng_file = ckpt / "rng.safetensors"
    state["rng"] = load_file(str(rng_file)) if rng_file.is_file() else {}
    return state


def load_training_state(ckpt: Path, nets: dict[str, nn.Module], optimizers: dict) -> dict:
    """Load weights and optimizer moments into live objects (for ``--resume``)."""
    for name, net in nets.items():
        loaded = load_net(ckpt / name)
        unwrap(net).load_state_dict(loaded.state_dict(), strict=True)
    for name, opt in optimizers.items():
        meta = json.loads((ckpt / "optim" / f"{name}.json").read_text())
        _optim_from_files(opt, load_file(str(ckpt / "optim" / f"{name}.safetensors")), meta)
    return read_state(ckpt)


def init_from(path: str | Path, nets: dict[str, nn.Module], net_cfgs: dict, names: list[str]) -> Path:
    """Start ``names`` of a new run's ``nets`` from another run's trained weights (``loop.init_from``).

    SRGAN's protocol (Ledig et al. 2017, sec. 3.2): G starts from the trained SRResNet. Each named
    net must exist in the checkpoint with the same builder and kwargs (``config.json``), so a
    mismatch is a one-line UserError, never a silent partial load. Optimizer moments, step and
    schedules start fresh: this is a new run, not ``--resume``. Returns the checkpoint used.
    """
    ckpt = find_checkpoint(path)
    for name in names:
        if name not in nets:
            raise UserError(f"loop.init_nets: this recipe has no net {name!r} (nets: {', '.join(nets)})")
        loaded = load_net(ckpt / name)
        saved = json.loads((ckpt / name / "config.json").read_text())
        want = net_cfgs[name]
        if saved["name"] != want.name or saved.get("kwargs", {}) != dict(want.kwargs):
            diff = sorted(k for k in set(saved.get("kwargs", {})) | set(want.kwargs)
                          if saved.get("kwargs", {}).get(k) != want.kwargs.get(k))
            raise UserError(f"loop.init_from {path}: net {name} is {saved['name']!r} there, "
                            f"{want.name!r} here" + (f"; kwargs differ: {', '.join(diff)}" if diff else ""))
        unwrap(nets[name]).load_state_dict(loaded.state_dict(), strict=True)
    return ckpt


# ------------------------------------------------------------------ loading


@dataclass
class Model:
    """A trained model loaded from a checkpoint: config, data description, nets, recipe."""

    path: Path
    config: Config
    meta: dict
    nets: dict[str, nn.Module]
    recipe: object
    step: int

    @property
    def generator(self) -> nn.Module:
        """G_ema when the checkpoint has one (it samples better), else G."""
        return self.nets.get("G_ema") or self.nets[self.recipe.sample_net]

    def sample(self, n: int, seed: int = 0, y: torch.Tensor | None = None, **kw) -> torch.Tensor:
        """n outputs of :attr:`generator` from seed ``seed``; through discriminator rejection
        when the config says ``sample.drs`` (and D is loaded, G unconditional)."""
        if self.config.sample.drs and "D" in self.nets and y is None and not getattr(self.generator, "num_classes", 0):
            return self._drs_sample(n, seed, **kw)
        return self.recipe.sample(self.generator, n, seed, y, **kw)

    @torch.no_grad()
    def d_score(self, x: torch.Tensor) -> torch.Tensor:
        """D's logit for each of ``x`` (the mean over any patch / head dims), [N] float."""
        out = self.nets["D"](x)
        out = out["logit"] if isinstance(out, dict) else out
        return out.float().reshape(len(x), -1).mean(1)

    @cached_property
    def drs_threshold(self) -> float:
        """DRS's M: D's ``sample.drs_quantile`` over 10,000 burn-in samples (seed 2**31 - 1)."""
        x = self.recipe.sample(self.generator, 10_000, 2**31 - 1)
        return float(torch.quantile(self.d_score(x), self.config.sample.drs_quantile))

    @torch.no_grad()
    def _drs_sample(self, n: int, seed: int, **kw) -> torch.Tensor:
        """DRS (Azadi et al. 2019, their eq. with gamma = 0): accept x ~ G with probability
        ``exp(min(0, D(x) - M))``, M = :attr:`drs_threshold`. Candidates come in seeded rounds
        of 2n, so the result is a pure function of ``seed``."""
        g = torch.Generator().manual_seed(seed)
        kept, have = [], 0
        for r in range(1000):
            x = self.recipe.sample(self.generator, 2 * n, seed * 1_000_003 + r, **kw)
            p = torch.exp((self.d_score(x) - self.drs_threshold).clamp(max=0))
            accept = torch.rand(len(x), generator=g).to(p.device) < p
            kept.append(x[accept])
            have += int(accept.sum())
            if have >= n:
                return torch.cat(kept)[:n]
        raise RuntimeError(f"DRS accepted {have} of {n} samples in 1000 rounds (M = {self.drs_threshold:.3g})")

def load(path: str | Path, nets: tuple[str, ...] | None = None, device: str = "cpu") -> Model:
    """Load a checkpoint (or a run directory's newest one) for sampling, eval or serving.

    Only safetensors weights and JSON/YAML are read: nothing is unpickled or executed.
    """
    ckpt = find_checkpoint(path)
    cfg = Config.load(ckpt / "config.yaml")
    try:
        meta = json.loads((ckpt / "data.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{ckpt / 'data.json'}: unreadable ({e})") from None
    state = read_state(ckpt)
    recipe = RECIPES.get(cfg.recipe)(cfg, meta)
    names = nets or tuple(d.name for d in sorted(ckpt.iterdir()) if (d / "model.safetensors").is_file())
    loaded = {}
    for name in names:
        net = load_net(ckpt / name, device).to(device)
        net.eval()
        loaded[name] = net
    return Model(ckpt, cfg, meta, loaded, recipe, int(state["step"]))
