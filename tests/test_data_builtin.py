"""Built-in datasets: every registered one builds offline with the promised shapes, labels and
splits; image/points datasets train two steps through the CLI; paired/unpaired ones batch right."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gankit.cli import main
from gankit.config import DataConfig
from gankit.data import load_data
from gankit.data.base import Data, convert_channels
from gankit.presets import build_config
from gankit.registry import DATASETS, RECIPES

ALL = list(DATASETS)
SMALL = {"photos": {"n": 64}, "edges2photo": {"n": 32}, "gray2color": {"n": 32}, "lowres2highres": {"n": 32},
         "masked2photo": {"n": 32}, "scenes": {"n": 64}, "scenes-flat2shaded": {"n": 32},
         "scenes-labels2photo": {"n": 64},
         "stacked-digits": {"n": 512}, "ring8": {"n": 1000}, "grid25": {"n": 1000}, "spiral": {"n": 1000},
         "moons": {"n": 1000}, "bach-chorales": {"limit": 12}, "folk-melodies": {"limit": 1},
         "folk-melodies-tokens": {"limit": 1}}


def build(name, resolution=32, split="train", **kw):
    return DATASETS.get(name)(resolution=resolution, split=split, **{**SMALL.get(name, {}), **kw})


@pytest.mark.parametrize("name", ALL)
def test_builtin_shapes_and_determinism(name):
    d = build(name)
    assert isinstance(d, Data) and len(d) > 0
    if d.kind == "points":
        assert d.x.dtype == torch.float32 and d.x.dim() == 2
    elif d.kind in ("images", "paired", "unpaired"):
        assert d.x.dtype == torch.uint8 and tuple(d.x.shape[-2:]) == (32, 32)
    # other modalities (text, tabular, sequences, video) are checked by their own tests
    if d.y is not None:
        assert d.y.dtype == torch.int64 and 0 <= int(d.y.min()) and int(d.y.max()) < d.num_classes
    again = build(name)  # seeded: the same arguments give the same data
    assert torch.equal(d.x, again.x)
    test = build(name, split="test")
    assert len(test) > 0 and test.shape == d.shape
    spec = DATASETS.get(name)
    # every dataset has a recipe that can train on it, or is paired/unpaired (recipes come later)
    assert spec.recipe in RECIPES or d.kind in ("paired", "unpaired")
    assert spec.description and "\n" not in spec.description


def test_data_list_shows_every_dataset(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in ALL:
        assert name in out
    assert "1x16x16->3x64x64" not in out and "3x8x8->3x32x32" in out  # lowres input at R/4


# ------------------------------------------------------------------- 2D
@pytest.mark.parametrize("name", ["spiral", "moons"])
def test_manifolds_are_near_their_curve(name):
    d = build(name)
    curve = torch.tensor(d.info["curve"], dtype=torch.float64)
    dist = torch.cdist(d.x.double(), curve).min(1).values
    std = d.info["std"]
    assert float(dist.median()) < 2 * std  # most points lie within noise of the curve
    assert not torch.equal(d.x[:100], build(name, split="test").x[:100])  # split-dependent seed
    counts = torch.bincount(d.y, minlength=d.num_classes)
    assert bool((counts > 0).all())


# ------------------------------------------------------------------- digits
@pytest.mark.parametrize("res", [8, 16, 32, 64])
def test_digits_any_resolution(res):
    d = build("digits", resolution=res)
    assert d.x.shape == (1437, 1, res, res) and d.num_classes == 10


def test_stacked_digits_protocol():
    from gankit.data.digits import digits_split, digits_uint8

    d = build("stacked-digits", resolution=16, n=0)
    assert len(d) == 25_600 and d.shape == (3, 16, 16) and d.num_classes == 1000
    assert d.class_names[0] == "000" and d.class_names[999] == "999"
    assert len(torch.unique(d.y)) == 1000  # all 1,000 modes present
    x1, y1 = digits_uint8(16)
    train = x1[digits_split("train")].flatten(1)
    for i in range(8):  # each channel is a train digit whose class matches the label's digit
        for c, digit in enumerate((int(d.y[i]) // 100, int(d.y[i]) // 10 % 10, int(d.y[i]) % 10)):
            match = (train == d.x[i, c].flatten()).all(1).nonzero().flatten()
            assert len(match) > 0
            assert digit in y1[digits_split("train")][match].tolist()
    t = build("stacked-digits", resolution=16, split="test", n=64)
    test_imgs = x1[digits_split("test")].flatten(1)
    assert all((test_imgs == t.x[i, 0].flatten()).all(1).any() for i in range(8))


# ------------------------------------------------------------------- faces
def test_faces_classes_and_split():
    from skimage.data import lfw_subset

    tr, te = build("faces"), build("faces", split="test")
    assert (len(tr), len(te)) == (160, 40) and tr.shape == (1, 32, 32)
    assert tr.class_names == ["face", "non-face"]
    assert torch.bincount(tr.y).tolist() == [80, 80] and torch.bincount(te.y).tolist() == [20, 20]
    raw = torch.from_numpy(lfw_subset()).float()
    # the face/non-face label follows the documented order (first 100 faces)
    from gankit.data.faces import faces_split, faces_uint8

    x, y = faces_uint8(25)
    assert torch.equal(x[:, 0], (raw * 255).round().to(torch.uint8)) and y[:100].eq(0).all() and y[100:].eq(1).all()
    assert not set(faces_split("train").tolist()) & set(faces_split("test").tolist())
    assert len(build("faces", faces_only=True)) == 80


# ------------------------------------------------------------------- photos
def test_photo_crops_never_overlap_between_splits():
    from gankit.data.photos import bank_short_side, photo_bank, photo_crops, test_strip

    res, crop = 32, 64  # 64-px crops shown at 32 px: 32-px windows of photos at half size
    bank = photo_bank(bank_short_side(res, crop))
    _, _, btr = photo_crops(res, "train", 256, crop, 0)
    _, _, bte = photo_crops(res, "test", 64, crop, 0)
    for boxes, is_test in ((btr, False), (bte, True)):
        for p, top, left in boxes.tolist():
            h, w = bank[p][1].shape[-2:]
            edge = w - test_strip(w, res)
            assert 0 <= top <= h - res
            assert (left >= edge) if is_test else (left + res <= edge)


def test_photos_crop_content_matches_source():
    from gankit.data.photos import photo_bank, photo_crops

    x, y, boxes = photo_crops(64, "train", 8, 64, 3)
    bank = photo_bank(256)  # crop == resolution: windows of the 256-px photos
    p, top, left = boxes[0].tolist()
    assert torch.equal(x[0], bank[p][1][:, top : top + 64, left : left + 64]) and int(y[0]) == p


def test_paired_photo_tasks_correspond():
    from gankit.data.photos import sobel_edges

    g = build("gray2color")
    assert g.kind == "paired" and g.a.shape[1] == 1 and torch.equal(g.a, convert_channels(g.x, 1))
    e = build("edges2photo")
    assert e.a.shape == (32, 1, 32, 32) and torch.equal(e.a, sobel_edges(e.x))
    assert torch.equal(e.x, g.x)  # same crops (same seed) whatever the task
    lo = build("lowres2highres")
    assert lo.a.shape == (32, 3, 8, 8) and lo.x.shape == (32, 3, 32, 32)
    down = F.interpolate(lo.x.float(), size=(8, 8), mode="area")
    assert float((down - lo.a.float()).abs().mean()) < 12  # a is x downsampled
    m = build("masked2photo")
    mask = m.a[:, 3:] == 255
    assert m.a.shape[1] == 4 and bool(mask.any()) and set(m.a[:, 3].unique().tolist()) <= {0, 255}
    assert bool((m.a[:, :3] == 128).masked_select(mask.expand(-1, 3, -1, -1)).all())
    keep = ~mask.expand(-1, 3, -1, -1)
    assert torch.equal(m.a[:, :3][keep], m.x[keep])
    frac = mask.float().mean().item()
    assert 0.03 < frac < 0.3


def test_lowres_needs_divisible_resolution():
    from gankit.errors import UserError

    with pytest.raises(UserError, match="divisible"):
        build("lowres2highres", resolution=30)


def test_paired_batch_shapes_and_ranges():
    d = load_data(DataConfig(name="masked2photo", resolution=16, kwargs={"n": 16}))
    b = d.batch(0, 8, seed=0)
    assert b["A"].shape == (8, 4, 16, 16) and b["B"].shape == (8, 3, 16, 16)
    for k in ("A", "B", "real"):
        assert b[k].dtype == torch.float32 and -1 <= float(b[k].min()) and float(b[k].max()) <= 1
    idx = d.indices(0, 8, 0)
    assert torch.equal(b["A"], d.to_float(d.a[idx])) and torch.equal(b["B"], d.to_float(d.x[idx]))


# ------------------------------------------------------------------- scenes
def test_scenes_labels_segmentation_captions():
    from gankit.data.scenes import BACKGROUND, CLASS_NAMES, COLORS, KINDS

    d = build("scenes", resolution=32)
    assert d.seg.shape == (64, 1, 32, 32) and d.seg.dtype == torch.uint8
    assert d.info["seg_classes"] == ["background", *KINDS]
    assert len(d.captions) == len(d) and d.num_classes == 12
    for i in range(len(d)):
        cap = d.captions[i]
        assert cap.startswith("a ") and CLASS_NAMES[int(d.y[i])] in cap.split(" above ")[0].split(" below ")[0] \
            .split(" left of ")[0].split(" right of ")[0].split(" in the ")[0].split(" at the ")[0] \
            .split(" on the ")[0]
        # the first shape's kind is present in the label map
        assert (d.seg[i] == KINDS.index(CLASS_NAMES[int(d.y[i])].split()[1]) + 1).any()
    bg = (d.seg[:, 0] == 0)
    pix = d.x.permute(0, 2, 3, 1)[bg]
    assert (pix.float() - torch.tensor(BACKGROUND).float()).abs().max() < 60  # background is background
    red = torch.tensor(COLORS["red"]).float()
    one = d.seg[:, 0] > 0
    assert (d.x.permute(0, 2, 3, 1)[one].float() - red).abs().sum(1).min() < 30  # some shape pixels are red
    kc = build("scenes", resolution=32, seg="kind_color")
    assert int(kc.seg.max()) <= 12 and len(kc.info["seg_classes"]) == 13
    shaded = build("scenes", resolution=32, style="shaded")
    assert torch.equal(shaded.seg, d.seg) and not torch.equal(shaded.x, d.x)


def test_scenes_batch_carries_seg_and_caption_index():
    d = load_data(DataConfig(name="scenes", resolution=16, kwargs={"n": 32}))
    b = d.batch(3, 8, seed=1)
    idx = d.indices(3, 8, 1)
    assert b["seg"].shape == (8, 16, 16) and b["seg"].dtype == torch.int64
    assert torch.equal(b["caption"], idx) and torch.equal(b["seg"], d.seg[idx, 0].long())
    sub = d.subset(torch.tensor([5, 2]))
    assert sub.captions == [d.captions[5], d.captions[2]] and torch.equal(sub.seg, d.seg[[5, 2]])


def test_scenes_flat2shaded_unpaired_then_paired_test():
    tr = build("scenes-flat2shaded", resolution=16)
    assert tr.kind == "unpaired" and tr.a.shape == tr.x.shape
    te = build("scenes-flat2shaded", resolution=16, split="test")
    assert te.kind == "paired"
    flat = build("scenes", resolution=16, n=32)  # different seeds: just the renderer's contract
    assert flat.x.dtype == te.a.dtype
    # same scenes both ways: the shapes sit on the same pixels in A and B
    fg_a = (te.a.float() - torch.tensor((32, 32, 40)).view(1, 3, 1, 1)).abs().sum(1) > 90
    fg_b = te.seg[:, 0] > 0
    agree = (fg_a == fg_b).float().mean()
    assert agree > 0.97
    b = tr.batch(0, 8, seed=0)
    assert b["A"].shape == b["B"].shape == (8, 3, 16, 16)


def test_scenes_labels2photo_is_scenes_with_onehot_label_inputs():
    """The pix2pix side of pix2pix vs spade: the same scenes as `scenes` (defaults included, so
    the 1,024 held-out maps match), the input the label map one-hot (255 / 0 -> +1 / -1)."""
    from gankit.data.scenes import KINDS, scenes, scenes_labels2photo

    te, ref = scenes_labels2photo(resolution=32, split="test"), scenes(resolution=32, split="test")
    assert te.kind == "paired" and len(te) == len(ref) == 1024
    assert torch.equal(te.seg, ref.seg) and torch.equal(te.x, ref.x) and torch.equal(te.y, ref.y)
    assert te.info["seg_classes"] == ref.info["seg_classes"] == ["background", *KINDS] and te.info["input_onehot"]
    assert te.a.shape == (1024, 4, 32, 32) and te.a.dtype == torch.uint8
    onehot = F.one_hot(te.seg[:, 0].long(), 4).permute(0, 3, 1, 2)
    assert torch.equal(te.a, (onehot * 255).to(torch.uint8))
    tr, ref_tr = build("scenes-labels2photo", resolution=16), build("scenes", resolution=16)
    assert torch.equal(tr.seg, ref_tr.seg) and torch.equal(tr.x, ref_tr.x) and tr.captions is None
    kc = build("scenes-labels2photo", resolution=16, seg="kind_color", n=8)
    assert kc.a.shape[1] == 13 and torch.equal(kc.a.argmax(1, keepdim=True).to(torch.uint8), kc.seg)
    d = load_data(DataConfig(name="scenes-labels2photo", resolution=16, flip=True, kwargs={"n": 32}))
    b = d.batch(0, 8, seed=0)  # no captions, so mirroring is allowed: the map flips with its image
    assert b["A"].shape == (8, 4, 16, 16) and set(b["A"].unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(b["A"].argmax(1), b["seg"]) and torch.equal(b["A"].sum(1), torch.full((8, 16, 16), -2.0))


# ------------------------------------------------------------------- flip
def test_flip_is_a_pure_function_of_the_batch_index():
    d = load_data(DataConfig(name="gray2color", resolution=16, flip=True, kwargs={"n": 64}))
    b1, b2 = d.batch(5, 16, seed=2), d.batch(5, 16, seed=2)
    assert torch.equal(b1["real"], b2["real"]) and torch.equal(b1["A"], b2["A"])
    idx = d.indices(5, 16, 2)
    plain = d.to_float(d.x[idx])
    flipped = ~(b1["real"] == plain).flatten(1).all(1)
    assert 0 < int(flipped.sum()) < 16
    # input and target are mirrored together: A is still the gray of B
    gray = d.to_float(convert_channels(((b1["B"] + 1) * 127.5).round().to(torch.uint8), 1))
    assert torch.equal(gray, b1["A"])
    assert torch.equal(d.batch(5, 16, seed=2)["real"], b1["real"])  # again, after other batches
    off = load_data(DataConfig(name="gray2color", resolution=16, flip=True, kwargs={"n": 64}), split="test")
    assert not off.flip


def test_flip_refused_where_it_would_lie():
    from gankit.errors import UserError

    with pytest.raises(UserError, match="data.flip"):
        load_data(DataConfig(name="scenes", resolution=16, flip=True, kwargs={"n": 8}))
    with pytest.raises(UserError, match="data.flip"):
        load_data(DataConfig(name="ring8", flip=True, kwargs={"n": 8}))


# ------------------------------------------------------------------- train 2 steps on each
TRAINABLE = [n for n in ALL if DATASETS.get(n).recipe in ("dcgan", "gan", "pacgan", "r3gan")]


@pytest.mark.parametrize("name", TRAINABLE)
def test_train_two_steps_on_each_builtin(name, tmp_path):
    conv = "ngf" in build_config(data=name).G.kwargs  # the dataset's recommended preset: DCGAN nets or MLPs
    small = ["--set", "G.kwargs.ngf=8", "--set", "D.kwargs.ndf=8"] if conv else \
        ["--set", "G.kwargs.hidden=16", "--set", "D.kwargs.hidden=16"]
    kw = SMALL.get(name)
    extra = ["--set", "data.kwargs={" + ", ".join(f"{k}: {v}" for k, v in kw.items()) + "}"] if kw else []
    rc = main(["train", "--data", name, "--steps", "2", "--out", str(tmp_path / "run"),
               "--set", "loop.progress=false", "--set", "loop.tensorboard=false",
               "--set", "data.batch_size=8", "--set", "loop.n_samples=16", *small, *extra])
    assert rc == 0
    assert any((tmp_path / "run" / "checkpoints").glob("step_0000002"))
