"""Video: the moving-digits clips, next-frame / next-frame-l1 on the loop (5-D batches), GIF
rollouts from ``gankit sample``, bad options, and the per-frame metrics."""
from __future__ import annotations

import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.config import DataConfig
from gankit.data import load_data
from gankit.data.video import bounce_path, make_clips
from gankit.metrics.video_metrics import frame_metrics, rollout_metrics
from gankit.presets import build_config
from gankit.train import train

FAST = ["--set", "loop.progress=false", "--set", "loop.tensorboard=false", "--set", "loop.threads=1"]
TINY = ["--set", "data.batch_size=8", "--set", "G.kwargs.ngf=8", "--set", "D.kwargs.ndf=8", "--set", "data.resolution=16",
        "--set", "data.kwargs={n: 32, frames: 6}", "--set", "options.context=3", "--set", "loop.n_samples=4"]


def _train(recipe: str, out, *extra) -> list[str]:
    return ["train", "--recipe", recipe, "--steps", "3", "--out", str(out), *FAST, *TINY, *extra]


@pytest.mark.parametrize("recipe", ["next-frame", "next-frame-l1"])
def test_next_frame_trains_and_writes_gifs(recipe, tmp_path):
    run = tmp_path / "run"
    assert main(_train(recipe, run)) == 0
    rows = (run / "metrics.jsonl").read_text()
    assert "loss/D" in rows and "G/l1" in rows and ("G/adv" in rows) == (recipe == "next-frame")
    assert (run / "samples" / "latest.png").is_file()
    assert main(["sample", "--checkpoint", str(run), "--n", "3", "--out", str(tmp_path / "s")]) == 0
    gifs = sorted((tmp_path / "s").glob("rollout_*.gif"))
    assert len(gifs) == 3 and (tmp_path / "s" / "grid.gif").is_file() and (tmp_path / "s" / "strip.png").is_file()
    with Image.open(gifs[0]) as im:
        assert im.n_frames == 6 and im.size == (128, 128)


def test_bad_options_and_data_exit_2(tmp_path, capsys):
    assert main(_train("next-frame", tmp_path / "r", "--set", "options.context=6")) == 2
    assert "options.context=6" in capsys.readouterr().err
    assert main(["train", "--recipe", "next-frame", "--data", "digits", "--steps", "1", "--out",
                 str(tmp_path / "r2"), *FAST]) == 2
    assert "needs video data" in capsys.readouterr().err


def test_moving_digits_clips():
    p = bounce_path(torch.tensor([0.0, 5.0]).numpy(), torch.tensor([3.0, -4.0]).numpy(), 12, 10)
    assert p.min() >= 0 and p.max() <= 10 and p[0, 4] == 8  # 0, 3, 6, 9, then back from the wall
    a = make_clips(8, 5, 16, 2, "train", seed=1)
    assert a.shape == (8, 5, 1, 16, 16) and a.dtype.name == "uint8"
    assert (make_clips(8, 5, 16, 2, "train", seed=1) == a).all()  # seeded
    assert not (make_clips(8, 5, 16, 2, "test", seed=1) == a).all()  # other digits
    assert (a.reshape(40, -1).max(1) > 100).all()  # every frame shows a digit
    d = load_data(DataConfig(name="moving-digits", resolution=16, kwargs={"n": 16, "frames": 5}, flip=True))
    b = d.batch(2, 8, seed=0)
    assert b["real"].shape == (8, 5, 1, 16, 16) and b["real"].dtype == torch.float32
    raw = d.to_float(d.x[d.indices(2, 8, 0)])
    flipped = (b["real"] != raw).flatten(1).any(1)
    assert torch.equal(b["real"][flipped], raw[flipped].flip(-1))  # whole clips mirror together


def test_save_load_round_trip(tmp_path):
    over = [a for a in TINY + FAST if a != "--set"]
    cfg = build_config(recipe="next-frame", steps=2, overrides=over)
    keep = {}
    train(cfg, tmp_path / "run", hooks=[lambda st: keep.update(nets=st.nets, recipe=st.recipe)])
    model = gankit.load(tmp_path / "run")
    G = keep["nets"]["G"].eval().to(memory_format=torch.contiguous_format)
    a = keep["recipe"].sample(G, 4, seed=1)
    assert a.shape == (4, 6, 1, 16, 16)
    assert torch.allclose(a, model.sample(4, seed=1), atol=1e-6)
    clips = keep["recipe"].held_out_clips(4, seed=1)
    assert torch.equal(a[:, :3], clips[:, :3])  # the given frames are the held-out clip's


def test_frame_metrics():
    g = torch.Generator().manual_seed(0)
    true = torch.rand(4, 1, 16, 16, generator=g) * 2 - 1
    same = frame_metrics(true, true)
    assert same["ssim"] > 0.99 and same["psnr"] > 40 and abs(same["sharpness"] - 1) < 0.02
    blur = torch.nn.functional.avg_pool2d(true, 3, 1, 1)
    m = frame_metrics(blur, true)
    assert m["sharpness"] < 0.6 and m["psnr"] < same["psnr"] and m["sharp_diff"] < same["sharp_diff"]
    r = rollout_metrics(torch.stack([true, blur], 1), torch.stack([true, true], 1))
    assert len(r["psnr"]) == 2 and r["psnr"][0] > r["psnr"][1]
