"""Latent tools (gankit.latent): interpolate, invert, directions, edit, InfoGAN code grids,
on tiny models trained here for a few steps."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit import viz
from gankit.cli import main
from gankit.presets import build_config
from gankit.train import train

FAST = ["loop.progress=false", "loop.tensorboard=false", "loop.threads=1", "loop.log_every=1", "loop.n_samples=4",
        "data.batch_size=8", "loop.precision=fp32"]
DCGAN = ["G.kwargs.ngf=8", "D.kwargs.ndf=8", "data.resolution=16"]
SG2 = ["data.resolution=16", "G.kwargs.z_dim=16", "G.kwargs.w_dim=16", "G.kwargs.mapping_layers=2",
       "G.kwargs.channel_base=64", "G.kwargs.channel_max=16", "D.kwargs.channel_base=64", "D.kwargs.channel_max=16",
       "loss.kwargs.r1={weight: 0.05, interval: 2}", "options.pl_interval=2", "loop.ema=0.9"]
INFOGAN = ["data.resolution=16", "G.kwargs.ngf=8", "D.kwargs.ndf=8"]


def _train(root, name, recipe, data, steps, extra):
    run = root / name
    train(build_config(recipe=recipe, data=data, steps=steps, overrides=FAST + extra), run)
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("latent")
    return {"dcgan": _train(root, "dcgan", "dcgan", "digits", 3, DCGAN)}


@pytest.fixture(scope="module")
def sg2(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("latent_sg2"), "sg2", "stylegan2", "digits", 2, SG2)


def _png(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def _seed_image(run, seed: int) -> np.ndarray:
    """What the recipe samples for a seed (the convention the latent tools follow)."""
    m = gankit.load(run)
    with torch.no_grad():
        x = m.recipe.sample(m.generator, 1, seed)
    im = viz.to_uint8_images(x)[0]
    return im[..., 0] if im.shape[-1] == 1 else im


def test_interpolate_writes_frames_strip_and_gif(runs, tmp_path, capsys):
    out = tmp_path / "walk"
    assert main(["interpolate", "--checkpoint", str(runs["dcgan"]), "--seeds", "3,7,11", "--steps", "4",
                 "--out", str(out)]) == 0
    frames = sorted(out.glob("frame_*.png"))
    assert len(frames) == (3 - 1) * (4 - 1) + 1
    assert (out / "strip.png").is_file()
    with Image.open(out / "interpolation.gif") as g:
        assert g.n_frames == 2 * len(frames) - 2  # there and back
    meta = Image.open(frames[0]).text
    assert meta["gankit:synthetic"] == "true" and meta["gankit:seeds"] == "3,7,11" and meta["gankit:space"] == "z"
    # the endpoints are the seeds' own samples
    assert np.array_equal(_png(frames[0]), _seed_image(runs["dcgan"], 3))
    assert np.array_equal(_png(frames[3]), _seed_image(runs["dcgan"], 7))
    assert not np.array_equal(_png(frames[1]), _png(frames[0]))
    gif = tmp_path / "a.gif"
    assert main(["interpolate", "--checkpoint", str(runs["dcgan"]), "--seeds", "1,2", "--steps", "3",
                 "--method", "lerp", "--out", str(gif)]) == 0
    assert gif.is_file() and not list(tmp_path.glob("frame_*"))


def test_interpolate_w_space_needs_a_style_generator(runs, tmp_path, capsys):
    assert main(["interpolate", "--checkpoint", str(runs["dcgan"]), "--seeds", "1,2", "--steps", "3",
                 "--space", "w", "--out", str(tmp_path / "x.gif")]) == 2
    err = capsys.readouterr().err
    assert "w space" in err and "dcgan" in err and len(err.strip().splitlines()) == 1


def test_stylegan2_w_interpolation_and_truncation(sg2, tmp_path):
    out = tmp_path / "w"
    assert main(["interpolate", "--checkpoint", str(sg2), "--seeds", "1,2", "--steps", "3", "--space", "w",
                 "--truncation", "0.7", "--out", str(out)]) == 0
    m = gankit.load(sg2)
    with torch.no_grad():
        x = m.recipe.sample(m.generator, 1, 2, truncation=0.7)  # psi towards w_avg, as `gankit sample`
    assert np.array_equal(_png(out / "frame_0002.png"), viz.to_uint8_images(x)[0][..., 0])


def _generated_target(run, path, seed=123):
    viz.save_image(viz.to_uint8_images(torch.from_numpy(_seed_image(run, seed)).float()[None, None] / 127.5 - 1)[0],
                   path)


def test_invert_reconstructs_a_generated_image(runs, tmp_path, capsys):
    """Target = G(z*) of an unseen seed: optimisation must get far below the best random start."""
    target = tmp_path / "target.png"
    _generated_target(runs["dcgan"], target)
    out = tmp_path / "inv"
    assert main(["invert", "--checkpoint", str(runs["dcgan"]), "--input", str(target), "--out", str(out),
                 "--steps", "150", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["mse"] < 0.5 * res["mse_start"], res
    assert res["psnr"] > res["psnr_start"] + 3
    for f in ("recon.png", "strip.png", "latent.npy", "latent.safetensors", "invert.json"):
        assert (out / f).is_file(), f
    assert np.load(out / "latent.npy").shape == (1, 100)
    # the saved latent reproduces the written reconstruction
    m = gankit.load(runs["dcgan"])
    with torch.no_grad():
        x = m.generator(torch.from_numpy(np.load(out / "latent.npy")), None)
    assert np.abs(viz.to_uint8_images(x)[0][..., 0].astype(int) - _png(out / "recon.png").astype(int)).max() <= 1


def test_invert_w_plus_and_folder_input(sg2, tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    _generated_target(sg2, folder / "a.png", 5)
    Image.fromarray(np.full((40, 30, 3), 200, np.uint8)).save(folder / "b.png")  # RGB, other size: converted
    out = tmp_path / "inv"
    assert main(["invert", "--checkpoint", str(sg2), "--input", str(folder), "--out", str(out), "--space", "w+",
                 "--steps", "30", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["images"] == 2 and res["mse"] < res["mse_start"]
    assert np.load(out / "latent.npy").shape == (2, gankit.load(sg2).generator.num_ws, 16)
    assert {p.name for p in (out / "recon").iterdir()} == {"a.png", "b.png"}


def test_directions_and_edit(runs, tmp_path, capsys):
    dfile = tmp_path / "dirs.safetensors"
    assert main(["directions", "--checkpoint", str(runs["dcgan"]), "--out", str(dfile), "--n", "300",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    from gankit.latent import edit_effect, load_directions

    dirs, meta = load_directions(dfile)
    present = [k for k, c in enumerate(res["class_counts"]) if 5 <= c <= 300 - 5]
    expected = {"thickness"} | ({"thickness_keep_class"} if present else set()) | {f"class{k}" for k in present} | {f"class{a}_to_{b}" for a in present
                                                                 for b in present if a != b}
    assert set(dirs) == expected and meta["gankit:space"] == "z"
    assert all(d.shape == (100,) for d in dirs.values())
    # the thickness direction does what it says on samples it was not fitted on
    rows = edit_effect(gankit.load(runs["dcgan"]), dirs, "thickness", [-2, 0, 2], n=64, seed=99)
    assert rows[0]["thickness"] < rows[1]["thickness"] < rows[2]["thickness"]

    out = tmp_path / "edit"
    assert main(["edit", "--checkpoint", str(runs["dcgan"]), "--seed", "5,6", "--directions", str(dfile),
                 "--direction", "thickness", "--strength", "3", "--steps", "3", "--out", str(out)]) == 0
    assert (out / "strip.png").is_file()
    assert np.array_equal(_png(out / "seed5_00.png"), _seed_image(runs["dcgan"], 5))  # strength 0 = unedited
    assert not np.array_equal(_png(out / "seed5_02.png"), _png(out / "seed5_00.png"))
    assert Image.open(out / "seed5_02.png").text["gankit:strength"] == "3.0"
    ink = json.loads((out / "edit.json").read_text())["frames"]
    assert ink[0]["thickness"][0] < ink[2]["thickness"][0]

    capsys.readouterr()
    assert main(["edit", "--checkpoint", str(runs["dcgan"]), "--seed", "1", "--directions", str(dfile),
                 "--direction", "class42", "--strength", "1", "--out", str(tmp_path / "e2")]) == 2
    assert "class42" in capsys.readouterr().err
    assert main(["edit", "--checkpoint", str(runs["dcgan"]), "--seed", "1", "--directions",
                 str(tmp_path / "missing.safetensors"), "--direction", "thickness", "--strength", "1",
                 "--out", str(tmp_path / "e3")]) == 2
    assert "missing.safetensors" in capsys.readouterr().err


def test_edit_an_input_image_inverts_first(runs, tmp_path):
    dfile = tmp_path / "dirs.safetensors"
    from gankit.latent import write_directions

    write_directions(gankit.load(runs["dcgan"]), dfile, n=100)
    target = tmp_path / "t.png"
    _generated_target(runs["dcgan"], target, 8)
    out = tmp_path / "e"
    assert main(["edit", "--checkpoint", str(runs["dcgan"]), "--input", str(target), "--directions", str(dfile),
                 "--direction", "thickness", "--strength", "2", "--invert-steps", "20", "--out", str(out)]) == 0
    strip = _png(out / "strip.png")
    assert strip.shape[1] > strip.shape[0] * 2  # one row: target | strength 0 | strength 2


def test_wrong_kinds_and_missing_files_exit_2(runs, tmp_path, capsys):
    points = _train(tmp_path, "pts", "gan", "ring8", 2, [])
    for argv in (["interpolate", "--seeds", "1,2", "--out", str(tmp_path / "a.gif")],
                 ["invert", "--input", str(tmp_path / "none.png"), "--out", str(tmp_path / "i")],
                 ["directions", "--out", str(tmp_path / "d.safetensors")]):
        capsys.readouterr()
        assert main([argv[0], "--checkpoint", str(points), *argv[1:]]) == 2
        err = capsys.readouterr().err.strip()
        assert "noise-to-image" in err and "points" in err and len(err.splitlines()) == 1
    assert main(["invert", "--checkpoint", str(runs["dcgan"]), "--input", str(tmp_path / "none.png"),
                 "--out", str(tmp_path / "i")]) == 2
    assert "none.png" in capsys.readouterr().err
    assert main(["sample", "--checkpoint", str(runs["dcgan"]), "--code-grid", "--out", str(tmp_path / "g")]) == 2
    assert "InfoGAN" in capsys.readouterr().err


def test_infogan_code_grid(tmp_path, capsys):
    run = _train(tmp_path, "info", "infogan", "digits", 2, INFOGAN)
    out = tmp_path / "codes"
    assert main(["sample", "--checkpoint", str(run), "--code-grid", "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"code_cat0.png", "code_cont0.png", "code_cont1.png"}
    from gankit.latent import code_grids

    grids = code_grids(gankit.load(run), rows=3)
    assert grids["cat0"].shape[:2] == (3, 10) and grids["cont1"].shape[:2] == (3, 9)
    # a column varies only its code: rows differ (noise), columns differ (the code)
    assert not torch.equal(grids["cat0"][0, 0], grids["cat0"][0, 5])
    assert not torch.equal(grids["cont0"][0, 0], grids["cont0"][1, 0])


def test_slerp_ends_norm_and_parallel_rows():
    from gankit.latent import slerp

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 16, generator=g), torch.randn(3, 16, generator=g)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-5) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    b = b / b.norm(dim=1, keepdim=True) * a.norm(dim=1, keepdim=True)
    mid = slerp(a, b, 0.5)
    assert torch.allclose(mid.norm(dim=1), a.norm(dim=1), rtol=1e-4)  # stays on the sphere
    assert (mid.norm(dim=1) > torch.lerp(a, b, 0.5).norm(dim=1)).all()  # where lerp cuts inside it
    same = slerp(a[:1], 2 * a[:1], 0.5)  # parallel: lerp's point
    assert torch.allclose(same, 1.5 * a[:1], atol=1e-5)


def test_load_directions_json_and_files_without_space(tmp_path):
    from safetensors.torch import save_file

    from gankit.errors import UserError
    from gankit.latent import load_directions

    j = tmp_path / "d.json"
    j.write_text(json.dumps({"space": "w", "directions": {"a": [1.0, 2.0], "b": [0.0, -1.0]}}))
    dirs, meta = load_directions(j)
    assert meta["gankit:space"] == "w" and dirs["a"].tolist() == [1.0, 2.0] and sorted(dirs) == ["a", "b"]
    bare = tmp_path / "bare.safetensors"
    save_file({"x": torch.ones(3)}, str(bare))
    with pytest.raises(UserError, match="no gankit:space metadata"):
        load_directions(bare)  # `gankit edit` keeps refusing a file that does not say its space
    assert load_directions(bare, default_space="z")[1]["gankit:space"] == "z"
    save_file({"x": torch.ones(3)}, str(bare), metadata={"space": "w"})
    assert load_directions(bare)[1]["gankit:space"] == "w"
    j.write_text(json.dumps({"space": "q", "directions": {}}))
    with pytest.raises(UserError, match="space must be z or w"):
        load_directions(j)
    j.write_text("{broken")
    with pytest.raises(UserError, match="not a directions file"):
        load_directions(j)
