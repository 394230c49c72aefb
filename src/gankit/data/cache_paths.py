"""Where the data cache lives, and its one-line messages: below :mod:`gankit.data.cache` so the
corpora parsed on first use (:mod:`gankit.data.music`) can cache without importing the image
preparation machinery."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_root(setting: str) -> Path | None:
    """The cache folder ``data.cache`` names; None for ``off``."""
    if setting == "off":
        return None
    if setting not in ("", "auto"):
        return Path(setting).expanduser()
    if os.environ.get("GANKIT_CACHE"):
        return Path(os.environ["GANKIT_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "gankit"


def _say(msg: str) -> None:
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one line for all ranks
        print(f"gankit: {msg}", file=sys.stderr)
