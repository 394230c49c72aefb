"""``gankit translate`` and :mod:`gankit.translate`: every kind of translation model trained a
few steps from the CLI, run on small folders of PNGs the test writes; and the error paths."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.errors import UserError
from gankit.translate import read_input, translate

FAST = ["--set", "loop.progress=false", "--set", "loop.tensorboard=false", "--set", "data.batch_size=4",
        "--set", "data.resolution=16", "--set", "loop.threads=1", "--set", "loop.n_samples=4"]
RUNS = {  # kind -> (recipe, data, extra --set values)
    "pix2pix": ("pix2pix", "masked2photo", ["G.kwargs.ngf=8", "D.kwargs.ndf=8", "data.kwargs.n=32"]),
    "cyclegan": ("cyclegan", "scenes-flat2shaded", ["G.kwargs.ngf=8", "D.kwargs.ndf=8",
                                                    "data.kwargs.n=32"]),
    "stargan": ("stargan", "digits", ["G.kwargs.ngf=8", "G.kwargs.n_blocks=1", "D.kwargs.ndf=8", "loop.d_steps=1"]),
    "srgan": ("srgan", "lowres2highres", ["G.kwargs.ngf=8", "G.kwargs.n_blocks=1", "D.kwargs.ndf=8",
                                          "data.kwargs.n=32"]),
    "spade": ("spade", "scenes", ["G.kwargs.ngf=8", "G.kwargs.hidden=8", "D.kwargs.ndf=8", "data.kwargs.n=32"]),
    "l1-only": ("l1-only", "gray2color", ["G.kwargs.ngf=8", "options.critic=false", "data.kwargs.n=32"]),
    "srresnet": ("srresnet", "lowres2highres", ["G.kwargs.ngf=8", "G.kwargs.n_blocks=1", "D.kwargs.ndf=8",
                                                "data.kwargs.n=32"]),
    "dcgan": ("dcgan", "digits", ["G.kwargs.ngf=8", "D.kwargs.ndf=8"]),
}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One 2-step run of each kind, trained through the CLI."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for kind, (recipe, data, extra) in RUNS.items():
        sets = [a for e in extra for a in ("--set", e)]
        assert main(["train", "--recipe", recipe, "--data", data, "--steps", "2", "--out", str(root / kind),
                     *FAST, *sets]) == 0
        out[kind] = root / kind
    return out


def _png(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    """Folders of PNGs of assorted sizes: RGB, gray, RGBA with a hole, label maps, A/B pairs."""
    root = tmp_path_factory.mktemp("pics")
    rng = np.random.default_rng(0)
    _png(root / "rgb" / "wide.png", rng.integers(0, 256, (20, 45, 3), dtype=np.uint8))
    _png(root / "rgb" / "sub" / "gray.png", rng.integers(0, 256, (64, 64), dtype=np.uint8))
    _png(root / "rgb" / "tiny.png", rng.integers(0, 256, (3, 5, 3), dtype=np.uint8))
    holed = rng.integers(0, 256, (40, 40, 4), dtype=np.uint8)
    holed[..., 3] = 255
    holed[10:20, 10:30, 3] = 0  # transparent = the hole to fill
    _png(root / "pairs" / "A" / "p0.png", holed)
    _png(root / "pairs" / "B" / "p0.png", rng.integers(0, 256, (40, 40, 3), dtype=np.uint8))
    _png(root / "pairs" / "A" / "p1.png", holed)
    _png(root / "pairs" / "B" / "p1.png", rng.integers(0, 256, (40, 40, 3), dtype=np.uint8))
    _png(root / "labels" / "l0.png", rng.integers(0, 4, (24, 30), dtype=np.uint8))
    _png(root / "labels" / "l1.png", np.zeros((16, 16), np.uint8))
    _png(root / "bad_labels" / "l.png", np.full((16, 16), 9, np.uint8))
    (root / "empty").mkdir()
    (root / "notes.txt").write_text("not an image")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    return root


def _outputs(d):
    return sorted(p.name for p in d.glob("*.png"))


@pytest.mark.parametrize("kind, folder, expected", [
    ("pix2pix", "pairs", ["p0.png", "p0_strip.png", "p1.png", "p1_strip.png"]),
    ("cyclegan", "rgb", ["sub_gray.png", "tiny.png", "wide.png"]),
    ("spade", "labels", ["l0.png", "l1.png"]),
    ("l1-only", "rgb", ["sub_gray.png", "tiny.png", "wide.png"]),  # a G-only checkpoint
])
def test_translate_writes_outputs(runs, pictures, tmp_path, kind, folder, expected, capsys):
    out = tmp_path / "out"
    assert main(["translate", "--checkpoint", str(runs[kind]), "--input", str(pictures / folder),
                 "--out", str(out)]) == 0
    assert _outputs(out) == expected
    model = gankit.load(runs[kind])
    with Image.open(out / expected[0]) as im:
        assert im.size == (16, 16)  # the model's output resolution
        got = np.asarray(im)
        assert im.text["gankit:synthetic"] == "true" and len(im.text["gankit:checkpoint_sha256"]) == 64
    # the CLI's file equals the library's translation of the same prepared input
    first = min((pictures / folder).rglob("*.png"))
    x = read_input(first, model.recipe.input_spec())
    y = translate(model, x)[0]
    want = ((y.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    assert np.array_equal(got.reshape(want.shape), want)
    if kind == "pix2pix":  # input | output | target, upscaled for viewing
        with Image.open(out / "p0_strip.png") as im:
            assert im.width > 2.5 * im.height and im.text["gankit:recipe"] == "pix2pix"
    assert "translated:" in capsys.readouterr().out


def test_masked_input_marks_the_transparent_hole(runs, pictures):
    x = read_input(pictures / "pairs" / "A" / "p0.png", gankit.load(runs["pix2pix"]).recipe.input_spec())
    assert x.shape == (1, 4, 16, 16)
    hole = x[0, 3] > 0
    assert hole.sum() > 0 and (x[0, :3][:, hole].abs() < 0.01).all()  # holes are mid-gray


def test_cyclegan_both_directions_and_stargan_domains(runs, pictures, tmp_path):
    assert main(["translate", "--checkpoint", str(runs["cyclegan"]), "--input", str(pictures / "rgb" / "wide.png"),
                 "--out", str(tmp_path / "ba"), "--direction", "BtoA"]) == 0
    assert _outputs(tmp_path / "ba") == ["wide.png"]
    assert main(["translate", "--checkpoint", str(runs["stargan"]), "--input", str(pictures / "rgb"),
                 "--out", str(tmp_path / "all")]) == 0
    assert len(_outputs(tmp_path / "all")) == 3 * 10  # one per digit domain
    assert main(["translate", "--checkpoint", str(runs["stargan"]), "--input", str(pictures / "rgb"),
                 "--out", str(tmp_path / "one"), "--domain", "7"]) == 0
    assert _outputs(tmp_path / "one") == ["sub_gray.png", "tiny.png", "wide.png"]
    with Image.open(tmp_path / "one" / "wide.png") as a, Image.open(tmp_path / "all" / "wide_d7.png") as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("kind, input, extra, message", [
    ("dcgan", "rgb", [], "not an image-to-image model"),
    ("pix2pix", "empty", [], "holds no image files"),
    ("pix2pix", "notes.txt", [], "not a readable image"),
    ("pix2pix", "broken.png", [], "broken.png: not a readable image"),
    ("pix2pix", "missing", [], "no such file or folder"),
    ("pix2pix", "rgb", ["--direction", "BtoA"], "translates AtoB only"),
    ("pix2pix", "rgb", ["--domain", "1"], "no domains"),
    ("stargan", "rgb", ["--domain", "10"], "--domain must be in 0..9"),
    ("spade", "rgb/wide.png", [], "needs a label map"),
    ("spade", "bad_labels", [], "label ids must be in 0..3"),
])
def test_errors_exit_2(runs, pictures, tmp_path, capsys, kind, input, extra, message):
    rc = main(["translate", "--checkpoint", str(runs[kind]), "--input", str(pictures / input),
               "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1, err


def test_paired_metrics(runs):
    from gankit.translate import gradient_magnitude, paired_metrics, ssim

    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(ssim(x, x), torch.ones(2))
    blurred = torch.nn.functional.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    assert (gradient_magnitude(blurred) < gradient_magnitude(x)).all() and (ssim(blurred, x) < 1).all()
    m = paired_metrics(gankit.load(runs["pix2pix"]), n=6)
    assert m["n"] == 6 and 0 < m["l1"] < 1 and m["psnr"] > 0 and -1 < m["ssim"] < 1 and m["sharpness"] > 0
    base = paired_metrics(gankit.load(runs["pix2pix"]), n=6, baseline=True)  # the holed inputs themselves
    assert base["outputs"] == "inputs" and base["ssim"] > m["ssim"] and base["l1"] < m["l1"]
    for r in (m, base):  # masked2photo: RGB outputs and a hole
        assert {"colourfulness", "colourfulness_target", "colourfulness_ratio", "hole_l1", "hole_psnr"} <= set(r)
        assert r["hole_l1"] > r["l1"] and 0 < r["hole_psnr"] < r["psnr"]
    assert base["colourfulness_target"] == m["colourfulness_target"] > 0


def test_colourfulness_by_hand():
    """Hasler & Suesstrunk 2003: M = sigma_rgyb + 0.3 mu_rgyb, rg = R - G, yb = (R + G) / 2 - B."""
    from gankit.translate import colourfulness

    g = torch.Generator().manual_seed(0)
    gray = torch.rand(2, 1, 8, 8, generator=g).expand(-1, 3, -1, -1)
    assert torch.equal(colourfulness(gray), torch.zeros(2))
    red = torch.tensor([1.0, 0, 0]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    # pure red (255, 0, 0): rg = 255, yb = 127.5, no spread
    assert colourfulness(red).item() == pytest.approx(0.3 * math.hypot(255, 127.5), rel=1e-6)
    # half red, half blue (0, 0, 255): rg in {255, 0}, yb in {127.5, -255}
    # mu_rg = 127.5, sigma_rg = 127.5; mu_yb = -63.75, sigma_yb = 191.25
    two = red.clone()
    two[:, :, :, 2:] = torch.tensor([0.0, 0, 1]).view(1, 3, 1, 1)
    expected = math.hypot(127.5, 191.25) + 0.3 * math.hypot(127.5, 63.75)  # 272.62
    assert colourfulness(two).item() == pytest.approx(expected, rel=1e-6)
    assert colourfulness(torch.cat([gray[:1, :, :4, :4], two])).tolist() == pytest.approx([0, expected], rel=1e-6)
    with pytest.raises(ValueError, match="RGB"):
        colourfulness(torch.rand(1, 1, 4, 4))


def test_hole_errors_count_only_the_hole():
    from gankit.translate import hole_errors

    t = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    hole = torch.zeros(2, 1, 8, 8, dtype=torch.bool)
    hole[0, :, 2:5, 1:7] = True  # image 1 has no hole
    inside = torch.where(hole, t, 1 - t)  # perfect in the hole, wrong outside
    outside = torch.where(hole, 1 - t, t)  # the reverse
    a, q, c = hole_errors(inside, t, hole)
    assert a.tolist() == [0, 0] and q.tolist() == [0, 0] and c.tolist() == [3 * 18, 0]
    a, q, c = hole_errors(outside, t, hole)
    assert a[0].item() == pytest.approx(float((1 - 2 * t[0, :, 2:5, 1:7]).abs().sum()), rel=1e-5)
    assert q[0].item() == pytest.approx(float((1 - 2 * t[0, :, 2:5, 1:7]).pow(2).sum()), rel=1e-5)
    assert a[1].item() == 0 and c[1].item() == 0


def test_paired_metrics_hole_scores_only_inside_the_hole(runs, monkeypatch):
    """An output that is perfect inside the hole and wrong outside scores hole_l1 0 (and the
    reverse scores all of its error there); the inputs row is the gray fill's error."""
    import gankit.translate as tr

    model = gankit.load(runs["pix2pix"])  # masked2photo
    data = model.recipe.held_out()
    n = 6
    t = data.x[:n].float() / 255
    hole = data.a[:n, 3:4] == 255
    count = float(hole.expand_as(t).sum())

    def fake(where_right):
        def translate(model, x, direction="AtoB", domain=None, seed=0):
            good = data.to_float(data.x[:len(x)])
            return torch.where(where_right, good, -good)
        return translate

    monkeypatch.setattr(tr, "translate", fake(hole))  # right in the hole only
    m = tr.paired_metrics(model, n=n)
    assert m["hole_l1"] == 0 and m["hole_psnr"] == pytest.approx(100) and m["l1"] > 0.05
    monkeypatch.setattr(tr, "translate", fake(~hole))  # right outside the hole only
    m = tr.paired_metrics(model, n=n)
    assert m["hole_l1"] > 0.05 and m["psnr"] < 100
    assert m["hole_l1"] * count == pytest.approx(m["l1"] * t.numel(), rel=1e-4)  # all the error is in the hole
    y = 1 - t  # in the hole the output is -good: 1 - t in [0, 1]
    mse = ((y - t) ** 2 * hole).flatten(1).sum(1) / (hole.flatten(1).sum(1) * 3)
    assert m["hole_psnr"] == pytest.approx(float((10 * torch.log10(1 / mse)).mean()), rel=1e-4)
    monkeypatch.undo()
    base = tr.paired_metrics(model, n=n, baseline=True)  # the gray fill (128) inside the hole
    gray_err = float(((128 / 255 - t).abs() * hole).sum()) / count
    assert base["hole_l1"] == pytest.approx(gray_err, rel=1e-5)
    assert base["hole_l1"] * count == pytest.approx(base["l1"] * t.numel(), rel=1e-4)  # exact outside


