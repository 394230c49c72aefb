"""docs/ARCHITECTURE.md's new-recipe walkthrough, followed to the letter: its code block is
written to a module of its own, imported (which registers the recipe), trained for a few steps,
then sampled, evaluated, resumed and loaded from its checkpoint like any built-in recipe."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import gankit
from gankit.config import apply_overrides
from gankit.errors import UserError
from gankit.generate import write_samples
from gankit.metrics.evaluate import evaluate
from gankit.presets import build_config
from gankit.registry import RECIPES
from gankit.train import train

DOC = Path(__file__).resolve().parents[1] / "docs" / "ARCHITECTURE.md"
QUIET = ["loop.progress=false", "loop.tensorboard=false", "loop.n_samples=64", "data.batch_size=64"]


def _walkthrough_module(tmp_dir: Path):
    """Import the walkthrough's recipe module (once per process: registering twice is an error)."""
    if "walkthrough_recipe" in sys.modules:
        return sys.modules["walkthrough_recipe"]
    blocks = re.findall(r"```python\n(# walkthrough-recipe\n.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1, "ARCHITECTURE.md must hold exactly one walkthrough-recipe code block"
    f = tmp_dir / "walkthrough_recipe.py"
    f.write_text(blocks[0])
    spec = importlib.util.spec_from_file_location("walkthrough_recipe", f)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["walkthrough_recipe"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_walkthrough_recipe_trains_samples_evaluates_and_resumes(tmp_path):
    _walkthrough_module(tmp_path)
    assert "walkthrough-lsgan" in RECIPES
    cfg = build_config(recipe="walkthrough-lsgan", data="ring8", steps=30,
                       overrides=QUIET + ["loop.checkpoint_every=20", "loop.sample_every=30"])
    run = tmp_path / "run"
    final = train(cfg, run)
    assert final.name == "step_0000030" and (run / "samples" / "latest.png").is_file()
    assert (run / "config.yaml").read_text().count("mlp_g") == 1  # resolve() filled the nets in

    model = gankit.load(run)
    files = write_samples(model, 100, tmp_path / "s", seed=1)
    pts = np.load(files["samples"])
    assert pts.shape == (100, 2) and np.isfinite(pts).all()

    res = evaluate(model, n=500)
    assert {"modes", "high_quality", "reverse_kl"} <= set(res)

    longer = apply_overrides(cfg, ["loop.steps=40"])
    assert train(longer, run, resume=True).name == "step_0000040"


def test_walkthrough_recipe_refuses_other_data(tmp_path):
    _walkthrough_module(tmp_path)
    cfg = build_config(recipe="walkthrough-lsgan", data="digits", steps=1, overrides=QUIET)
    with pytest.raises(UserError, match="needs 2D point data"):
        train(cfg, tmp_path / "r")
