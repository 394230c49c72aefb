"""The architecture's promises (docs/ARCHITECTURE.md): one way through the code.

- data kinds are asked of their Modality, never compared as strings outside gankit/modality.py;
- `gankit train --data X` touches each data file once;
- checkpoints written by gankit 0.1 (before the trainer split) still load, sample the same
  points and resume.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np

import gankit
from gankit.generate import sample
from gankit.modality import kinds, modality

SRC = Path(gankit.__file__).parent
OLD = Path(__file__).parent / "data" / "ckpt-v0.1-gan-ring8"
KIND = "|".join(kinds())
# `x == "images"`, `"images" != x`, `x in ("paired", "unpaired")`, `kind not in ("text",)` ...
COMPARE = re.compile(rf"""(==|!=|\bin)\s*\(?\s*["']({KIND})["']|["']({KIND})["']\s*(==|!=)""")


def test_every_kind_has_a_modality_with_loadable_functions():
    for k in kinds():
        m = modality(k)
        assert m.name == k and callable(m.write.__call__)
        for ref in (m.writer, m.preview, *(m.report or ())):
            mod, fn = ref.split(":")
            assert callable(getattr(__import__(mod, fromlist=[fn]), fn)), ref


def test_no_data_kind_string_comparison_outside_the_modality_registry():
    offenders = []
    for f in sorted(SRC.rglob("*.py")):
        if f.name == "modality.py" and f.parent == SRC:
            continue
        for i, line in enumerate(f.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if "kind" in code and COMPARE.search(code):
                offenders.append(f"{f.relative_to(SRC)}:{i}: {line.strip()}")
    assert not offenders, "compare kinds through gankit.modality, not strings:\n" + "\n".join(offenders)


def test_a_checkpoint_written_before_the_trainer_split_still_loads_samples_and_resumes(tmp_path):
    model = gankit.load(OLD)
    assert model.step == 20 and model.config.recipe == "gan"
    x = sample(model, 16, seed=3).numpy()
    np.testing.assert_allclose(x, np.load(OLD / "expected_samples_n16_seed3.npy"), rtol=0, atol=1e-6)
    run = tmp_path / "old"
    shutil.copytree(OLD, run)
    from gankit.config import Config, apply_overrides
    from gankit.train import train

    cfg = apply_overrides(Config.load(run / "config.yaml"), ["loop.steps=24", "loop.progress=false"])
    assert train(cfg, run, resume=True).name == "step_0000024"


QUIET_CLI = ["--steps", "1", "--set", "loop.progress=false", "--set", "loop.tensorboard=false",
             "--set", "loop.n_samples=4", "--set", "data.batch_size=4"]


def _count_touches(monkeypatch):
    """Counters of what `gankit train` does to user data: per-file image opens, format
    detections of the data path, and .npz array reads."""
    from gankit.data import formats, user

    opened: dict[str, int] = {}
    real_open, real_read = user.open_image, formats.read_npz

    def counting_open(path, *a, **kw):
        opened[str(path)] = opened.get(str(path), 0) + 1
        return real_open(path, *a, **kw)

    reads = []
    monkeypatch.setattr(user, "open_image", counting_open)
    monkeypatch.setattr(formats, "read_npz", lambda p: reads.append(str(p)) or real_read(p))
    user._detect_format.cache_clear()
    return opened, reads, user._detect_format


def test_train_on_an_image_folder_decodes_each_file_once_and_detects_once(tmp_path, monkeypatch):
    from PIL import Image

    from gankit.cli import main

    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    opened, _, detect = _count_touches(monkeypatch)
    assert main(["train", "--data", str(folder), "--out", str(tmp_path / "run"), *QUIET_CLI,
                 "--set", "data.resolution=16"]) == 0
    assert sorted(opened) == sorted(str(f) for f in folder.glob("*.png"))
    assert set(opened.values()) == {1}, opened  # no file decoded twice
    assert detect.cache_info().misses == 1  # the layout was looked at once (recipe + load)


def test_train_on_an_npz_reads_its_arrays_once(tmp_path, monkeypatch):
    from gankit.cli import main

    f = tmp_path / "pts.npz"
    np.savez(f, x=np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32))
    _, reads, detect = _count_touches(monkeypatch)
    assert main(["train", "--data", str(f), "--out", str(tmp_path / "run"), *QUIET_CLI]) == 0
    assert reads == [str(f)]  # the kind (points -> recipe gan) came from the headers alone
    assert detect.cache_info().misses == 1
    assert "recipe: gan" in (tmp_path / "run" / "config.yaml").read_text()
