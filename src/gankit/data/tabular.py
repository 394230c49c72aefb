"""Tables: the ``"tabular"`` data kind, CTGAN's encoding of rows, and its output files.

Rows are encoded as Xu et al. (2019, CTGAN, sec. 4.2) do, so a GAN can model them:

* a **continuous** column gets *mode-specific normalisation*: a Gaussian mixture is fitted to
  the column (:func:`fit_gmm`: a plain GMM by EM, number of modes by BIC, numpy; or, with
  ``gmm="bayesian"``, scikit-learn's variational ``BayesianGaussianMixture`` with the paper's
  Dirichlet-process prior, 0.001, pruning modes under 0.005 weight), each value picks a mode
  ``k`` from its posterior and becomes ``[alpha, one_hot(k)]`` with
  ``alpha = (c - mu_k) / (4 sigma_k)`` clipped to (-1, 1);
* a **discrete** column becomes a one-hot vector.

A table's :class:`Data` holds the encoded rows ``x`` float32 ``[N, D_enc]``; ``info["transform"]``
(JSON: mixtures, categories, frequencies, histograms) decodes them (:func:`decode`), and
``info["spans"]`` / ``info["cond_spans"]`` say which output slices are tanh scalars and which
are one-hot groups. Batches use CTGAN's *training-by-sampling* (sec. 4.3, see
:class:`TabularData`), so every category, however rare, is seen and conditioned on.

Built-in tables are scikit-learn's bundled CSVs, read directly (no download, no sklearn
import): ``wine`` (178 x 13 + class), ``breast-cancer`` (569 x 30 + diagnosis), ``diabetes``
(442 x 10 + disease progression; ``sex`` is discrete). A seeded 20 % of rows is the test split.
A user's ``.csv`` (a header row, then one row per example) is read by :func:`load_csv_table`.
"""
from __future__ import annotations

import csv
import gzip
import io
import math
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from .base import Data, register_dataset
from .digits import sklearn_file
from .table import TEST_FRACTION, Table  # noqa: F401  (re-exported: gankit.data.tabular.Table)
from .tabular_transform import MAX_MODES, cond_spans, decode, encode, fit_gmm, fit_transform, spans  # noqa: F401


# --------------------------------------------------------------------------- tables
def _sk_csv(name: str) -> Path:
    f = sklearn_file("datasets", "data", name)
    if f is None:
        raise UserError(f"scikit-learn's bundled {name} is not installed on this machine")
    return f


def _sk_classification(file: str, names: list[str], target: str, classes: list[str], name: str) -> Table:
    """scikit-learn's bundled classification CSVs: a count line, then features and the class."""
    f = _sk_csv(file)
    data = np.loadtxt(f, delimiter=",", skiprows=1)
    cols = [{"name": c, "type": "continuous"} for c in names]
    cols.append({"name": target, "type": "discrete", "categories": classes})
    return Table(name, data.astype(np.float64), cols, target, f"scikit-learn {f.name}")


WINE_FEATURES = ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
                 "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
                 "od280/od315_of_diluted_wines", "proline"]
_BC = ["radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
       "concave_points", "symmetry", "fractal_dimension"]
BREAST_CANCER_FEATURES = [f"{p}_{c}" for p in ("mean", "error", "worst") for c in _BC]


def wine_table() -> Table:
    return _sk_classification("wine_data.csv", WINE_FEATURES, "class", ["class_0", "class_1", "class_2"], "wine")


def breast_cancer_table() -> Table:
    return _sk_classification("breast_cancer.csv", BREAST_CANCER_FEATURES, "diagnosis",
                              ["malignant", "benign"], "breast-cancer")


def diabetes_table() -> Table:
    """The raw (unscaled) diabetes data: age, sex (discrete), bmi, bp, s1-s6, progression."""
    with gzip.open(_sk_csv("diabetes_data_raw.csv.gz")) as fx, gzip.open(_sk_csv("diabetes_target.csv.gz")) as fy:
        x, y = np.loadtxt(fx), np.loadtxt(fy)
    names = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "progression"]
    values = np.column_stack([x, y]).astype(np.float64)
    values[:, 1] = values[:, 1] - 1  # sex 1/2 -> category 0/1
    cols = [{"name": c, "type": "continuous"} for c in names]
    cols[1] = {"name": "sex", "type": "discrete", "categories": ["1", "2"]}
    return Table("diabetes", values, cols, "progression", "scikit-learn diabetes_data_raw.csv.gz")


