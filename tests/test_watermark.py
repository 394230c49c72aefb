"""The keyed DCT spread-spectrum watermark: round trip, robustness at 64 px, wrong keys, CLI."""
import json

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main
from gankit.data.photos import photos
from gankit.detect import watermark as wm
from gankit.detect.attacks import jpeg, resize_half
from gankit.errors import UserError

KEY, OTHER_KEY = 20261123, 77


@pytest.fixture(scope="module")
def crops():
    """8 colour photo crops at 64 px (held-out strip of the sample photos) and 4 gray ones."""
    x = photos(resolution=64, split="test", n=8).x.permute(0, 2, 3, 1).numpy()
    gray = (x[:4].astype(np.float64) @ wm.LUMA).round().astype(np.uint8)
    return list(x) + list(gray)


@pytest.fixture(scope="module")
def marked(crops):
    msgs = [(i * 2654435761) % 2**32 for i in range(len(crops))]
    return [(wm.embed(img, KEY, m), m) for img, m in zip(crops, msgs)]


def _acc(img, key, msg):
    return wm.decode(img, key).bit_accuracy(wm.payload_bits(KEY, msg))


def test_round_trip_is_exact_and_invisible_enough(crops, marked):
    for (img, msg), orig in zip(marked, crops):
        assert img.shape == orig.shape and img.dtype == np.uint8
        r = wm.decode(img, KEY)
        assert r.bit_accuracy(wm.payload_bits(KEY, msg)) == 1.0 and r.detected and r.message == msg
        assert wm.psnr(orig, img) > 30
    assert np.mean([wm.psnr(o, m) for o, (m, _) in zip(crops, marked)]) > 36


def test_survives_jpeg75_and_a_50_percent_resize(marked):
    jpeg_acc = [_acc(jpeg(img, 75), KEY, msg) for img, msg in marked]
    resize_acc = [_acc(resize_half(img), KEY, msg) for img, msg in marked]
    assert np.mean(jpeg_acc) > 0.9 and min(jpeg_acc) > 0.85, jpeg_acc
    assert np.mean(resize_acc) > 0.9, resize_acc
    assert all(wm.decode(jpeg(img, 75), KEY).detected for img, _ in marked)


def test_wrong_key_and_unmarked_images_read_as_chance(crops, marked):
    wrong = [_acc(img, OTHER_KEY, msg) for img, msg in marked]
    assert 0.35 < np.mean(wrong) < 0.65, wrong
    assert not any(wm.decode(img, OTHER_KEY).detected for img, _ in marked)
    assert not any(wm.decode(img, KEY).detected for img in crops)


def test_patterns_are_fixed_by_the_key():
    a = wm._shake_bits("x", 100)
    assert np.array_equal(a, wm._shake_bits("x", 100)) and not np.array_equal(a, wm._shake_bits("y", 100))
    assert np.array_equal(wm.sync_bits(1), wm.sync_bits(1)) and not np.array_equal(wm.sync_bits(1), wm.sync_bits(2))
    assert wm.bits_to_int(wm.payload_bits(3, 0xDEADBEEF)[wm.SYNC_BITS:]) == 0xDEADBEEF


def test_bad_inputs():
    with pytest.raises(UserError, match="too small"):
        wm.embed(np.zeros((16, 16), np.uint8), KEY)
    with pytest.raises(UserError, match="key"):
        wm.embed(np.zeros((64, 64), np.uint8), -1)
    with pytest.raises(UserError, match="32 bits"):
        wm.payload_bits(KEY, 2**32)
    assert wm.parse_message("0xdeadBEEF") == 0xDEADBEEF
    with pytest.raises(UserError, match="hex"):
        wm.parse_message("xyz")


@pytest.fixture(scope="module")
def run32(tmp_path_factory):
    """A 1-step dcgan making 32 px digits (32 px is the smallest size the mark fits in)."""
    root = tmp_path_factory.mktemp("wm")
    assert main(["train", "--recipe", "dcgan", "--data", "digits", "--steps", "1", "--out", str(root / "g"),
                 "--set", "loop.progress=false", "--set", "loop.tensorboard=false", "--set", "G.kwargs.ngf=8",
                 "--set", "D.kwargs.ndf=8", "--set", "data.batch_size=8"]) == 0
    return root


def test_sample_watermark_then_detect_cli(run32, tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["sample", "--checkpoint", str(run32 / "g"), "--n", "4", "--out", str(out), "--watermark", str(KEY)]) == 0
    with Image.open(out / "000000.png") as im:
        text = dict(im.text)
    assert text["gankit:synthetic"] == "true" and text["gankit:watermark"].startswith(wm.SCHEME)
    message = text["gankit:checkpoint_sha256"][:8]  # the default message names the generator
    assert f"message={message}" in text["gankit:watermark"] and str(KEY) not in text["gankit:watermark"]
    capsys.readouterr()
    assert main(["detect", "--watermark", str(KEY), "--input", str(out), "--watermark-message", message,
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    rows = [r for r in res["images"] if r["file"].endswith(tuple(f"{i:06d}.png" for i in range(4)))]
    assert len(rows) == 4 and res["checkpoint"] is None
    for r in rows:
        w = r["watermark"]
        assert w["detected"] and w["message"] == message and w["bit_accuracy"] == 1.0 and len(w["bits"]) == 64
    assert main(["detect", "--watermark", str(OTHER_KEY), "--input", str(out / "000000.png")]) == 0
    assert "watermark no" in capsys.readouterr().out


def test_watermark_cli_errors(run32, tmp_path, capsys):
    cases = [
        (["sample", "--checkpoint", str(run32 / "g"), "--n", "1", "--out", str(tmp_path / "a"), "--watermark", "-3"],
         "key"),
        (["sample", "--checkpoint", str(run32 / "g"), "--n", "1", "--out", str(tmp_path / "a"),
          "--watermark-message", "abcd"], "--watermark-message"),
        (["detect", "--watermark", "x", "--input", str(tmp_path)], "--watermark"),
        (["detect", "--watermark", "5", "--input", str(tmp_path / "none")], "none"),
    ]
    for args, needle in cases:
        assert main(args) == 2, args
        err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
        assert len(err) == 1 and needle in err[0], err
