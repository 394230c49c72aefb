"""Tiny runs for the studio demos' tests (paint a scene, real or fake?), trained once per
pytest session and shared by tests/test_studio_demos.py and tests/test_studio_demos_browser.py.

``spade`` (scenes label maps, 16 px) and ``edges`` (pix2pix on edges2photo, 16 px) for painting,
``dcgan`` (digits, 16 px) for the quiz, and ``musegan`` (12 Bach chorales, when music21 is
installed) for Listen: 2 steps each, about 8 s in all on one thread.
"""
from __future__ import annotations

from test_studio_support import FAST, ONE_THREAD, SMALL_DCGAN, _train

_MEMO: dict = {}


def has_music21() -> bool:
    """True when the music extra (music21, mido) and the musegan recipe are there."""
    import importlib.util

    from gankit.registry import RECIPES

    return all(importlib.util.find_spec(m) is not None for m in ("music21", "mido")) and "musegan" in RECIPES


def demo_root(tmp_path_factory):
    """A runs folder with ``spade``, ``edges``, ``dcgan`` and (with music21) ``musegan``."""
    if "root" not in _MEMO:
        root = tmp_path_factory.mktemp("studio-demos")
        _train(root, "spade", recipe="spade", data="scenes", steps=2, overrides=FAST + ONE_THREAD + [
            "data.resolution=16", "data.kwargs.n=64", "data.batch_size=4", "G.kwargs.ngf=8",
            "G.kwargs.hidden=8", "G.kwargs.z_dim=8", "D.kwargs.ndf=8", "D.kwargs.num_d=1"])
        _train(root, "edges", recipe="pix2pix", data="edges2photo", steps=2, overrides=FAST + ONE_THREAD + [
            "G.kwargs.ngf=8", "D.kwargs.ndf=8", "data.resolution=16", "data.kwargs.n=32", "data.batch_size=4"])
        _train(root, "dcgan", recipe="dcgan", steps=2, overrides=FAST + SMALL_DCGAN + ONE_THREAD)
        if has_music21():  # Bernoulli binarisation: an untrained G's hard-binarised rolls are silent
            _train(root, "musegan", recipe="musegan", data="bach-chorales", steps=2,
                   overrides=FAST + ONE_THREAD + ["data.kwargs.limit=12", "data.batch_size=4", "loop.n_samples=4",
                                                  "G.kwargs.width=8", "D.kwargs.width=8", "sample.binarize=bernoulli"])
        _MEMO["root"] = root
    return _MEMO["root"]
