"""Table metrics: per-column distances, correlation difference, train-on-synthetic / test-on-real.

All on *raw* rows ``[N, C]`` (discrete columns as category indices) with the column specs of
``info["transform"]`` (:mod:`gankit.data.tabular`):

* ``column_distances``: per continuous column the two-sample Kolmogorov-Smirnov statistic
  (max CDF gap), per discrete column the total variation distance of the category
  frequencies (half the L1 gap); 0 is identical, 1 disjoint.
* ``correlation_difference``: Pearson correlation matrices of real and synthetic rows
  (discrete columns one-hot expanded), mean absolute difference of the off-diagonal entries.
* ``tstr``: machine-learning efficacy (Xu et al. 2019, sec. 5.1; Esteban et al. 2017 named it
  "train on synthetic, test on real"): predict the target column from the others with
  logistic regression and a random forest (classification: accuracy, macro F1) or ridge and a
  random forest (regression: R^2), trained on real training rows (TRTR) or on as many
  synthetic rows (TSTR), always tested on the real held-out split. Close to TRTR is good.
"""
from __future__ import annotations

import numpy as np


def column_distances(real: np.ndarray, fake: np.ndarray, spec: list[dict]) -> dict:
    """``{"ks_mean", "tv_mean", "per_column": {name: distance}}``."""
    from scipy.stats import ks_2samp

    per, ks, tv = {}, [], []
    for c, s in enumerate(spec):
        if s["type"] == "discrete":
            k = len(s["categories"])
            p = np.bincount(real[:, c].astype(np.int64), minlength=k) / len(real)
            q = np.bincount(fake[:, c].astype(np.int64), minlength=k) / len(fake)
            d = 0.5 * float(np.abs(p - q).sum())
            tv.append(d)
        else:
            d = float(ks_2samp(real[:, c], fake[:, c]).statistic)
            ks.append(d)
        per[s["name"]] = d
    return {"ks_mean": float(np.mean(ks)) if ks else float("nan"),
            "tv_mean": float(np.mean(tv)) if tv else float("nan"), "per_column": per}


def expand(raw: np.ndarray, spec: list[dict], drop: str | None = None) -> np.ndarray:
    """Raw rows -> numbers for correlations / models: discrete columns one-hot, others as is
    (``drop``: leave that column out)."""
    parts = []
    for c, s in enumerate(spec):
        if s["name"] == drop:
            continue
        if s["type"] == "discrete":
            parts.append(np.eye(len(s["categories"]))[raw[:, c].astype(np.int64)])
        else:
            parts.append(raw[:, c: c + 1])
    return np.concatenate(parts, 1)


def correlation_difference(real: np.ndarray, fake: np.ndarray, spec: list[dict]) -> float:
    """Mean |corr_real - corr_fake| over off-diagonal pairs (constant columns count as 0)."""
    def corr(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nan_to_num(np.corrcoef(x, rowvar=False))

    a, b = corr(expand(real, spec)), corr(expand(fake, spec))
    off = ~np.eye(len(a), dtype=bool)
    return float(np.abs(a - b)[off].mean())


def _models(classification: bool, seed: int) -> dict:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if classification:
        return {"logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
                "forest": RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)}
    return {"ridge": make_pipeline(StandardScaler(), Ridge(alpha=1.0)),
            "forest": RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1)}


def _fit_score(model, xtr, ytr, xte, yte, classification: bool) -> dict:
    from sklearn.metrics import accuracy_score, f1_score, r2_score

    if classification:
        if len(np.unique(ytr)) < 2:  # a synthetic set with one class: predict it everywhere
            pred = np.full(len(yte), ytr[0])
        else:
            pred = model.fit(xtr, ytr).predict(xte)
        return {"accuracy": float(accuracy_score(yte, pred)), "f1": float(f1_score(yte, pred, average="macro"))}
    return {"r2": float(r2_score(yte, model.fit(xtr, ytr).predict(xte)))}


def tstr(train: np.ndarray, test: np.ndarray, synth: np.ndarray, spec: list[dict], target: str,
         seed: int = 0, models: tuple[str, ...] = ("linear", "forest")) -> dict:
    """``{"trtr/<model>/<score>": ..., "tstr/<model>/<score>": ...}`` (see the module docstring);
    ``models``: which of the linear model (logreg / ridge) and the random forest to fit."""
    t = next(i for i, s in enumerate(spec) if s["name"] == target)
    classification = spec[t]["type"] == "discrete"
    out = {}
    test_x = expand(test, spec, drop=target)
    for tag, rows in (("trtr", train), ("tstr", synth)):
        for name, model in _models(classification, seed).items():
            if ("linear" if name != "forest" else "forest") not in models:
                continue
            scores = _fit_score(model, expand(rows, spec, drop=target), rows[:, t], test_x, test[:, t],
                                classification)
            out.update({f"{tag}/{name}/{k}": v for k, v in scores.items()})
    return out


def independent_marginals(train: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """A baseline 'generator': each column resampled independently from the real training
    rows (right marginals, no dependence between columns)."""
    rng = np.random.default_rng(seed)
    return np.column_stack([train[rng.integers(0, len(train), n), c] for c in range(train.shape[1])])


def table_report(train: np.ndarray, test: np.ndarray, synth: np.ndarray, spec: list[dict], target: str | None,
                 seed: int = 0) -> dict:
    """Distances of ``synth`` to the held-out ``test`` rows, correlation difference, TSTR/TRTR."""
    d = column_distances(test, synth, spec)
    out = {"ks_mean": d["ks_mean"], "tv_mean": d["tv_mean"],
           "corr_diff": correlation_difference(test, synth, spec)}
    if target:
        out.update(tstr(train, test, synth, spec, target, seed))
    out["per_column"] = d["per_column"]
    return out


def _splits(data_cfg):
    from ..data.tabular import load_table

    table = load_table(data_cfg)
    tr, te = table.split("train"), table.split("test")
    return table, table.values[tr], table.values[te]


def evaluate_tabular_model(model, n: int = 0, seed: int = 0) -> dict:
    """The table report of a loaded ctgan checkpoint: ``n`` synthetic rows (default: as many as
    the real training split) against the real held-out split."""
    from ..data.tabular import decode

    spec = model.meta["info"]["transform"]
    _, train, test = _splits(model.config.data)
    n = n or len(train)
    synth = decode(model.sample(n, seed=seed), spec)
    out = table_report(train, test, synth, spec, model.meta["info"].get("target"), seed)
    return {"n": n, "n_train": len(train), "n_test": len(test), "step": model.step,
            "recipe": model.config.recipe, **out}


def evaluate_tabular_real(data: str, seed: int = 0) -> dict:
    """Reference points for a table: the real training rows scored as if synthetic (what a
    perfect generator approaches) and the independent-marginals baseline."""
    from ..config import DataConfig
    from ..data import load_data

    spec = load_data(DataConfig(name=data), "train").info["transform"]
    table, train, test = _splits(DataConfig(name=data))
    real = table_report(train, test, train, spec, table.target, seed)
    ind = table_report(train, test, independent_marginals(train, len(train), seed), spec, table.target, seed)
    out = {"n_train": len(train), "n_test": len(test), "data": data}
    out.update({f"real/{k}": v for k, v in real.items() if k != "per_column"})
    out.update({f"independent/{k}": v for k, v in ind.items() if k != "per_column" and not k.startswith("trtr")})
    return out
