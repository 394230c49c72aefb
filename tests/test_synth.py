"""gankit synth (labelled synthetic folders), provenance chunks, and the CAS pipeline (mechanics
on tiny data; the numbers themselves are in docs/RESULTS.md)."""
import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image

from gankit import load
from gankit.cli import main
from gankit.metrics import cas

FAST = ["--set", "loop.progress=false", "--set", "loop.tensorboard=false"]
TINY = FAST + ["--set", "G.kwargs.ngf=8", "--set", "D.kwargs.ndf=8", "--set", "data.batch_size=8",
               "--set", "data.resolution=16"]
TINY_CAS = cas.CASProtocol(width=4, steps=3, batch_size=16)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 1-step class-conditional (cgan) and unconditional (dcgan) model on 16 px digits."""
    root = tmp_path_factory.mktemp("synth_runs")
    for recipe in ("cgan", "dcgan"):
        assert main(["train", "--recipe", recipe, "--data", "digits", "--steps", "1", "--out", str(root / recipe),
                     *TINY]) == 0
    return root


def _one_line_error(capsys, needle):
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and needle in lines[0], err


def test_synth_folder_layout_labels_and_provenance(runs, tmp_path, capsys):
    out = tmp_path / "syn"
    assert main(["synth", "--checkpoint", str(runs / "cgan"), "--per-class", "3", "--out", str(out), "--seed", "5"]) == 0
    assert "30 images" in capsys.readouterr().out
    folders = sorted(d.name for d in out.iterdir() if d.is_dir())
    assert folders == [str(i) for i in range(10)]
    assert all(len(list((out / f).glob("*.png"))) == 3 for f in folders)
    manifest = json.loads((out / "synth.json").read_text())
    assert manifest["per_class"] == 3 and manifest["count"] == 30 and manifest["classes"] == folders

    model = load(runs / "cgan")
    g_file = model.path / ("G_ema" if "G_ema" in model.nets else "G") / "model.safetensors"  # the sampling net
    digest = hashlib.sha256(g_file.read_bytes()).hexdigest()
    assert manifest["checkpoint_sha256"] == digest
    with Image.open(out / "7" / "000002.png") as im:
        text = dict(im.text)
    assert text["gankit:synthetic"] == "true" and text["gankit:recipe"] == "cgan"
    assert text["gankit:checkpoint_sha256"] == digest and text["gankit:seed"] == "5"
    assert text["gankit:class"] == "7" and text["gankit:index"] == str(2 * 10 + 7)

    # the folder reads back as a labelled dataset with the right labels ...
    from gankit.data.user import load_user_data

    data = load_user_data(str(out), resolution=16)
    assert data.class_names == folders and torch.equal(torch.bincount(data.y), torch.full((10,), 3))
    # ... and holds exactly the images `gankit sample` makes from the same seed, regrouped by class
    assert main(["sample", "--checkpoint", str(runs / "cgan"), "--n", "30", "--seed", "5",
                 "--out", str(tmp_path / "s")]) == 0
    a = np.asarray(Image.open(tmp_path / "s" / f"{27:06d}.png"))
    b = np.asarray(Image.open(out / "7" / "000002.png"))
    assert np.array_equal(a, b)
    with Image.open(tmp_path / "s" / "000000.png") as im:  # gankit sample carries provenance too
        assert im.text["gankit:synthetic"] == "true" and im.text["gankit:checkpoint_sha256"] == digest


def test_class_folder_names_sort_in_class_order():
    from gankit.synth import class_folders

    assert class_folders([str(i) for i in range(10)]) == [str(i) for i in range(10)]
    names = class_folders(["zebra", "ant", "cat dog"])
    assert names == ["0-zebra", "1-ant", "2-cat_dog"] and sorted(names) == names
    twelve = class_folders([str(i) for i in range(12)])
    assert sorted(twelve) == twelve and twelve[10] == "10-10"


def test_synth_user_errors(runs, tmp_path, capsys):
    assert main(["synth", "--checkpoint", str(runs / "dcgan"), "--per-class", "2", "--out", str(tmp_path / "a")]) == 2
    _one_line_error(capsys, "not class-conditional")
    assert main(["synth", "--checkpoint", str(runs / "cgan"), "--per-class", "0", "--out", str(tmp_path / "b")]) == 2
    _one_line_error(capsys, "--per-class")
    assert main(["synth", "--checkpoint", str(tmp_path / "nope"), "--per-class", "2", "--out", str(tmp_path / "c")]) == 2
    _one_line_error(capsys, "nope")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    assert main(["synth", "--checkpoint", str(runs / "cgan"), "--per-class", "1", "--out", str(tmp_path / "full")]) == 2
    _one_line_error(capsys, "not empty")


def test_cas_table_mechanics_on_tiny_data():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (40, 1, 12, 12), generator=g, dtype=torch.uint8)
    y = torch.arange(40) % 4
    res = cas.cas_table((x[:24], y[:24]), (x[24:], y[24:]), (x[:8], y[:8]), 4, real_sizes=(2, 0), protocol=TINY_CAS)
    assert set(res) == {"cas", "cas_real_2", "cas_mix_2", "cas_real_all", "cas_mix_all"}
    assert all(0.0 <= v <= 1.0 for v in res.values())
    assert cas.per_class_subset(y[:24], 2).tolist() == sorted(cas.per_class_subset(y[:24], 2).tolist())
    assert torch.bincount(y[cas.per_class_subset(y[:24], 2)]).tolist() == [2, 2, 2, 2]
    # a fixed protocol is deterministic
    again = cas.cas_table((x[:24], y[:24]), (x[24:], y[24:]), (x[:8], y[:8]), 4, real_sizes=(2, 0), protocol=TINY_CAS)
    assert again == res


def test_cas_of_a_checkpoint_and_eval_cli(runs, monkeypatch, capsys):
    res = cas.classification_accuracy_score(load(runs / "cgan"), per_class=2, protocol=TINY_CAS)
    assert {"cas", "cas_real_10", "cas_mix_all"} <= set(res) and res["cas_per_class"] == 2
    monkeypatch.setattr(cas, "PROTOCOL", TINY_CAS)
    assert main(["eval", "--checkpoint", str(runs / "cgan"), "--metrics", "cas", "--n", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(cas._KEYS) <= set(out) and all(0 <= out[k] <= 1 for k in cas._KEYS)
    assert main(["eval", "--checkpoint", str(runs / "dcgan"), "--metrics", "cas", "--n", "20"]) == 2
    _one_line_error(capsys, "not class-conditional")


def test_cas_needs_a_generator(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    assert main(["eval", "--real-vs-real", "--data", "digits", "--resolution", "16", "--metrics", "cas"]) == 2
    _one_line_error(capsys, "needs a generator")


def test_cas_is_not_a_default_metric():
    from gankit.metrics.core import default_metrics
    from gankit.metrics.extractors import get_extractor

    meta = {"kind": "images", "name": "digits", "num_classes": 10, "shape": [1, 32, 32]}
    assert "cas" not in default_metrics(meta, get_extractor(None, meta), True)