def test_paired_metrics_colourfulness_of_colourisation(runs):
    """gray2color: the gray inputs score 0 (ratio 0); the targets are colour photos; no hole keys."""
    from gankit.translate import colourfulness, paired_metrics

    model = gankit.load(runs["l1-only"])  # gray2color
    base, m = paired_metrics(model, n=6, baseline=True), paired_metrics(model, n=6)
    assert base["colourfulness"] == 0 and base["colourfulness_ratio"] == 0
    t = model.recipe.held_out().x[:6].float() / 255
    assert m["colourfulness_target"] == pytest.approx(float(colourfulness(t).mean()), rel=1e-5)
    assert m["colourfulness_target"] > 5 and m["colourfulness_ratio"] >= 0
    assert m["colourfulness_ratio"] == pytest.approx(m["colourfulness"] / m["colourfulness_target"])
    assert "hole_l1" not in m and "hole_psnr" not in m


def test_nyquist_energy_measures_a_checkerboard():
    """A PixelShuffle-style period-2 pattern lands in the Nyquist bins; smooth content and a
    nearest-neighbour 2x upsampling (ICNR's output at step 0) put almost nothing there."""
    from gankit.translate import nyquist_energy

    g = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.interpolate(torch.rand(3, 3, 8, 8, generator=g), size=32, mode="bilinear")
    i, j = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    checker = (smooth + 0.05 * (((i + j) % 2) * 2 - 1)).clamp(0, 1)  # amplitude 0.05 (13 of 255 levels)
    nearest = torch.nn.functional.interpolate(torch.rand(3, 3, 16, 16, generator=g), scale_factor=2)
    assert (nyquist_energy(checker) > 100 * nyquist_energy(smooth)).all()
    assert torch.allclose(nyquist_energy(checker), torch.full((3,), 0.05 ** 2), rtol=0.1)
    assert (nyquist_energy(nearest) < 1e-3 * nyquist_energy(checker)).all()


