"""One tiny registry: name -> builder, for nets, recipes, datasets, losses and metrics.

Usage::

    NETS = Registry("net")

    @NETS.register("dcgan_g")
    class DCGANGenerator(nn.Module): ...

    NETS.get("dcgan_g")          # -> the class, or UserError naming the choices
    NETS.build("dcgan_g", **kw)  # kwargs checked against the builder's signature
"""
from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable, Iterator

from .errors import UserError


class Registry:
    """A named mapping from string keys to builders (classes or functions)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, Any] = {}

    def register(self, name: str, obj: Any = None) -> Callable:
        """Register ``obj`` under ``name``; usable as a decorator."""

        def deco(o):
            if name in self._items and self._items[name] is not o:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._items[name] = o
            return o

        return deco(obj) if obj is not None else deco

    def get(self, name: str) -> Any:
        _ensure_builtins_loaded()
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(str(name), list(self._items), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserError(
                f"unknown {self.kind} {name!r}{hint}; choices: {', '.join(sorted(self._items))}"
            ) from None

    def build(self, name: str, **kwargs) -> Any:
        """Call the builder with kwargs, refusing kwargs its signature does not accept."""
        builder = self.get(name)
        check_kwargs(builder, kwargs, f"{self.kind} {name!r}")
        return builder(**kwargs)

    def __contains__(self, name: str) -> bool:
        _ensure_builtins_loaded()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        _ensure_builtins_loaded()
        return iter(sorted(self._items))

    def items(self):
        _ensure_builtins_loaded()
        return sorted(self._items.items())


def check_kwargs(builder: Callable, kwargs: dict, what: str) -> None:
    """Raise UserError if ``kwargs`` has a key ``builder`` does not accept."""
    sig = inspect.signature(builder)
    params = sig.parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return
    for key in kwargs:
        if key not in params or key == "self":
            allowed = [p for p in params if p != "self"]
            raise UserError(f"{what} has no argument {key!r}; it takes: {', '.join(allowed)}")


NETS = Registry("net")
RECIPES = Registry("recipe")
DATASETS = Registry("dataset")
LOSSES = Registry("loss")
METRICS = Registry("metric")

_loaded = False


def _ensure_builtins_loaded() -> None:
    """Import the built-in modules so their decorators run (once, lazily)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib

    for mod in ("gankit.nets", "gankit.losses", "gankit.data", "gankit.recipes", "gankit.metrics"):
        importlib.import_module(mod)
