"""Bad input everywhere: hostile image files, random --set overrides and config files.

Every case must end in a result or in a UserError (exit 2 with one line): never a
traceback, a hang, or a memory blow-up.
"""
import io
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gankit.cli import main
from gankit.config import Config, apply_overrides
from gankit.errors import UserError
from gankit.presets import build_config
from gankit.train.setup import check_loop


def _png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def hostile_corpus(folder):
    """Write one file per kind of hostile image; returns the names expected to be unusable."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    good = Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8))
    for i in range(3):
        good.save(folder / f"ok{i}.png")
    (folder / "zero.png").write_bytes(b"")
    (folder / "truncated.png").write_bytes(_png(good)[:60])
    buf = io.BytesIO()
    good.save(buf, format="JPEG")
    (folder / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    (folder / "text.png").write_text("this is not an image")
    (folder / "png_named.jpg").write_bytes(_png(good))  # wrong extension, valid content
    Image.new("RGB", (1, 1), (200, 10, 10)).save(folder / "one_pixel.png")
    Image.new("1", (20000, 20000)).save(folder / "huge_header.png")  # 4e8 pixels: refused unread
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=50)
    Image.fromarray((rng.integers(0, 65535, (16, 16))).astype(np.uint16)).save(folder / "sixteen_bit.png")
    Image.new("CMYK", (16, 16), (10, 20, 30, 40)).save(folder / "cmyk.jpg")
    pal = Image.new("P", (16, 16))
    pal.putpalette([i % 256 for i in range(768)])
    pal.info["transparency"] = 0
    pal.save(folder / "palette_alpha.png", transparency=0)
    return {"zero.png", "truncated.png", "truncated.jpg", "text.png", "huge_header.png"}


def test_hostile_images_are_checked_skipped_and_trained_around(tmp_path, capsys):
    bad = hostile_corpus(tmp_path / "imgs")
    assert main(["data", "check", str(tmp_path / "imgs"), "--json"]) in (0, 2)
    import json

    report = json.loads(capsys.readouterr().out)
    named = {u["file"].rsplit("/", 1)[-1] for u in report["unreadable"]}
    assert bad <= named, named
    code = main(["train", "--data", str(tmp_path / "imgs"), "--steps", "1", "--out", str(tmp_path / "run"),
                 "--set", "loop.progress=false", "--set", "loop.tensorboard=false", "--set", "data.batch_size=4",
                 "--set", "G.kwargs.ngf=8", "--set", "D.kwargs.ndf=8", "--set", "data.resolution=16"])
    err = capsys.readouterr().err
    assert code == 0 and f"skipped {len(bad)}" in err, err


def test_a_folder_of_only_hostile_files_exits_2(tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"")
    (folder / "b.jpg").write_text("nope")
    assert main(["train", "--data", str(folder), "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(folder) in lines[0]


KEYS = ["loop.steps", "loop.d_steps", "loop.ema", "loop.precision", "optim_g.lr", "optim_d.betas",
        "data.batch_size", "data.resolution", "G.kwargs.ngf", "loss.name", "recipe", "nope", "loop",
        "loop.steps.x", "augment.name", "loop.on_divergence", "data.limit", "loop.accumulate"]
VALUES = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True).map(str),
                   st.text(string.printable, max_size=12), st.sampled_from(["[0.5,0.9]", "{a: 1}", "true", "-1e9"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(KEYS) | st.text(string.printable, max_size=10), VALUES), max_size=4))
def test_random_overrides_give_a_config_or_a_user_error(pairs):
    items = [f"{k}={v}" for k, v in pairs]
    try:
        cfg = apply_overrides(Config(), items)
        check_loop(cfg)
    except UserError as e:
        assert str(e) and "\n" not in str(e)


SECTIONS = ["recipe", "data", "G", "D", "optim_g", "optim_d", "loss", "augment", "loop", "options", "bogus"]
FIELDS = ["name", "kwargs", "steps", "lr", "betas", "batch_size", "resolution", "d_steps", "precision", "x"]
LEAF = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**4), st.floats(allow_nan=True),
                 st.text(string.printable, max_size=8), st.lists(st.integers(-2, 3), max_size=3))
YAML_DOCS = st.one_of(
    st.text(string.printable, max_size=120),
    st.dictionaries(st.sampled_from(SECTIONS), LEAF | st.dictionaries(st.sampled_from(FIELDS), LEAF, max_size=3),
                    max_size=4).map(lambda d: __import__("yaml").safe_dump(d)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(YAML_DOCS)
def test_random_config_files_give_a_config_or_a_user_error(tmp_path, text):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    try:
        cfg = build_config(config_file=str(f))
        check_loop(cfg)
    except UserError as e:
        assert str(e)


@pytest.mark.parametrize("text", ["data: x", "recipe: [1]", "data: {name: [1]}", "data: {name: 5}", "recipe: null",
                                  "loop: {steps: 1e999}", "options: 3", "G: {kwargs: 3}"])
def test_malformed_config_files_are_user_errors(tmp_path, text):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    with pytest.raises(UserError):
        check_loop(build_config(config_file=str(f)))
