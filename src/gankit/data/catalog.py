"""``gankit data list``: every registered dataset with size, shape, classes and description."""
from __future__ import annotations

from ..registry import DATASETS


def catalog(resolution: int = 32) -> list[dict]:
    """One row per built-in dataset, built (train split) at ``resolution`` to report true sizes.

    Rows: name, kind, size, shape (of ``x``), classes, recipe, description; paired and unpaired
    data add ``a_shape`` (the input / domain-A example shape) and ``a_size``; data with label maps
    add ``seg_classes``, data with captions ``captions: true``. A builder with a ``catalog_row()``
    attribute (corpora parsed on first use) gives its row without building the data.
    """
    rows = []
    for name, spec in DATASETS.items():
        peek = getattr(spec.builder, "catalog_row", None)
        if peek is not None:  # parsed on first use (music corpora): what is known without parsing
            row = peek()
            note = row.pop("note", "")
            rows.append({**row, "name": name, "description": spec.description + (f" [{note}]" if note else ""),
                         "recipe": spec.recipe})
            continue
        data = spec(resolution=resolution, split="train")
        row = {**data.describe(), "name": name, "description": spec.description, "recipe": spec.recipe}
        if data.seg is not None:
            row["seg_classes"] = len(data.info.get("seg_classes", []))
        if data.captions is not None:
            row["captions"] = True
        rows.append(row)
    return rows


def shape_text(row: dict) -> str:
    """``CxHxW`` of the examples, prefixed by the input's shape for paired/unpaired data."""
    s = "x".join(map(str, row["shape"]))
    return f"{'x'.join(map(str, row['a_shape']))}->{s}" if "a_shape" in row else s
