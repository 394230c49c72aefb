"""User data formats: folders (plain, paired, unpaired), npz, IDX, CIFAR; `data check`; download.

Every file is written by the test in its real format; nothing touches the network.
"""
from __future__ import annotations

import gzip
import io
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.config import DataConfig
from gankit.data import load_data
from gankit.data.user import load_user_data
from gankit.errors import UserError

RNG = np.random.default_rng(0)


def rgb(h, w, seed=None):
    r = np.random.default_rng(seed) if seed is not None else RNG
    return r.integers(0, 256, (h, w, 3), dtype=np.uint8)


def save(path: Path, arr, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, **kw)
    return path


@pytest.fixture
def folder20(tmp_path):
    """20 images in two class folders, 2 of them broken (one truncated, one garbage)."""
    root = tmp_path / "imgs"
    for c in ("cats", "dogs"):
        for i in range(10):
            save(root / c / f"{i}.png", rgb(24, 30))
    f = root / "cats" / "3.png"
    f.write_bytes(f.read_bytes()[:150])  # truncated
    (root / "dogs" / "5.png").write_bytes(b"this is not a png")
    (root / "dogs" / ".hidden.png").write_bytes(b"resource fork")  # hidden: ignored, not an image
    return root


# ------------------------------------------------------------------ plain folders
def test_check_names_both_corrupt_files(folder20, capsys):
    assert main(["data", "check", str(folder20)]) == 0
    out = capsys.readouterr().out
    assert "20 image files, 18 readable, 2 unreadable" in out
    assert "cats/3.png" in out and "dogs/5.png" in out and ".hidden" not in out
    assert "classes (2): cats (9), dogs (9)" in out


def test_train_on_folder_skips_corrupt(folder20, tmp_path, capsys):
    rc = main(["train", "--data", str(folder20), "--steps", "2", "--out", str(tmp_path / "run"),
               "--set", "loop.progress=false", "--set", "loop.tensorboard=false", "--set", "data.batch_size=8",
               "--set", "loop.n_samples=8", "--set", "G.kwargs.ngf=8", "--set", "D.kwargs.ndf=8",
               "--set", "data.resolution=16"])
    assert rc == 0
    assert "skipped 2" in capsys.readouterr().err


def test_folder_labels_channels_and_skipped(folder20):
    d = load_user_data(str(folder20), resolution=16)
    assert d.x.shape == (18, 3, 16, 16) and d.class_names == ["cats", "dogs"]
    assert torch.bincount(d.y).tolist() == [9, 9]
    assert sorted(Path(s).name for s in d.info["skipped"]) == ["3.png", "5.png"]
    assert load_user_data(str(folder20), resolution=16, labels=False).y is None


def test_grayscale_folder_stays_one_channel_and_mixed_becomes_rgb(tmp_path):
    for i in range(3):
        save(tmp_path / "g" / f"{i}.png", RNG.integers(0, 256, (10, 10), dtype=np.uint8))
    assert load_user_data(str(tmp_path / "g"), resolution=8).x.shape == (3, 1, 8, 8)
    save(tmp_path / "g" / "c.png", rgb(10, 10))
    d = load_user_data(str(tmp_path / "g"), resolution=8)
    assert d.x.shape == (4, 3, 8, 8) and d.y is None