# --------------------------------------------------------------------------- CSV files
def _number(cell: str) -> float | None:
    try:
        v = float(cell)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def read_csv_rows(path: Path) -> tuple[list[str], list[list[str]], int]:
    """(header, rows, line number of the first row) of a user CSV; UserError naming the file
    (and line) for binary or non-UTF-8 content, ragged rows, empty cells, too few rows.

    The first row is a header unless every cell in it is a number (then columns are named
    ``col0, col1, ...``). The delimiter is sniffed among , ; tab.
    """
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror or e})") from None
    if b"\x00" in raw[: 1 << 16]:
        raise UserError(f"{path}: a binary file (NUL bytes), not a CSV text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})") from None
    head = next((ln for ln in text.splitlines() if ln.strip()), None)
    if head is None:
        raise UserError(f"{path}: an empty CSV file")
    try:
        delim = csv.Sniffer().sniff(head, delimiters=",;\t").delimiter
    except csv.Error:
        delim = ","
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    rows = []
    try:
        for r in reader:
            if any(c.strip() for c in r):
                rows.append((reader.line_num, [c.strip() for c in r]))
    except csv.Error as e:
        raise UserError(f"{path}: line {reader.line_num}: not valid CSV ({e})") from None
    first = rows[0][1]
    if all(_number(c) is not None for c in first):
        header, body = [f"col{i}" for i in range(len(first))], rows
    else:
        header, body = first, rows[1:]
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise UserError(f"{path}: the header names column {dup!r} twice")
    for n, r in body:
        if len(r) != len(header):
            raise UserError(f"{path}: line {n} has {len(r)} fields but the header has {len(header)} "
                            f"(ragged rows; every row needs one value per column)")
        for c, cell in enumerate(r):
            if cell == "":
                raise UserError(f"{path}: line {n}, column {header[c]!r}: empty cell "
                                f"(missing values are not supported; fill or drop them)")
    if len(body) < 10:
        raise UserError(f"{path}: {len(body)} data rows; at least 10 are needed")
    return header, [r for _, r in body], body[0][0]


def select_columns(path: Path, header: list[str], rows: list[list[str]], columns) -> tuple[list[str], list]:
    """Keep the ``columns`` (names or indices; None: all) of the rows."""
    if not columns:
        return header, rows
    idx = []
    for c in columns:
        if isinstance(c, int) or (isinstance(c, str) and c.isdigit() and c not in header):
            i = int(c)
            if not 0 <= i < len(header):
                raise UserError(f"data.kwargs.columns: {path} has no column {i} (it has {len(header)})")
        elif c in header:
            i = header.index(c)
        else:
            raise UserError(f"data.kwargs.columns: {path} has no column {c!r} (columns: {', '.join(header)})")
        idx.append(i)
    return [header[i] for i in idx], [[r[i] for i in idx] for r in rows]


def numeric_matrix(path: Path, header: list[str], rows: list[list[str]], first_line: int) -> np.ndarray:
    """All cells as numbers ``[N, C]``; UserError naming the first non-numeric cell."""
    out = np.empty((len(rows), len(header)), np.float64)
    for i, r in enumerate(rows):
        for c, cell in enumerate(r):
            v = _number(cell)
            if v is None:
                raise UserError(f"{path}: line {first_line + i}, column {header[c]!r}: {cell!r} is not a number "
                                f"(numbers are needed here; drop the column with data.kwargs.columns=[...])")
            out[i, c] = v
    return out


