"""Text outputs: ``samples.txt`` for ``gankit sample`` and a rendered preview for training."""
from __future__ import annotations

from pathlib import Path

import torch

from ..data.text import decode


def write(x: torch.Tensor, out: Path, model, provenance: dict) -> dict[str, Path]:
    """``gankit sample`` for text: ``samples.txt``, one generated window per line."""
    lines = decode(x, model.meta["info"]["vocab"])
    f = out / "samples.txt"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"samples": f}


def preview(x: torch.Tensor, path, meta: dict, real=None, title: str = "") -> None:
    """The loop's samples/*.png for text: the first 24 samples rendered in a monospace font."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = decode(x[:24], meta["info"]["vocab"])
    fig, ax = plt.subplots(figsize=(0.09 * max(len(s) for s in lines) + 0.5, 0.165 * len(lines) + 0.3), dpi=100)
    ax.axis("off")
    ax.text(0, 1, "\n".join(lines), family="monospace", fontsize=9, va="top", transform=ax.transAxes)
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", pad_inches=0.1)
    plt.close(fig)
