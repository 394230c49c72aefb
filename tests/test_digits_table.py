"""benchmarks/digits_table.py (equal-CPU-budget recipe table on digits) and the StyleGAN2
control pictures in gankit.generate (style-mixing grid, truncation sweep)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from PIL import Image

import gankit
from gankit.errors import UserError
from gankit.generate import style_mixing_grid, truncation_sweep
from gankit.presets import build_config
from gankit.train import train

ROOT = Path(__file__).resolve().parents[1]


def _table_module():
    spec = importlib.util.spec_from_file_location("digits_table", ROOT / "benchmarks" / "digits_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_parse_spec():
    dt = _table_module()
    assert dt.parse_spec("dcgan") == ("dcgan", "dcgan", [])
    assert dt.parse_spec("acgan-real=acgan+options.d_fake_class=false+loop.seed=1") == (
        "acgan-real", "acgan", ["options.d_fake_class=false", "loop.seed=1"])


def test_spec_lists_keep_commas_inside_brackets_and_quotes():
    """A comma inside [..], {..} or quotes belongs to a value; a quoted value reaches --set unquoted."""
    import sys
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from modes2d import parse_spec, split_specs

    text = "a=dcgan+x=[1, 2],b=pacgan+augment.policy='translation,cutout',hinge"
    specs = split_specs(text)
    assert specs == ["a=dcgan+x=[1, 2]", "b=pacgan+augment.policy='translation,cutout'", "hinge"]
    name, recipe, over = parse_spec(specs[1])
    assert (name, recipe, over) == ("b", "pacgan", ["augment.policy=translation,cutout"])
    assert build_config(recipe=recipe, data="digits", overrides=over).augment.policy == "translation,cutout"


def test_progan_schedule_scales_with_the_budgeted_length():
    cfg = _table_module().config_for("progan", 2000, [])
    assert cfg.options["steps_per_phase"] == 200 and cfg.loop.steps == 2000
    assert cfg.loop.threads == 1 and cfg.loop.sample_every == 2000  # grids only at the end


def test_table_end_to_end_tiny(tmp_path, capsys):
    """Timing -> steps = budget / (CPU s/step) -> training -> eval -> Markdown row; a rerun resumes."""
    dt = _table_module()
    argv = ["--out", str(tmp_path), "--recipes", "tiny=dcgan+G.kwargs.ngf=8+D.kwargs.ndf=8+data.batch_size=16",
            "--budget", "0.3", "--time-steps", "5", "--warm", "1", "--rounds", "1", "--n", "200",
            "--no-baseline", "--min-steps", "3"]
    assert dt.main(argv) == 0
    timing = json.loads((tmp_path / "timing.json").read_text())["tiny"]
    assert timing["sec_per_step"] > 0 and len(timing["rounds"]) == 1
    info = json.loads((tmp_path / "tiny" / "train.json").read_text())
    assert info["steps"] == max(3, round(0.3 / timing["sec_per_step"]))
    assert gankit.load(tmp_path / "tiny").step == info["steps"]
    ev = json.loads((tmp_path / "tiny" / "eval.json").read_text())
    assert ev["extractor"] == "digits" and ev["fid"] > 0 and 0 <= ev["coverage"] <= 1
    out = capsys.readouterr().out
    row = [line for line in out.splitlines() if line.startswith("| tiny |")]
    assert row and f"| {info['steps']} |" in row[0] and f"{ev['fid']:.2f}" in row[0]
    # a rerun reuses timing, training and evaluation (nothing is retrained)
    mtime = (tmp_path / "tiny" / "train.json").stat().st_mtime_ns
    assert dt.main(argv) == 0
    assert (tmp_path / "tiny" / "train.json").stat().st_mtime_ns == mtime


# ------------------------------------------------------------------------- StyleGAN2 controls

TINY_SG2 = ["G.kwargs.z_dim=16", "G.kwargs.w_dim=16", "G.kwargs.mapping_layers=2", "G.kwargs.channel_base=64",
            "G.kwargs.channel_max=16", "D.kwargs.channel_base=64", "D.kwargs.channel_max=16",
            "loop.progress=false", "loop.tensorboard=false", "data.batch_size=8", "loop.threads=1",
            "loop.precision=fp32", "data.resolution=16", "loop.ema=0.9"]


@pytest.fixture(scope="module")
def sg2(tmp_path_factory):
    run = tmp_path_factory.mktemp("sg2ctl") / "run"
    train(build_config(recipe="stylegan2", data="digits", steps=3, overrides=TINY_SG2), run)
    return gankit.load(run)


def test_style_mixing_grid(sg2, tmp_path):
    G = sg2.generator
    png = tmp_path / "mix.png"
    tiles = style_mixing_grid(sg2, [1, 2, 3], [4, 5], crossover=2, out=png)
    assert tiles.shape == (4 * 3, 1, 16, 16)
    rec = sg2.recipe
    # header column = the coarse seeds' own images, header row = the fine seeds' own images
    assert torch.allclose(tiles[3], rec.sample(G, 1, seed=1)[0], atol=1e-5)
    assert torch.allclose(tiles[2], rec.sample(G, 1, seed=5)[0], atol=1e-5)
    assert not torch.allclose(tiles[4], tiles[5])  # same coarse seed, different fine seeds
    im = Image.open(png)
    assert im.height > im.width and "style_mixing" in " ".join(im.text)  # 4 rows x 3 columns of tiles
    with pytest.raises(UserError, match="crossover"):
        style_mixing_grid(sg2, [1], [2], crossover=G.num_ws + 1)


def test_truncation_sweep(sg2, tmp_path):
    png = tmp_path / "trunc.png"
    tiles = truncation_sweep(sg2, [0, 7], psis=(1.0, 0.5, 0.0), out=png).view(2, 3, 1, 16, 16)
    G, rec = sg2.generator, sg2.recipe
    assert torch.allclose(tiles[0, 0], rec.sample(G, 1, seed=0)[0], atol=1e-5)  # psi 1 = no truncation
    assert torch.allclose(tiles[0, 2], tiles[1, 2], atol=1e-6)  # psi 0: the mean-w image for every seed
    assert not torch.allclose(tiles[0, 1], tiles[1, 1])
    assert png.is_file()
    with pytest.raises(UserError, match="psi"):
        truncation_sweep(sg2, [0], psis=(1.5,))


def test_controls_refuse_non_style_models(tmp_path):
    run = tmp_path / "dc"
    train(build_config(recipe="dcgan", data="digits", steps=1,
                       overrides=["G.kwargs.ngf=8", "D.kwargs.ndf=8", "data.batch_size=8", "data.resolution=16",
                                  "loop.progress=false", "loop.tensorboard=false"]), run)
    with pytest.raises(UserError, match="stylegan2"):
        truncation_sweep(gankit.load(run), [0])


def test_digit_confidence_summary_separates_imbalance_from_unclear_digits():
    spec = importlib.util.spec_from_file_location("digit_confidence", ROOT / "benchmarks" / "digit_confidence.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import numpy as np

    clear = np.eye(10)[np.arange(1000) % 10] * 0.99 + 0.001  # balanced, confident
    s = mod.summary(clear)
    assert s["kl_uniform"] == 0.0 and s["mean_confidence"] > 0.98 and s["below_0.9"] == 0.0
    unclear = clear * 0.5 + 0.05  # the same classes, half as sure
    s = mod.summary(unclear)
    assert s["kl_uniform"] == 0.0 and s["below_0.9"] == 1.0
    ones = np.eye(10)[np.where(np.arange(1000) < 500, 1, np.arange(1000) % 10)]  # half the samples are 1s
    assert mod.summary(ones)["class_share"][1] > 0.5 and mod.summary(ones)["kl_uniform"] > 0.3