@pytest.mark.parametrize("kind", ["srgan", "srresnet"])
def test_super_resolution_upscales_any_size(runs, pictures, tmp_path, kind):
    """A super-resolution checkpoint (trained on 4 -> 16 px crops) upscales every file at its own
    size by its factor (fully convolutional), as the library's upscale does; a strip with a target."""
    from gankit.translate import read_native, upscale

    out = tmp_path / "out"
    assert main(["translate", "--checkpoint", str(runs[kind]), "--input", str(pictures / "rgb"),
                 "--out", str(out)]) == 0
    assert _outputs(out) == ["sub_gray.png", "tiny.png", "wide.png"]
    sizes = {}
    for name in ("sub_gray", "tiny", "wide"):
        with Image.open(out / f"{name}.png") as im:
            sizes[name] = im.size
            got = np.asarray(im)
    assert sizes == {"sub_gray": (256, 256), "tiny": (20, 12), "wide": (180, 80)}  # (w, h) x 4
    y = upscale(gankit.load(runs[kind]), read_native(pictures / "rgb" / "wide.png", 3))[0]
    want = ((y.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    assert np.array_equal(got, want)
    assert main(["translate", "--checkpoint", str(runs[kind]), "--input", str(pictures / "pairs"),
                 "--out", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "p0_strip.png").is_file()


def test_upscale_in_tiles_equals_the_whole_image(runs):
    """Tiles with enough context reproduce the whole-image output (bounded memory, no seams)."""
    from gankit.translate import upscale

    model = gankit.load(runs["srresnet"])
    x = torch.rand(1, 3, 20, 12, generator=torch.Generator().manual_seed(0)) * 2 - 1
    whole, tiled = upscale(model, x), upscale(model, x, tile=8, pad=24)
    assert tiled.shape == (1, 3, 80, 48) and torch.allclose(whole, tiled, atol=1e-5)
    with pytest.raises(UserError, match="super-resolution"):
        upscale(gankit.load(runs["pix2pix"]), x)


def test_whole_photo_metrics(runs):
    """Whole held-out photo strips, luma PSNR/SSIM with the border cropped, bicubic as baseline."""
    from gankit.superres import held_out_photos, luma, whole_photo_metrics

    assert torch.allclose(luma(torch.ones(1, 3, 2, 2)), torch.full((1, 1, 2, 2), 235 / 255))
    photos = held_out_photos(16, 64, 4)
    assert len(photos) == 9 and all(p.shape[-1] % 4 == 0 and p.shape[-2] % 4 == 0 for _, p in photos)
    model = gankit.load(runs["srresnet"])
    bic, m = whole_photo_metrics(model, baseline=True), whole_photo_metrics(model)
    assert bic["outputs"] == "bicubic" and m["outputs"] == "model" and m["border"] == 4
    assert len(m["photos"]) == 9 and bic["psnr_y"] > 20 and 0 < bic["ssim_y"] <= 1
    assert m["psnr_y"] < bic["psnr_y"]  # a 2-step model is no match for bicubic
    assert 0 < bic["sharpness"] < 1 and bic["checkerboard"] > 0  # bicubic is blurrier than the photos