def test_modes_alpha_16bit_palette(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # red, fully transparent -> white over the background
    save(tmp_path / "f" / "a.png", rgba)
    Image.fromarray(np.full((4, 4), 65535, np.uint16)).save(tmp_path / "f" / "b.png")  # 16-bit white
    Image.fromarray(rgb(4, 4)).convert("P").save(tmp_path / "f" / "c.gif")
    d = load_user_data(str(tmp_path / "f"), resolution=4)
    assert d.x.shape == (3, 3, 4, 4)
    assert int(d.x[0].min()) == 255 and int(d.x[1].min()) == 255


def test_pixel_limit_refused_before_decoding(tmp_path, monkeypatch):
    from PIL import ImageFile

    save(tmp_path / "big" / "a.png", rgb(40, 40))
    save(tmp_path / "big" / "b.png", rgb(4, 4))

    def no_decode(self, *a, **k):
        raise AssertionError("decoded")

    d = load_user_data(str(tmp_path / "big"), resolution=4, max_pixels=100)
    assert len(d) == 1 and d.info["skipped"][0].endswith("a.png")
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    from gankit.data.transforms import BadImage, open_image

    with pytest.raises(BadImage, match="exceeds the limit"):
        open_image(tmp_path / "big" / "a.png", max_pixels=100)


def test_split_folders_and_crop_modes(tmp_path):
    for split, n in (("train", 3), ("test", 2)):
        for i in range(n):
            save(tmp_path / "s" / split / f"{i}.png", rgb(8, 16))
    assert len(load_user_data(str(tmp_path / "s"), resolution=8)) == 3
    assert len(load_user_data(str(tmp_path / "s"), resolution=8, split="test")) == 2
    only = tmp_path / "o"
    save(only / "x.png", np.concatenate([np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)], 1))
    c = load_user_data(str(only), resolution=8, crop="center").x
    assert c[0, :, :, :4].float().mean() < 5 and c[0, :, :, 4:].float().mean() > 250
    r = load_user_data(str(only), resolution=8, crop="random", seed=1).x
    assert torch.equal(r, load_user_data(str(only), resolution=8, crop="random", seed=1).x)
    assert load_user_data(str(only), resolution=8, crop="none").x.shape == (1, 3, 8, 8)
    assert load_user_data(str(only), resolution=8, split="test").info["split"].startswith("test requested")


