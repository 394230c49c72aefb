"""benchmarks/i2i_eval.py: the colour segmenter used to score spade, its scores, the FID rows,
and the script end to end on tiny checkpoints (spade rows + a strip, spade beside pix2pix on
scenes-labels2photo, paired rows with FID, inpainting hole scores and colourfulness)."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

from gankit.data.photos import lowres2highres
from gankit.data.scenes import BACKGROUND, COLORS, _shape_mask, scenes

ROOT = Path(__file__).resolve().parents[1]


def _load_script():
    spec = importlib.util.spec_from_file_location("i2i_eval", ROOT / "benchmarks" / "i2i_eval.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ev = _load_script()


pytestmark = pytest.mark.usefixtures("one_thread")


def _synthetic(res=64):
    """Hard-edged shapes in the scene palette and their label map: kinds 1 circle, 2 square,
    3 triangle, in colours that differ and one pair that shares a colour."""
    c = (torch.arange(res, dtype=torch.float32) + 0.5) / res
    X, Y = c.view(1, 1, res), c.view(1, res, 1)
    label = torch.zeros(2, res, res, dtype=torch.int64)
    colour = torch.zeros(2, res, res, dtype=torch.int64)
    shapes = [(0, 0, 0.25, 0.3, 0.15, 0), (0, 1, 0.7, 0.7, 0.16, 1), (0, 2, 0.7, 0.25, 0.12, 2),
              (1, 2, 0.3, 0.65, 0.18, 3), (1, 0, 0.72, 0.3, 0.11, 3), (1, 1, 0.75, 0.78, 0.1, 2)]
    for i, kind, cx, cy, r, col in shapes:
        m = _shape_mask(kind, X, Y, torch.tensor(cx).view(1, 1, 1), torch.tensor(cy).view(1, 1, 1),
                        torch.tensor(r).view(1, 1, 1))[0]
        label[i][m], colour[i][m] = kind + 1, col + 1
    pal = torch.tensor([BACKGROUND, *COLORS.values()], dtype=torch.uint8)
    return pal[colour].permute(0, 3, 1, 2).contiguous(), label


def test_segmenter_exact_on_synthetic_label_map():
    img, label = _synthetic()
    pred = ev.palette_segment(img)
    assert pred.shape == label.shape
    assert torch.equal(pred, label)
    s = ev.seg_scores(pred, label)
    assert s["pixel_acc"] == 1.0 and s["miou"] == 1.0


def test_segmenter_tolerates_colour_noise_and_drops_specks():
    img, label = _synthetic()
    g = torch.Generator().manual_seed(0)
    noisy = (img.float() + 12 * torch.randn(img.shape, generator=g)).clamp(0, 255).to(torch.uint8)
    noisy[0, :, 60, 2] = torch.tensor(COLORS["red"], dtype=torch.uint8)  # a one-pixel speck
    pred = ev.palette_segment(noisy)
    assert torch.equal(pred, label)


def test_segmenter_on_real_scenes_is_accurate_but_not_perfect():
    """Antialiased 32 px scenes: the rule-based segmenter is the reference row's segmenter."""
    data = scenes(resolution=32, split="test", n=128)
    s = ev.seg_scores(ev.palette_segment(data.x), data.seg[:, 0].long())
    assert s["fg_acc"] > 0.98
    assert s["pixel_acc"] > 0.95
    assert all(v > 0.7 for v in s["iou"])


def test_seg_scores_by_hand():
    pred = torch.tensor([[[0, 1], [2, 2]]])
    target = torch.tensor([[[0, 1], [1, 3]]])
    s = ev.seg_scores(pred, target)
    assert s["pixel_acc"] == 0.5
    assert s["fg_acc"] == 1.0
    assert s["iou"][:3] == [1.0, 0.5, 0.0] and s["iou"][3] == 0.0
    assert s["miou"] == pytest.approx(1.5 / 4)
    assert math.isnan(ev.seg_scores(pred, target, 5)["iou"][4])