def table_from_csv(path: Path, columns=None, discrete=None, target: str | None = None,
                   max_categories: int = 50, max_discrete_values: int = 10) -> Table:
    """A user's CSV as a :class:`Table`.

    A column is discrete if it is listed in ``discrete``, if its cells are text, or if it holds
    at most ``max_discrete_values`` distinct integers; otherwise continuous. A column that is
    mostly numbers with some text cells is an error (naming the cell), not a category.
    ``target`` (default: the last column) is what train-on-synthetic / test-on-real predicts.
    """
    header, rows, first = read_csv_rows(path)
    header, rows = select_columns(path, header, rows, columns)
    discrete = set(discrete or [])
    unknown = discrete - set(header)
    if unknown:
        raise UserError(f"data.kwargs.discrete: {path} has no column {min(unknown)!r}")
    values = np.empty((len(rows), len(header)), np.float64)
    cols = []
    for c, name in enumerate(header):
        cells = [r[c] for r in rows]
        nums = [_number(x) for x in cells]
        n_num = sum(v is not None for v in nums)
        if name in discrete or n_num == 0:
            cats = sorted(set(cells), key=lambda s: (_number(s) is None, _number(s) or 0.0, s))
            if len(cats) > max_categories:
                raise UserError(f"{path}: column {name!r} has {len(cats)} distinct text values, too many for "
                                f"a category (max {max_categories}); drop it with data.kwargs.columns=[...]")
            lookup = {s: i for i, s in enumerate(cats)}
            values[:, c] = [lookup[s] for s in cells]
            cols.append({"name": name, "type": "discrete", "categories": cats})
            continue
        if n_num < len(cells):
            i = next(i for i, v in enumerate(nums) if v is None)
            raise UserError(f"{path}: line {first + i}, column {name!r}: {cells[i]!r} is not a number "
                            f"(the column's other values are numbers; fix the cell or list the column "
                            f"in data.kwargs.discrete)")
        arr = np.array(nums, np.float64)
        uniq = np.unique(arr)
        if len(uniq) <= max_discrete_values and np.all(uniq == np.round(uniq)):
            lookup = {v: i for i, v in enumerate(uniq)}
            values[:, c] = [lookup[v] for v in arr]
            cols.append({"name": name, "type": "discrete", "categories": [_fmt_number(v) for v in uniq]})
        else:
            values[:, c] = arr
            cols.append({"name": name, "type": "continuous"})
    target = target or header[-1]
    if target not in header:
        raise UserError(f"data.kwargs.target: {path} has no column {target!r}")
    return Table(str(path), values, cols, target, str(path))


def _fmt_number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


class TabularData(Data):
    """Encoded table rows, batched by CTGAN's training-by-sampling (Xu et al. 2019, sec. 4.3).

    For each row of a batch: pick a discrete column uniformly, a category of it with
    probability proportional to the log of its frequency (``log(1 + count)``), and a real row
    having that category; the conditional vector ``cond`` is that category's one-hot in the
    concatenation of all discrete columns (zeros elsewhere). ``batch`` returns
    ``{"real": rows [N, D_enc], "cond": [N, sum of categories]}``; every draw comes from a
    generator seeded by ``(seed, index, rank)``, so a batch is a pure function of its index
    (resume- and DDP-exact). A table without discrete columns is batched uniformly, ``cond``
    empty.
    """

    def _sampler(self) -> list[tuple]:
        cache = self.__dict__.get("_tbs")
        if cache is None:
            cache = []
            for off, size in self.info["cond_spans"]:
                cats = self.x[:, off: off + size].argmax(1)  # [N]
                counts = torch.bincount(cats, minlength=size)
                order = torch.argsort(cats, stable=True)
                starts = torch.cumsum(counts, 0) - counts
                probs = torch.log1p(counts.double())
                cache.append((probs / probs.sum(), order, starts, counts))
            self.__dict__["_tbs"] = cache
        return cache

    def batch(self, index: int, batch_size: int, seed: int, rank: int = 0, world: int = 1,
              convert: bool = True) -> dict:
        # rows are float already: ``convert`` changes nothing here
        tbs = self._sampler()
        n_cond = sum(size for _, size in self.info["cond_spans"])
        if not tbs:
            idx = self.indices(index, batch_size, seed, rank, world)
            return {"real": self.x[idx], "cond": torch.zeros(len(idx), 0)}
        g = torch.Generator().manual_seed(((seed * 1_000_003 + index) * 8191 + rank * 131 + 0x7AB) % (2**63))
        col = torch.randint(len(tbs), (batch_size,), generator=g)
        idx = torch.empty(batch_size, dtype=torch.long)
        cond = torch.zeros(batch_size, n_cond)
        c_off = 0
        for j, (probs, order, starts, counts) in enumerate(tbs):
            rows = (col == j).nonzero()[:, 0]
            if len(rows):
                cat = torch.multinomial(probs, len(rows), replacement=True, generator=g)
                pick = (torch.rand(len(rows), generator=g) * counts[cat]).long()
                idx[rows] = order[starts[cat] + pick]
                cond[rows, c_off + cat] = 1.0
            c_off += len(probs)
        return {"real": self.x[idx], "cond": cond}

    def subset(self, idx: torch.Tensor) -> TabularData:
        idx = torch.as_tensor(idx, dtype=torch.long)
        return TabularData(self.name, self.kind, self.x[idx], None, [], dict(self.info))


