"""Directions in latent space (class, class-to-class, thickness) and edits along them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .. import viz
from ..checkpoint import Model
from ..errors import UserError
from .invert import _digits_net, _to_digits_input, invert, read_targets
from .space import CHUNK, LatentSpace, check_model, check_space, is_style_based, parse_seeds


@torch.no_grad()
def attributes(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Attributes of images ``[N, C, R, R]`` judged from pixels: ``probs`` [N, 10] of the shipped
    digits classifier and ``thickness`` [N], the mean ink (pixels mapped to [0, 1]; white
    strokes on black, so more or wider strokes give more ink): a proxy for stroke thickness."""
    d = _to_digits_input(x)
    net = _digits_net()
    probs = torch.cat([torch.softmax(net(d[s:s + CHUNK]), 1) for s in range(0, len(d), CHUNK)])
    ink = ((d + 1) / 2).flatten(1).mean(1)
    return {"probs": probs, "thickness": ink}


def _fit_normal_classifier(X: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    # balanced: one class against nine others is ~10 % positives; unweighted, the boundary
    # would mostly learn to say "no" (InterFaceGAN balances its positive and negative sets)
    clf = LogisticRegression(C=1.0, max_iter=2000, random_state=seed, class_weight="balanced")
    clf.fit(X, labels)
    w = clf.coef_[0]
    return w / (np.linalg.norm(w) + 1e-12), float(balanced_accuracy_score(labels, clf.predict(X)))


def _fit_normal_regression(X: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import Ridge

    reg = Ridge(alpha=1.0).fit(X, t)
    w = reg.coef_
    return w / (np.linalg.norm(w) + 1e-12), float(reg.score(X, t))


def compute_directions(model: Model, method: str = "classifier", n: int = 2000, space: str | None = None,
                       seed: int = 0, class_: int | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """Directions in latent space from ``n`` sampled latents labelled from their images.

    ``classifier``: per digit class k, a logistic-regression boundary (class k vs the rest) whose
    unit normal is ``class{k}``; ``class{a}_to_{b}`` is the normalised difference of the two
    normals; ``thickness`` is the ridge-regression normal of the mean ink and
    ``thickness_keep_class`` the same with its components along the class normals projected out
    (InterFaceGAN's conditional manipulation). ``class-means``: the
    mean latent of each predicted class minus the overall mean (``class{k}``), and the
    difference of two class means (``class{a}_to_{b}``); ``thickness`` as for ``classifier``.
    Every direction is rescaled so the sampled latents project onto it with std 1 (see module
    docstring). Returns ``(directions, info)``; ``info`` holds per-direction fit scores (balanced
    training accuracy of each class boundary, R^2 of the thickness regression) and the class
    counts. Space: ``w`` for style-based models, else ``z`` (``space`` overrides).
    """
    check_model(model, "directions")
    if method not in ("classifier", "class-means"):
        raise UserError(f"--method must be classifier or class-means, got {method!r}")
    if n < 50:
        raise UserError(f"--n must be >= 50 to fit directions, got {n}")
    space = space or ("w" if is_style_based(model) else "z")
    if space == "w+":
        raise UserError("--space w+: directions are computed in z or w (a w direction edits every w of w+)")
    ls = LatentSpace(model, space, class_)
    codes = ls.sample_codes(n, seed).float()  # [n, *shape]
    att = attributes(ls.images(codes))
    X = codes.reshape(n, -1).numpy().astype(np.float64)
    labels = att["probs"].argmax(1).numpy()
    counts = np.bincount(labels, minlength=10)
    normals, scores = {}, {}
    present = [k for k in range(10) if 5 <= counts[k] <= n - 5]
    if method == "classifier":
        for k in present:
            normals[f"class{k}"], scores[f"class{k}"] = _fit_normal_classifier(X, (labels == k).astype(int), seed)
        for a in present:
            for b in present:
                if a != b:
                    d = normals[f"class{b}"] - normals[f"class{a}"]
                    normals[f"class{a}_to_{b}"] = d / (np.linalg.norm(d) + 1e-12)
    else:
        mu = X.mean(0)
        means = {k: X[labels == k].mean(0) for k in present}
        for k in present:
            normals[f"class{k}"] = means[k] - mu
        for a in present:
            for b in present:
                if a != b:
                    normals[f"class{a}_to_{b}"] = means[b] - means[a]
        normals = {k: v / (np.linalg.norm(v) + 1e-12) for k, v in normals.items()}
    normals["thickness"], scores["thickness"] = _fit_normal_regression(X, att["thickness"].numpy())
    if method == "classifier" and present:
        # InterFaceGAN's conditional manipulation: thickness with its components along every
        # class normal projected out, so a move changes the ink with less change of class
        N = np.stack([normals[f"class{k}"] for k in present])  # [K, D]
        t = normals["thickness"]
        t = t - N.T @ np.linalg.lstsq(N @ N.T, N @ t, rcond=None)[0]
        normals["thickness_keep_class"] = t / (np.linalg.norm(t) + 1e-12)
    Xc = X - X.mean(0)
    dirs = {}
    for name, v in normals.items():
        std = float((Xc @ v).std()) or 1.0
        dirs[name] = torch.from_numpy(v * std).float().view(ls.shape).contiguous()
    info = {"space": space, "method": method, "n": n, "seed": seed, "class": class_,
            "class_counts": counts.tolist(), "fit_scores": scores,
            "skipped_classes": [k for k in range(10) if k not in present]}
    return dirs, info


def write_directions(model: Model, out: str | Path, method: str = "classifier", n: int = 2000,
                     space: str | None = None, seed: int = 0, class_: int | None = None) -> dict:
    """``gankit directions``: compute and save directions to a ``.safetensors`` file (one tensor
    per name; metadata: space, method, checkpoint hash, fit scores)."""
    from safetensors.torch import save_file

    from ..provenance import checkpoint_hash

    out = Path(out)
    if out.suffix != ".safetensors":
        raise UserError(f"--out {out}: directions are saved as a .safetensors file")
    dirs, info = compute_directions(model, method, n, space, seed, class_)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"gankit:space": info["space"], "gankit:method": method, "gankit:n": str(n),
            "gankit:checkpoint": str(model.path), "gankit:checkpoint_sha256": checkpoint_hash(model),
            "gankit:recipe": model.config.recipe, "gankit:info": json.dumps(info)}
    save_file(dirs, str(out), metadata=meta)
    return {**info, "out": str(out), "names": sorted(dirs)}


def load_directions(path: str | Path, default_space: str | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """``(directions, metadata)`` from a file written by :func:`write_directions`.

    Also reads a ``.json`` file ``{"space": "z" | "w", "directions": {name: [floats]}}``, and a
    safetensors file whose metadata names the space as ``space``; ``default_space`` is the space
    of a file that names none (without it, such a file is refused). ``metadata["gankit:space"]``
    is always set.
    """
    from safetensors import safe_open

    p = Path(path)
    if not p.is_file():
        raise UserError(f"--directions {p}: no such file")
    try:
        if p.suffix.lower() == ".json":
            raw = json.loads(p.read_text())
            meta = {"space": str(raw.get("space", ""))} if raw.get("space") else {}
            dirs = {str(k): torch.tensor(v, dtype=torch.float32) for k, v in raw["directions"].items()}
        else:
            with safe_open(str(p), "pt") as f:
                meta = f.metadata() or {}
                dirs = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118  (safe_open is not iterable)
    except Exception as e:  # noqa: BLE001  (safetensors, json and torch raise several types)
        raise UserError(f"--directions {p}: not a directions file ({str(e).splitlines()[0] if str(e) else e})") from None
    space = meta.get("gankit:space") or meta.get("space") or default_space
    if space is None:
        raise UserError(f"--directions {p}: not a gankit directions file (no gankit:space metadata)")
    if space not in ("z", "w"):
        raise UserError(f"--directions {p}: space must be z or w, got {space!r}")
    return dirs, {**meta, "gankit:space": space}


# ----------------------------------------------------------------------------- edits


def apply_direction(codes: torch.Tensor, d: torch.Tensor, strength: float) -> torch.Tensor:
    """``codes + strength * d``; a w direction ``[w_dim]`` moves every w of w+ codes."""
    if codes.dim() == 3 and d.dim() == 1:
        d = d[None]
    return codes + strength * d


def edit_effect(model: Model, directions: dict, name: str, strengths, n: int = 200, seed: int = 0,
                space: str = "z", source_class: int | None = None, target_class: int | None = None,
                pool: int = 4000) -> list[dict]:
    """The measured effect of a direction: for ``n`` sampled latents (only those whose image the
    digits classifier calls ``source_class``, drawn from ``pool`` samples, when given), the mean
    classifier probability of ``target_class``, the fraction classified as it, and the mean
    thickness (mean ink) at each strength, and ``kept_class``: the fraction whose predicted class
    is the one at strength 0."""
    ls = LatentSpace(model, space)
    codes = ls.sample_codes(pool if source_class is not None else n, seed)
    if source_class is not None:
        pred = attributes(ls.images(codes))["probs"].argmax(1)
        codes = codes[pred == source_class][:n]
        if not len(codes):
            raise UserError(f"no sample of class {source_class} among {pool}")
    rows = []
    pred0 = attributes(ls.images(codes))["probs"].argmax(1)
    for s in strengths:
        att = attributes(ls.images(apply_direction(codes, directions[name], float(s))))
        row = {"strength": float(s), "n": len(codes), "thickness": float(att["thickness"].mean()),
               "kept_class": float((att["probs"].argmax(1) == pred0).float().mean())}
        if target_class is not None:
            row["p_target"] = float(att["probs"][:, target_class].mean())
            row["frac_target"] = float((att["probs"].argmax(1) == target_class).float().mean())
        if source_class is not None:
            row["p_source"] = float(att["probs"][:, source_class].mean())
        rows.append(row)
    return rows


def write_edit(model: Model, directions: str | Path, name: str, strength: float, out: str | Path,
               seeds=None, input: str | Path | None = None, steps: int | None = None,
               invert_steps: int = 300, class_: int | None = None, truncation: float | None = None,
               start: float = 0.0) -> dict:
    """``gankit edit``: move latents (of ``seeds``, or of the inverted ``input`` images) along a
    saved direction and write ``strip.png`` (one row per latent: strengths ``start`` (default 0,
    the unedited latent) .. ``strength`` in ``steps`` columns, default 2; with ``input`` the
    target image comes first), one PNG per
    frame (provenance + strength) and ``edit.json`` (strengths and, per strength, the digits
    classifier's prediction and the mean ink of each row)."""
    from ..provenance import provenance

    check_model(model, "edit")
    if (seeds is None) == (input is None):
        raise UserError("edit: give exactly one of --seed or --input")
    dirs, meta = load_directions(directions)
    if name not in dirs:
        shown = ", ".join(sorted(dirs)[:12]) + (" ..." if len(dirs) > 12 else "")
        raise UserError(f"--direction {name!r}: not in {directions} (it has: {shown})")
    space = meta["gankit:space"]
    check_space(model, space)
    d = dirs[name]
    steps = 2 if steps is None else steps
    if steps < 2:
        raise UserError(f"--steps must be >= 2, got {steps}")
    target = None
    if input is not None:
        target, names = read_targets(input, model)
        inv_space = space
        res = invert(model, target, inv_space, invert_steps, class_=class_)
        codes = res["codes"]
        ls = LatentSpace(model, inv_space, class_)
    else:
        seeds = parse_seeds(seeds, "--seed")
        names = [f"seed{s}" for s in seeds]
        ls = LatentSpace(model, space, class_, truncation)
        codes = ls.codes(seeds)
    if tuple(d.shape) != tuple(ls.shape[-1:]) and tuple(d.shape) != tuple(ls.shape):
        raise UserError(f"--directions {directions}: direction {name!r} has shape {list(d.shape)}, this model's "
                        f"{space} latents are {list(ls.shape)} (directions of another checkpoint?)")
    strengths = [start + (strength - start) * k / (steps - 1) for k in range(steps)]
    frames = torch.stack([ls.images(apply_direction(codes, d, s)) for s in strengths], 1)  # [N, S, C, R, R]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    prov = {**provenance(model, (seeds or [0])[0]), "gankit:direction": name, "gankit:directions": str(directions),
            "gankit:space": space}
    rows = []
    for i, nm in enumerate(names):
        for j, s in enumerate(strengths):
            viz.save_image(viz.to_uint8_images(frames[i, j:j + 1])[0], out / f"{nm}_{j:02d}.png",
                           pnginfo={**prov, "gankit:strength": round(s, 6), "gankit:name": nm})
    grid = frames if target is None else torch.cat([target[:, None].float(), frames], 1)
    viz.save_grid(grid.flatten(0, 1), out / "strip.png", nrow=grid.shape[1], pnginfo=prov)
    for j, s in enumerate(strengths):
        att = attributes(frames[:, j])
        rows.append({"strength": s, "pred": att["probs"].argmax(1).tolist(),
                     "p_max": [round(float(p), 4) for p in att["probs"].max(1).values],
                     "thickness": [round(float(t), 4) for t in att["thickness"]]})
    summary = {"direction": name, "space": space, "names": names, "strengths": strengths, "frames": rows,
               "strip": str(out / "strip.png"), "out": str(out)}
    (out / "edit.json").write_text(json.dumps(summary, indent=1))
    return summary
