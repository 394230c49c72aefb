"""Pictures: image grids and 2D scatter plots (Pillow and matplotlib, no torchvision)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from .modality import modality


def preview(x: torch.Tensor, path: str | Path, meta: dict, real: torch.Tensor | None = None, title: str = "",
            pnginfo: dict | None = None) -> None:
    """Draw the natural picture of a batch of outputs of data kind ``meta["kind"]``; a PNG
    picture gets the text chunks ``pnginfo`` (provenance of the generated images it shows)."""
    modality(meta).draw_preview(x, path, meta, real, title)
    if pnginfo and Path(path).suffix.lower() == ".png" and Path(path).is_file():
        stamp_png(path, pnginfo)


def stamp_png(path: str | Path, pnginfo: dict) -> None:
    """Rewrite the PNG at ``path`` with the text chunks ``pnginfo`` added (pixels unchanged)."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        im.save(path, pnginfo=png_info({**getattr(im, "text", {}), **pnginfo}))


def to_uint8_images(x: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] floats in [-1, 1] -> uint8 [N, H, W, C]."""
    x = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def image_grid(x: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile images [N, C, H, W] in [-1, 1] into one uint8 array [H', W', C] (C = 1 or 3)."""
    imgs = to_uint8_images(x)
    n, h, w, c = imgs.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    rows = int(math.ceil(n / nrow))
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), 96, np.uint8)  # grey gutters
    for i in range(n):
        r, col = divmod(i, nrow)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + col * (w + pad): pad + col * (w + pad) + w] = imgs[i]
    return grid


def pil_image(arr: np.ndarray, scale: int = 1):
    """uint8 [H, W, C] (C = 1, 3 or 4) -> a PIL image, upscaled by an integer ``scale`` (nearest
    neighbour: pixels stay visible)."""
    from PIL import Image

    im = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    return im


def png_info(pnginfo: dict | None):
    """PNG text chunks (``PIL.PngImagePlugin.PngInfo``) from a dict; None when empty."""
    from PIL import PngImagePlugin

    if not pnginfo:
        return None
    info = PngImagePlugin.PngInfo()
    for k, v in pnginfo.items():
        info.add_text(str(k), str(v))
    return info


def save_image(arr: np.ndarray, path: str | Path, scale: int = 1, pnginfo: dict | None = None) -> None:
    """Save uint8 [H, W, C] (C = 1 or 3) as PNG, optionally upscaled by an integer factor."""
    im = pil_image(arr, scale)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    im.save(path, pnginfo=png_info(pnginfo))


def finish_figure(fig, axes, used: int, path: str | Path, title: str = "") -> None:
    """Blank the unused panels of ``axes`` (after the first ``used``), legend on the first,
    optional title, then save ``fig`` to ``path`` and close it."""
    import matplotlib.pyplot as plt

    for ax in list(axes.flat)[used:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def save_grid(x: torch.Tensor, path: str | Path, nrow: int | None = None, pnginfo: dict | None = None) -> None:
    """A grid PNG of images in [-1, 1]; small images are upscaled so a grid is easy to see."""
    grid = image_grid(x, nrow)
    scale = max(1, 256 // max(1, x.shape[-1] * (nrow or int(math.ceil(math.sqrt(len(x)))))) + 1) if x.shape[-1] < 64 else 1
    save_image(grid, path, scale=min(scale, 4), pnginfo=pnginfo)


def save_scatter(fake: np.ndarray, path: str | Path, real: np.ndarray | None = None, title: str = "",
                 means: np.ndarray | None = None) -> None:
    """Scatter plot of generated 2D points (blue) over real ones (grey) and mode centres (red)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=2, c="0.7", label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=2, c="tab:blue", alpha=0.6, label="generated")
    if means is not None:
        ax.scatter(means[:, 0], means[:, 1], s=30, c="tab:red", marker="x", label="true modes")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="upper right", markerscale=4, fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


