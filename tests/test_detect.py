"""The real-vs-generated detector: training on tiny data, scoring, JSON output, files, errors."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.detect.attacks import jpeg, resize_half
from gankit.detect.detector import (
    TrainOptions,
    evaluate_detector,
    load_detector,
    roc_auc,
    save_detector,
    train_detector,
)

FAST = ["--set", "loop.progress=false", "--set", "loop.tensorboard=false"]
TINY = FAST + ["--set", "G.kwargs.ngf=8", "--set", "D.kwargs.ndf=8", "--set", "data.batch_size=8",
               "--set", "data.resolution=16"]


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    """A 1-step cgan on 16 px digits, some of its samples as PNGs, and a tiny trained detector."""
    root = tmp_path_factory.mktemp("detect")
    assert main(["train", "--recipe", "cgan", "--data", "digits", "--steps", "1", "--out", str(root / "cgan"),
                 *TINY]) == 0
    assert main(["sample", "--checkpoint", str(root / "cgan"), "--n", "6", "--out", str(root / "samples")]) == 0
    assert main(["detect", "train", "--real", "digits", "--fake", str(root / "cgan"), "--out", str(root / "det"),
                 "--n", "48", "--steps", "4", "--width", "4"]) == 0
    return root


def _one_line_error(capsys, needle):
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and needle in lines[0], err


def test_detector_trains_on_tiny_data_and_scores_in_unit_interval():
    g = torch.Generator().manual_seed(0)
    real = torch.randint(0, 128, (24, 1, 16, 16), generator=g, dtype=torch.uint8)
    fake = torch.randint(128, 256, (24, 1, 16, 16), generator=g, dtype=torch.uint8)
    det = train_detector(real, fake, TrainOptions(steps=30, width=4, batch_size=16, augment="none"))
    s = det.score(torch.cat([real, fake]))
    assert s.shape == (48,) and np.all((s >= 0) & (s <= 1))
    res = evaluate_detector(det, real, fake)
    assert res["auc"] > 0.9 and res["accuracy"] > 0.8  # an easy, separable toy problem
    res = evaluate_detector(det, real, fake, attack="jpeg75")
    assert 0 <= res["auc"] <= 1 and res["attack"] == "jpeg75"


def test_detector_files_roundtrip_without_pickle(tmp_path):
    det = train_detector(torch.zeros(4, 3, 8, 8, dtype=torch.uint8), torch.full((4, 3, 8, 8), 255, dtype=torch.uint8),
                         TrainOptions(steps=2, width=4, batch_size=4, augment="none"))
    save_detector(det, tmp_path / "d")
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["config.json", "model.safetensors"]
    cfg = json.loads((tmp_path / "d" / "config.json").read_text())
    assert cfg["kind"] == "gankit-detector" and cfg["resolution"] == 8 and cfg["channels"] == 3
    again = load_detector(tmp_path / "d")
    x = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8)
    assert np.allclose(again.score(x), det.score(x))


def test_detect_train_cli_writes_a_detector_with_heldout_numbers(gen):
    cfg = json.loads((gen / "det" / "config.json").read_text())
    assert cfg["kind"] == "gankit-detector" and cfg["resolution"] == 16
    h = cfg["heldout"]
    assert h["n_real"] == 360 and h["n_fake"] == 360 and 0 <= h["auc"] <= 1  # digits test split vs fresh fakes
    assert cfg["trained_on"]["n_real"] == 48 and cfg["trained_on"]["fakes"][0]["recipe"] == "cgan"


def test_detect_scores_a_folder_and_a_file_as_json(gen, capsys):
    capsys.readouterr()
    assert main(["detect", "--checkpoint", str(gen / "det"), "--input", str(gen / "samples"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res) >= {"input", "checkpoint", "threshold", "n", "n_generated", "images", "skipped"}
    assert res["n"] == 7 and len(res["images"]) == 7  # 6 samples + grid.png
    for row in res["images"]:
        assert set(row) == {"file", "score", "generated"} and 0.0 <= row["score"] <= 1.0
        assert row["generated"] == (row["score"] >= 0.5)
    assert main(["detect", "--checkpoint", str(gen / "det"), "--input", str(gen / "samples" / "000001.png")]) == 0
    text = capsys.readouterr().out.strip().splitlines()
    assert len(text) == 2 and text[0].endswith("000001.png") and text[1].startswith("1 image(s)")


def test_detect_resizes_and_converts_foreign_images(gen, tmp_path, capsys):
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(tmp_path / "a.jpg")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    capsys.readouterr()
    assert main(["detect", "--checkpoint", str(gen / "det"), "--input", str(tmp_path), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["n"] == 1 and len(res["skipped"]) == 1 and res["skipped"][0]["file"].endswith("broken.png")


def test_detect_user_errors_exit_2_with_one_line(gen, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    cases = [
        (["detect", "--checkpoint", str(gen / "det"), "--input", str(tmp_path / "missing.png")], "missing.png"),
        (["detect", "--checkpoint", str(gen / "det"), "--input", str(tmp_path / "empty")], "no image files"),
        (["detect", "--checkpoint", str(gen / "det")], "--input is required"),
        (["detect", "--checkpoint", str(gen / "cgan"), "--input", str(gen / "samples")], "generator checkpoint"),
        (["detect", "--checkpoint", str(gen / "cgan" / "checkpoints" / "latest"), "--input", str(gen / "samples")],
         "a file"),
        (["detect", "--input", str(gen / "samples")], "--checkpoint"),
        (["detect", "--checkpoint", str(tmp_path / "nope"), "--input", str(gen / "samples")], "nope"),
        (["detect", "train", "--real", "digits", "--out", str(tmp_path / "d")], "--fake is required"),
        (["detect", "train", "--real", "digits", "--fake", str(tmp_path / "nope"), "--out", str(tmp_path / "d")],
         "nope"),
        (["detect", "--checkpoint", str(gen / "det"), "--input", str(gen / "samples"), "--fake", "x"], "--fake"),
        (["detect", "train", "--real", "digits", "--fake", str(gen / "cgan"), "--out", str(tmp_path / "d"),
          "--input", "x"], "--input"),
        (["detect", "retrain"], "invalid choice"),
    ]
    for args, needle in cases:
        assert main(args) == 2, args
        _one_line_error(capsys, needle)
    # a generator's network folder has a config.json too, of another kind
    ckpt = next((gen / "cgan" / "checkpoints").glob("step_*"))
    assert main(["detect", "--checkpoint", str(ckpt / "G"), "--input", str(gen / "samples")]) == 2
    _one_line_error(capsys, "a generator network")


@pytest.mark.slow  # a fresh interpreter importing torch: ~3 s idle, much more on a busy machine
def test_console_exit_code_and_message():
    p = subprocess.run([sys.executable, "-m", "gankit", "detect", "--checkpoint", "/no/such/detector", "--input", "x"],
                       check=False, capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "/no/such/detector" in p.stderr


def test_roc_auc_and_attacks():
    assert roc_auc(np.array([0.1, 0.2]), np.array([0.8, 0.9])) == 1.0
    assert roc_auc(np.array([0.8, 0.9]), np.array([0.1, 0.2])) == 0.0
    assert roc_auc(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.5
    rng = np.random.default_rng(0)
    r, f = rng.normal(size=50).round(1), rng.normal(0.5, size=40).round(1)  # with ties
    pairs = (f[:, None] > r[None, :]).mean() + 0.5 * (f[:, None] == r[None, :]).mean()
    assert abs(roc_auc(r, f) - pairs) < 1e-12
    img = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    for f in (jpeg, resize_half):
        out = f(img)
        assert out.shape == img.shape and out.dtype == np.uint8 and not np.array_equal(out, img)
    gray = img[..., :1]
    assert jpeg(gray).shape == gray.shape and resize_half(gray).shape == gray.shape
