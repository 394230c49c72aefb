"""Datasets: built-in (offline) and user data, as in-memory :class:`Data` for the loop."""
from __future__ import annotations

from pathlib import Path

from ..config import DataConfig
from ..errors import UserError
from ..modality import modality
from ..registry import DATASETS, check_kwargs
from . import digits, faces, photos, scenes, toy2d  # noqa: F401  (registers built-ins)
from .base import Data, DatasetSpec, convert_channels, register_dataset

__all__ = ["Data", "DatasetSpec", "dataset_spec", "load_data", "register_dataset"]


def looks_like_path(name: str) -> bool:
    """True for anything that names a file or folder rather than a built-in dataset."""
    return "/" in name or name.startswith(".") or Path(name).exists()


def dataset_spec(name: str) -> DatasetSpec | None:
    """The registered spec for a built-in name; None for a user path."""
    if name in DATASETS:
        return DATASETS.get(name)
    if looks_like_path(name):
        return None
    DATASETS.get(name)  # raises UserError naming the choices
    return None


def load_data(cfg: DataConfig, split: str = "train") -> Data:
    """Build the dataset a config names (a built-in name or a path), at its resolution."""
    spec = dataset_spec(cfg.name)
    if spec is None:
        from .user import load_user_data  # user formats

        data = load_user_data(cfg.name, resolution=cfg.resolution, split=split, **cfg.kwargs)
    else:
        check_kwargs(spec.builder, cfg.kwargs, f"dataset {cfg.name!r}")
        data = spec(resolution=cfg.resolution, split=split, **cfg.kwargs)
    if not modality(data).points and cfg.channels:
        if cfg.channels not in (1, 3):
            raise UserError(f"data.channels must be 0, 1 or 3, got {cfg.channels}")
        data.x = convert_channels(data.x, cfg.channels)
        if data.a is not None and data.a.shape[1] in (1, 3):  # inputs with extra channels
            data.a = convert_channels(data.a, cfg.channels)  # (e.g. a mask) keep them
    flip = bool(getattr(cfg, "flip", False))
    if flip:
        if modality(data).points:
            raise UserError(f"data.flip: {cfg.name!r} is 2D points; flipping applies to images")
        if data.captions is not None:
            raise UserError(f"data.flip: {cfg.name!r} has captions that say left/right; "
                            f"mirroring would contradict them")
    data.flip = flip and split == "train"  # an augmentation: never on evaluation data
    if cfg.limit and split == "train":
        if cfg.limit < 0:
            raise UserError(f"data.limit must be >= 0, got {cfg.limit}")
        data = data.subset(_first_n(data, cfg.limit))
    if len(data) == 0:
        raise UserError(f"data {cfg.name!r}: no examples")
    return data


def _first_n(data: Data, n: int):
    import torch

    return torch.arange(min(n, len(data)))