def test_fid_rows_zero_for_identical_sets_and_grows_with_blur():
    data = lowres2highres(resolution=64, split="test", n=96)
    real = data.x
    same = ev.fid_rows(real, real)
    assert set(same) == {"fid_randconv", "fid_native"}
    assert abs(same["fid_randconv"]) < 1e-3 and abs(same["fid_native"]) < 1e-3
    def blur(k):
        return torch.nn.functional.avg_pool2d(real.float(), k, 1, k // 2).round().to(torch.uint8)

    b3, b5 = ev.fid_rows(blur(3), real), ev.fid_rows(blur(5), real)
    assert 0.01 < b3["fid_native"] < b5["fid_native"]  # random-conv FIDs are small numbers
    assert 0 < b3["fid_randconv"] < b5["fid_randconv"]


def _tiny(tmp_path, recipe, data, extra=()):
    from gankit.presets import build_config
    from gankit.train import train

    over = ["loop.progress=false", "loop.tensorboard=false", "data.batch_size=4", "data.resolution=16",
            "loop.threads=1", "data.kwargs.n=32", "loop.n_samples=4", *extra]
    cfg = build_config(recipe=recipe, data=data, steps=1, overrides=over)
    out = tmp_path / recipe
    train(cfg, out)
    return out


def test_script_spade_rows_and_strip(tmp_path, capsys):
    ck = _tiny(tmp_path, "spade", "scenes", ["G.kwargs.ngf=8", "G.kwargs.hidden=8", "D.kwargs.ndf=8"])
    strip = tmp_path / "s.png"
    assert ev.main(["--checkpoint", str(ck), "--n", "16", "--json", "--strip", str(strip), "--strip-n", "3"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["recipe"] for r in rows] == ["spade", "real", "all-bg"]
    assert all(r["n"] == 16 and 0 <= r["pixel_acc"] <= 1 for r in rows)
    assert "fid_randconv" in rows[0] and rows[1]["pixel_acc"] > rows[2]["pixel_acc"]
    assert rows[1]["miou"] > 0.6 and rows[2]["iou"][1:] == [0.0, 0.0, 0.0]
    assert strip.stat().st_size > 0


def test_script_pix2pix_on_label_maps_beside_spade(tmp_path, capsys):
    """pix2pix on scenes-labels2photo is scored like spade, on the same held-out maps: its
    outputs are its translations of the held-out one-hot inputs; the reference rows print once."""
    import gankit

    small = ["G.kwargs.ngf=8", "D.kwargs.ndf=8"]
    sp = _tiny(tmp_path, "spade", "scenes", [*small, "G.kwargs.hidden=8"])
    px = _tiny(tmp_path, "pix2pix", "scenes-labels2photo", small)
    model = gankit.load(px)
    data = model.recipe.held_out()
    seg, _ = ev.label_maps(model, 16)
    assert torch.equal(seg, gankit.load(sp).recipe.held_out().seg[:16, 0].long())
    rows, fake = ev.spade_rows(model, 16)  # the old name still works
    from gankit.translate import translate

    assert torch.equal(fake, ev._to_uint8(translate(model, data.to_float(data.a[:16]))))
    assert [r["outputs"] for r in rows] == ["model", "real images", "all background"]

    strip = tmp_path / "both.png"
    assert ev.main(["--checkpoint", str(sp), str(px), "--n", "16", "--json", "--strip", str(strip),
                    "--strip-n", "3"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["recipe"] for r in rows] == ["spade", "real", "all-bg", "pix2pix"]
    assert all(r["n"] == 16 and 0 <= r["miou"] <= 1 for r in rows)
    assert "fid_randconv" in rows[0] and "fid_randconv" in rows[3] and rows[3]["checkpoint"].startswith(str(px))
    from PIL import Image

    with Image.open(strip) as im:  # label map | (generated | segmentation) x 2 | real: 6 columns, 3 rows
        assert 1.8 < im.width / im.height < 2.2
    assert ev.main(["--checkpoint", str(px), "--n", "8"]) == 0  # alone: its own reference rows
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["pix2pix", "real", "all-bg"] and "mIoU" in out[0]


def test_script_paired_rows_with_fid_and_baseline(tmp_path, capsys):
    ck = _tiny(tmp_path, "srresnet", "lowres2highres", ["G.kwargs.ngf=8", "G.kwargs.n_blocks=1", "D.kwargs.ndf=8"])
    strip = tmp_path / "sr.png"
    assert ev.main(["--checkpoint", str(ck), "--n", "8", "--baseline", "--fid", "--strip", str(strip)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["srresnet", "inputs"]
    assert all("FID randconv" in line and "FID native" in line for line in out)
    assert strip.stat().st_size > 0


def test_script_inpainting_and_colourisation_rows(tmp_path, capsys):
    """pix2pix on masked2photo: hole L1 / PSNR for the model and for the inputs (gray fill);
    pix2pix on gray2color: colourfulness, the gray inputs at 0. In --json and in the text rows."""
    small = ["G.kwargs.ngf=8", "D.kwargs.ndf=8"]
    inp = _tiny(tmp_path / "inpaint", "pix2pix", "masked2photo", small)
    col = _tiny(tmp_path / "colour", "pix2pix", "gray2color", small)
    assert ev.main(["--checkpoint", str(inp), str(col), "--n", "8", "--baseline", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["recipe"] for r in rows] == ["pix2pix", "inputs"] * 2
    hole_keys = {"hole_l1", "hole_psnr"}
    colour_keys = {"colourfulness", "colourfulness_target", "colourfulness_ratio"}
    for r in rows:
        assert colour_keys <= set(r) and r["colourfulness_target"] > 0
    for r in rows[:2]:  # inpainting: the error inside the hole is larger than over the whole crop
        assert hole_keys <= set(r) and r["hole_l1"] > r["l1"] > 0 and 0 < r["hole_psnr"] < r["psnr"]
    assert not hole_keys & set(rows[2]) and not hole_keys & set(rows[3])
    assert rows[3]["colourfulness"] == 0 and rows[3]["colourfulness_ratio"] == 0  # gray as RGB
    assert ev.main(["--checkpoint", str(inp), str(col), "--n", "8", "--baseline"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["pix2pix", "inputs"] * 2
    assert all("hole L1" in line and "dB" in line for line in out[:2])
    assert not any("hole" in line for line in out[2:])
    assert all("colourful" in line for line in out) and "colourful 0.0 (x0.00)" in out[3]


def test_script_refuses_non_scene_label_maps(tmp_path, capsys):
    ck = _tiny(tmp_path, "spade", "scenes", ["G.kwargs.ngf=8", "G.kwargs.hidden=8", "D.kwargs.ndf=8",
                                              "data.kwargs.seg=kind_color"])
    assert ev.main(["--checkpoint", str(ck), "--n", "4"]) == 2
    assert "seg=kind" in capsys.readouterr().err


def test_flat2shaded_paired_switch_pairs_the_train_split():
    """data.kwargs.paired=true (the pix2pix upper bound's data): same scenes both ways."""
    from gankit.data.scenes import scenes_flat2shaded

    u = scenes_flat2shaded(resolution=32, n=16)
    p = scenes_flat2shaded(resolution=32, n=16, paired=True)
    assert (u.kind, p.kind) == ("unpaired", "paired")
    assert torch.equal(p.x, u.x) and not torch.equal(p.a, u.a)
    fg = ev.palette_segment(p.a) > 0  # the flat inputs' shapes sit where the targets' labels say
    assert ((fg == (p.seg[:, 0] > 0)).float().mean()) > 0.98
    assert ((ev.palette_segment(u.a) > 0) == (u.seg[:, 0] > 0)).float().mean() < 0.95