def table_data(table: Table, split: str, max_modes: int = MAX_MODES, gmm: str = "plain",
               seed: int = 0) -> TabularData:
    """The encoded :class:`TabularData` of a split; the transform is fitted on the train split."""
    train_rows = table.split("train", seed)
    spec = fit_transform(table, train_rows, max_modes, gmm)
    rows = train_rows if split == "train" else table.split("test", seed)
    if len(rows) == 0:
        raise UserError(f"{table.name}: no rows in the {split} split")
    x = torch.from_numpy(encode(table.values[rows], spec, seed))
    info = {"transform": spec, "spans": spans(spec), "cond_spans": cond_spans(spec), "target": table.target,
            "columns": [c["name"] for c in table.columns], "source": table.source, "split": split,
            "rows": len(rows), "gmm": gmm}
    return TabularData(table.name, "tabular", x, info=info)


def _cached_spec(builder):
    """Fitting the mixtures takes time: tables and their encodings are built once per process."""
    cache: dict = {}

    def load(split: str = "train", max_modes: int = MAX_MODES, gmm: str = "plain") -> TabularData:
        key = (split, max_modes, gmm)
        if key not in cache:
            cache[key] = table_data(builder(), split, max_modes, gmm)
        d = cache[key]
        return TabularData(d.name, d.kind, d.x.clone(), None, [], dict(d.info))

    return load


_wine, _cancer, _diabetes = (_cached_spec(b) for b in (wine_table, breast_cancer_table, diabetes_table))


@register_dataset("wine", "scikit-learn wine table: 178 rows, 13 continuous + class (CTGAN-encoded)", recipe="ctgan")
def wine(resolution: int = 0, split: str = "train", max_modes: int = MAX_MODES, gmm: str = "plain") -> Data:
    return _wine(split, max_modes, gmm)


@register_dataset("breast-cancer", "scikit-learn breast cancer table: 569 rows, 30 continuous + diagnosis",
                  recipe="ctgan")
def breast_cancer(resolution: int = 0, split: str = "train", max_modes: int = MAX_MODES, gmm: str = "plain") -> Data:
    return _cancer(split, max_modes, gmm)


@register_dataset("diabetes", "scikit-learn diabetes table (raw units): 442 rows, 9 continuous + sex + target",
                  recipe="ctgan")
def diabetes(resolution: int = 0, split: str = "train", max_modes: int = MAX_MODES, gmm: str = "plain") -> Data:
    return _diabetes(split, max_modes, gmm)


def load_csv_table(path: Path, split: str = "train", columns=None, discrete=None, target: str | None = None,
                   max_modes: int = MAX_MODES, gmm: str = "plain", max_categories: int = 50,
                   max_discrete_values: int = 10) -> TabularData:
    """A user's CSV table (see :func:`table_from_csv` for how columns are typed)."""
    table = table_from_csv(path, columns, discrete, target, max_categories, max_discrete_values)
    d = table_data(table, split, max_modes, gmm)
    d.info["format"] = "csv"
    return d


def load_table(data_cfg) -> Table:
    """The raw :class:`Table` behind a tabular data config (built-in name or CSV path)."""
    builders = {"wine": wine_table, "breast-cancer": breast_cancer_table, "diabetes": diabetes_table}
    if data_cfg.name in builders:
        return builders[data_cfg.name]()
    kw = {k: v for k, v in data_cfg.kwargs.items() if k in ("columns", "discrete", "target", "max_categories",
                                                            "max_discrete_values")}
    return table_from_csv(Path(data_cfg.name), **kw)


# --------------------------------------------------------------------------- output