def test_no_usable_image_is_an_error(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.jpg").write_bytes(b"nope")
    with pytest.raises(UserError, match="no usable image.*a.jpg"):
        load_user_data(str(tmp_path / "bad"))
    (tmp_path / "empty").mkdir()
    assert main(["data", "check", str(tmp_path / "empty")]) == 2
    assert main(["data", "check", str(tmp_path / "bad")]) == 2


def test_unknown_option_and_single_image_file(tmp_path):
    f = save(tmp_path / "a.png", rgb(4, 4))
    with pytest.raises(UserError, match="folder"):
        load_user_data(str(f))
    with pytest.raises(UserError, match="data.kwargs.bogus"):
        load_user_data(str(tmp_path), bogus=1)


# ------------------------------------------------------------------ paired
def test_side_by_side_pairs(tmp_path, capsys):
    for i in range(3):
        a, b = np.full((8, 8, 3), 10 * i, np.uint8), np.full((8, 8, 3), 200 + 10 * i, np.uint8)
        save(tmp_path / "p" / "train" / f"{i}.png", np.concatenate([a, b], 1))
    d = load_data(DataConfig(name=str(tmp_path / "p"), resolution=8, kwargs={"layout": "paired"}))
    assert d.kind == "paired" and d.a.shape == d.x.shape == (3, 3, 8, 8)
    assert torch.equal(d.x.float().mean((1, 2, 3)) - d.a.float().mean((1, 2, 3)), torch.full((3,), 200.0))
    b = d.batch(0, 2, seed=0)
    assert torch.allclose(b["B"] - b["A"], torch.full_like(b["A"], 200 / 127.5), atol=1e-5)
    r = load_user_data(str(tmp_path / "p"), resolution=8, layout="paired", direction="BtoA")
    assert torch.equal(r.a, d.x)
    save(tmp_path / "p" / "train" / "odd.png", rgb(8, 17))
    with pytest.raises(UserError, match="odd.png.*width 17 is odd"):
        load_user_data(str(tmp_path / "p"), layout="paired")
    assert main(["data", "check", str(tmp_path / "p"), "--layout", "paired"]) == 2
    assert "odd.png" in capsys.readouterr().err


def test_ab_folders_match_by_name(tmp_path, capsys):
    for i in range(3):
        save(tmp_path / "ab" / "A" / f"{i}.png", np.full((6, 6, 3), i, np.uint8))
        save(tmp_path / "ab" / "B" / f"{i}.jpg", np.full((12, 12, 3), 100 + i, np.uint8), quality=100)
    d = load_user_data(str(tmp_path / "ab"), resolution=8)
    assert d.kind == "paired" and len(d) == 3
    assert torch.equal(d.a[:, 0, 0, 0], torch.tensor([0, 1, 2], dtype=torch.uint8))
    assert (d.x[:, 0, 0, 0].int() - torch.tensor([100, 101, 102])).abs().max() <= 2
    assert load_user_data(str(tmp_path / "ab"), resolution=8, a_resolution=2).a.shape == (3, 3, 2, 2)
    assert main(["data", "check", str(tmp_path / "ab")]) == 0
    save(tmp_path / "ab" / "A" / "1b.png", rgb(6, 6))  # no partner in B
    with pytest.raises(UserError, match=r"A/1b.png: no file with the same name"):
        load_user_data(str(tmp_path / "ab"))
    assert main(["data", "check", str(tmp_path / "ab")]) == 2
    assert "1b.png" in capsys.readouterr().err


def test_unpaired_train_and_test_folders(tmp_path):
    for d, n in (("trainA", 3), ("trainB", 5), ("testA", 1), ("testB", 2)):
        for i in range(n):
            save(tmp_path / "u" / d / f"{i}.png", rgb(9, 9))
    tr = load_user_data(str(tmp_path / "u"), resolution=8)
    assert tr.kind == "unpaired" and tr.a.shape[0] == 3 and len(tr) == 5
    te = load_user_data(str(tmp_path / "u"), resolution=8, split="test")
    assert te.a.shape[0] == 1 and len(te) == 2
    b = tr.batch(1, 4, seed=0)
    assert b["A"].shape == b["B"].shape == (4, 3, 8, 8)
    assert main(["data", "check", str(tmp_path / "u")]) == 0


# ------------------------------------------------------------------ npz
def test_npz_layouts_ranges_and_labels(tmp_path):
    x = RNG.integers(0, 256, (6, 10, 10, 3), dtype=np.uint8)
    np.savez(tmp_path / "nhwc.npz", x=x, y=np.arange(6) % 2)
    d = load_user_data(str(tmp_path / "nhwc.npz"), resolution=10)
    assert torch.equal(d.x, torch.from_numpy(x).permute(0, 3, 1, 2)) and d.class_names == ["0", "1"]
    f = x.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
    np.savez(tmp_path / "nchw.npz", images=f, labels=np.arange(6), class_names=np.array(list("abcdef")))
    d2 = load_user_data(str(tmp_path / "nchw.npz"), resolution=10)
    assert (d2.x.int() - d.x.int()).abs().max() <= 1 and d2.class_names[5] == "f"
    np.savez(tmp_path / "unit.npz", x=x[..., 0].astype(np.float64) / 255.0)
    assert load_user_data(str(tmp_path / "unit.npz"), resolution=4).x.shape == (6, 1, 4, 4)
    np.savez(tmp_path / "bad.npz", x=np.full((2, 4, 4), 300.0))
    with pytest.raises(UserError, match=r"bad.npz\[x\].*\[0, 1\]"):
        load_user_data(str(tmp_path / "bad.npz"))


def test_npz_points_paired_test_split_and_pickle_refused(tmp_path):
    pts = RNG.normal(size=(50, 2)).astype(np.float64)
    np.savez(tmp_path / "pts.npz", x=pts, x_test=pts[:10])
    d = load_data(DataConfig(name=str(tmp_path / "pts.npz")))
    assert d.kind == "points" and d.x.dtype == torch.float32 and d.x.shape == (50, 2)
    assert len(load_data(DataConfig(name=str(tmp_path / "pts.npz")), split="test")) == 10
    np.savez(tmp_path / "pair.npz", x=rgb(8, 8, 1)[None].repeat(4, 0), a=np.zeros((4, 4, 8, 8), np.uint8))
    p = load_user_data(str(tmp_path / "pair.npz"), resolution=8)
    assert p.kind == "paired" and p.a.shape == (4, 4, 8, 8)
    np.savez(tmp_path / "obj.npz", x=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(UserError, match="pickled"):
        load_user_data(str(tmp_path / "obj.npz"))
    np.save(tmp_path / "one.npy", pts)
    assert load_user_data(str(tmp_path / "one.npy")).kind == "points"
    assert main(["data", "check", str(tmp_path / "pts.npz")]) == 0


# ------------------------------------------------------------------ IDX
def write_idx(path: Path, arr: np.ndarray, gz: bool):
    code = {np.uint8: 0x08}[arr.dtype.type]
    raw = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape) + arr.tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


def test_idx_mnist_layout(tmp_path, capsys):
    root = tmp_path / "fashion"
    root.mkdir()
    imgs = RNG.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    labs = (np.arange(12) % 10).astype(np.uint8)
    write_idx(root / "train-images-idx3-ubyte.gz", imgs, gz=True)
    write_idx(root / "train-labels-idx1-ubyte.gz", labs, gz=True)
    write_idx(root / "t10k-images-idx3-ubyte", imgs[:4], gz=False)
    write_idx(root / "t10k-labels-idx1-ubyte", labs[:4], gz=False)
    d = load_user_data(str(root), resolution=28)
    assert torch.equal(d.x[:, 0], torch.from_numpy(imgs)) and d.y.tolist() == labs.tolist()
    assert d.class_names[0] == "T-shirt/top"  # a folder named fashion*: Fashion-MNIST classes
    t = load_user_data(str(root), resolution=32, split="test")
    assert t.x.shape == (4, 1, 32, 32)
    assert len(load_user_data(str(root / "train-images-idx3-ubyte.gz"), resolution=8)) == 12
    assert main(["data", "check", str(root)]) == 0
    assert "train: 12 images" in capsys.readouterr().out
    (root / "t10k-images-idx3-ubyte").write_bytes((root / "t10k-images-idx3-ubyte").read_bytes()[:100])
    with pytest.raises(UserError, match="truncated"):
        load_user_data(str(root), split="test")


# ------------------------------------------------------------------ CIFAR
def write_cifar(path: Path, n: int, seed: int):
    r = np.random.default_rng(seed)
    d = {b"batch_label": b"training batch", b"labels": [int(v) for v in r.integers(0, 10, n)],
         b"data": r.integers(0, 256, (n, 3072), dtype=np.uint8), b"filenames": [b"f.png"] * n}
    path.write_bytes(pickle.dumps(d, protocol=2))
    return d


class Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > pwned.txt",))


def test_cifar_batches_with_restricted_unpickler(tmp_path, monkeypatch, capsys):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    b1 = write_cifar(root / "data_batch_1", 5, 1)
    write_cifar(root / "data_batch_2", 3, 2)
    write_cifar(root / "test_batch", 4, 3)
    meta = {b"label_names": [n.encode() for n in ["airplane", "automobile", "bird", "cat", "deer", "dog",
                                                  "frog", "horse", "ship", "truck"]]}
    (root / "batches.meta").write_bytes(pickle.dumps(meta, protocol=4))
    d = load_user_data(str(tmp_path), resolution=32)
    assert d.x.shape == (8, 3, 32, 32) and d.class_names[3] == "cat"
    assert torch.equal(d.x[:5], torch.from_numpy(b1[b"data"]).view(5, 3, 32, 32))
    assert d.y[:5].tolist() == b1[b"labels"]
    assert len(load_user_data(str(root), split="test")) == 4
    assert main(["data", "check", str(root)]) == 0
    # a "batch" that would run a command when unpickled is refused without running it
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil" / "data_batch_1"
    evil.parent.mkdir()
    evil.write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(UserError, match="forbidden global"):
        load_user_data(str(evil.parent))
    assert not (tmp_path / "pwned.txt").exists()
    # protocol-5 pickles of numpy arrays (out-of-band capable) load too
    (tmp_path / "p5").mkdir()
    buf = io.BytesIO()
    pickle.dump({"data": b1[b"data"], "labels": b1[b"labels"]}, buf, protocol=5)
    (tmp_path / "p5" / "data_batch_1").write_bytes(buf.getvalue())
    assert len(load_user_data(str(tmp_path / "p5"))) == 5


# ------------------------------------------------------------------ download (offline)
def test_download_verifies_checksums_offline(tmp_path, monkeypatch):
    import hashlib

    from gankit.data import download as dl

    src = tmp_path / "mirror"
    src.mkdir()
    (src / "f.gz").write_bytes(b"payload")
    good = hashlib.md5(b"payload").hexdigest()
    monkeypatch.setitem(dl.SOURCES, "toy", ([src.as_uri() + "/"], {"f.gz": good}, None))
    out = dl.download("toy", tmp_path / "out", log=lambda m: None)
    assert (out / "f.gz").read_bytes() == b"payload"
    monkeypatch.setitem(dl.SOURCES, "toy", ([src.as_uri() + "/"], {"f.gz": "0" * 32}, None))
    (out / "f.gz").unlink()
    with pytest.raises(UserError, match="checksum mismatch"):
        dl.download("toy", tmp_path / "out", log=lambda m: None)
    assert not (out / "f.gz").exists() and not (out / "f.gz.part").exists()
    with pytest.raises(UserError, match="unknown dataset"):
        dl.download("imagenet", tmp_path)
    assert all(len(md5) == 32 for _, files, _ in dl.SOURCES.values() for md5 in files.values())
