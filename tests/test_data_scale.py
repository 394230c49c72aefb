"""Data at scale: `gankit data prepare`, the prepared-data cache, the DataLoader batch source,
per-rank shards, exact resume from disk, and the image nets at 64..256 (1024 for StyleGAN2)."""
from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from gankit import checkpoint as ckpt_io
from gankit.cli import main
from gankit.config import DataConfig
from gankit.data import load_data
from gankit.data.loader import PreparedDataset, ShardedBatchSampler, make_loader
from gankit.data.prepare import open_prepared, prepare
from gankit.data.user import load_user_data
from gankit.errors import UserError
from gankit.train.batches import LoaderBatches, MemoryBatches
from test_hostile_input import hostile_corpus

pytestmark = pytest.mark.usefixtures("one_thread")
CPU = torch.device("cpu")


def save(path: Path, arr) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def folder(root: Path, n: int = 12, classes=("a", "b"), size=(20, 26), gray_every: int = 0, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for i in range(n):
        img = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        if gray_every and i % gray_every == 0:
            img = img[..., 0]
        save(root / classes[i % len(classes)] / f"{i:03d}.png", img)
    return root


# ---------------------------------------------------------------- prepare
def test_prepare_names_every_hostile_file_and_prepares_the_rest(tmp_path, capsys):
    bad = hostile_corpus(tmp_path / "imgs")  # corrupt, empty, truncated, huge-dimension ...
    n_files = len(list((tmp_path / "imgs").iterdir()))
    assert main(["data", "prepare", str(tmp_path / "imgs"), "--out", str(tmp_path / "p"), "--resolution", "16"]) == 0
    out = capsys.readouterr().out
    for name in bad:
        assert f"skipped: {tmp_path / 'imgs' / name}:" in out, (name, out)
    m = json.loads((tmp_path / "p" / "manifest.json").read_text())
    e = m["splits"]["train"]
    assert e["count"] == n_files - len(bad) and {Path(s["file"]).name for s in e["skipped"]} == bad
    assert np.load(tmp_path / "p" / "train" / "x.npy").shape == (n_files - len(bad), 3, 16, 16)
    assert m["resolution"] == 16 and m["kind"] == "images" and len(e["content_hash"]) == 64


@pytest.mark.parametrize("case", ["missing", "empty", "only_bad"])
def test_prepare_without_a_usable_image_exits_2_with_one_line(tmp_path, capsys, case):
    src = tmp_path / "src"
    if case != "missing":
        src.mkdir()
    if case == "only_bad":
        (src / "a.png").write_bytes(b"")
    assert main(["data", "prepare", str(src), "--out", str(tmp_path / "p"), "--resolution", "16"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(src) in lines[0], lines
    assert not (tmp_path / "p").exists() and not list(tmp_path.glob(".p.tmp-*"))  # nothing half-written


def test_a_zip_of_images_prepares_like_its_folder(tmp_path, capsys):
    import zipfile

    src = folder(tmp_path / "imgs", 6)
    (src / "a" / "bad.png").write_bytes(b"junk")
    with zipfile.ZipFile(tmp_path / "imgs.zip", "w") as zf:
        for f in sorted(src.rglob("*.png")):
            zf.write(f, f.relative_to(src))
    m = prepare(str(tmp_path / "imgs.zip"), str(tmp_path / "pz"), 8)
    prepare(str(src), str(tmp_path / "pf"), 8)
    assert torch.equal(open_prepared(tmp_path / "pz").x, open_prepared(tmp_path / "pf").x)
    assert [s["file"] for s in m["splits"]["train"]["skipped"]] == [f"{tmp_path / 'imgs.zip'}:/a/bad.png"]
    assert m["class_names"] == ["a", "b"] and not list(tmp_path.glob(".pz.unzip-*"))
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert main(["data", "prepare", str(tmp_path / "junk.zip"), "--out", str(tmp_path / "pj"), "--resolution", "8"]) == 2
    assert "not a readable zip" in capsys.readouterr().err


def test_prepared_arrays_equal_the_in_memory_decode(tmp_path):
    """Labels, mixed gray/colour, non-square crops: the prepared arrays are what decoding in
    memory gives; a gray-only folder stays one channel; the test split is written too."""
    src = folder(tmp_path / "imgs" / "train", 11, gray_every=3)
    folder(tmp_path / "imgs" / "test", 4, seed=1)
    m = prepare(str(tmp_path / "imgs"), str(tmp_path / "p"), 16, crop="random", seed=3)
    assert set(m["splits"]) == {"train", "test"} and m["class_names"] == ["a", "b"]
    for split in ("train", "test"):
        mem = load_user_data(str(tmp_path / "imgs"), 16, split, cache="off", crop="random", seed=3)
        disk = open_prepared(tmp_path / "p", split)
        assert mem.store is None and disk.store is not None
        assert torch.equal(mem.x, disk.x) and torch.equal(mem.y, disk.y), split
    gray = folder(tmp_path / "gray", 5, classes=("g",), gray_every=1)
    assert prepare(str(gray), str(tmp_path / "pg"), 8)["splits"]["train"]["arrays"]["x"] == [5, 1, 8, 8]
    assert src.is_dir()


def test_paired_and_unpaired_folders_prepare_like_memory(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(5):
        save(tmp_path / "pairs" / "A" / f"{i}.png", rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
        save(tmp_path / "pairs" / "B" / f"{i}.png", rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
        for d in ("trainA", "trainB"):
            save(tmp_path / "un" / d / f"{i}.png", rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    save(tmp_path / "un" / "trainA" / "extra.png", rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    for name, kw in (("pairs", {"direction": "BtoA", "a_resolution": 4}), ("un", {})):
        prepare(str(tmp_path / name), str(tmp_path / f"p{name}"), 8, **kw)
        mem = load_user_data(str(tmp_path / name), 8, cache="off", **kw)
        disk = load_data(DataConfig(name=str(tmp_path / f"p{name}"), resolution=8))
        assert disk.kind == mem.kind and torch.equal(mem.x, disk.x) and torch.equal(mem.a, disk.a), name
    assert disk.a.shape[0] == 6 and disk.x.shape[0] == 5  # unpaired domains keep their own sizes


def test_a_prepared_folder_refuses_another_resolution_and_rewriting(tmp_path):
    prepare(str(folder(tmp_path / "imgs", 4)), str(tmp_path / "p"), 8)
    with pytest.raises(UserError, match="prepared at 8 px"):
        load_data(DataConfig(name=str(tmp_path / "p"), resolution=16))
    with pytest.raises(UserError, match="not empty"):
        prepare(str(tmp_path / "imgs"), str(tmp_path / "p"), 8)
    from gankit.presets import build_config

    assert build_config(data=str(tmp_path / "p")).data.resolution == 8  # taken from the manifest


# ---------------------------------------------------------------- cache
def test_the_second_load_of_a_folder_hits_the_cache_and_decodes_nothing(tmp_path, capsys, monkeypatch):
    src = folder(tmp_path / "imgs", 6)
    cfg = DataConfig(name=str(src), resolution=8, cache=str(tmp_path / "cache"))
    first = load_data(cfg)
    assert "prepared" in capsys.readouterr().err
    from gankit.data import folders

    def no_decoding(*a, **k):
        raise AssertionError("decoded again")

    monkeypatch.setattr(folders, "open_image", no_decoding)
    second = load_data(cfg)
    err = capsys.readouterr().err
    assert "data cache hit" in err and str(src) in err and torch.equal(first.x, second.x)
    (src / "a" / "000.png").unlink()  # a changed folder is prepared again
    monkeypatch.undo()
    assert len(load_data(cfg)) == 5 and "data cache hit" not in capsys.readouterr().err


def test_training_twice_on_a_folder_says_the_cache_was_hit(tmp_path, capsys):
    src = folder(tmp_path / "imgs", 8)
    args = ["train", "--data", str(src), "--steps", "1", "--set", "loop.progress=false", "--set",
            "loop.tensorboard=false", "--set", "data.batch_size=4", "--set", "G.kwargs.ngf=8", "--set",
            "D.kwargs.ndf=8", "--set", "data.resolution=16", "--set", "data.num_workers=1"]
    assert main(args + ["--out", str(tmp_path / "r1")]) == 0
    assert "data cache hit" not in capsys.readouterr().err
    assert main(args + ["--out", str(tmp_path / "r2")]) == 0
    assert "data cache hit" in capsys.readouterr().err


# ---------------------------------------------------------------- loader
def test_the_sampler_gives_two_ranks_disjoint_shards_of_every_epoch():
    n, bs, world = 40, 4, 2
    per_epoch = n // (bs * world)
    for epoch in range(3):
        shards = [[i for b in ShardedBatchSampler(n, bs, seed=5, rank=r, world=world, start=epoch * per_epoch,
                                                  stop=(epoch + 1) * per_epoch) for i in b] for r in range(world)]
        assert set(shards[0]).isdisjoint(shards[1]), epoch
        assert sorted(shards[0] + shards[1]) == list(range(n)), epoch
    # resuming at a batch number gives the very batches of an uninterrupted stream
    full = list(ShardedBatchSampler(n, bs, 5, 1, world, start=0, stop=12))
    assert list(ShardedBatchSampler(n, bs, 5, 1, world, start=7, stop=12)) == full[7:]


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_batches_equal_memory_batches(tmp_path, workers):
    """With flips and labels, for one rank of two: from disk through a DataLoader (with or
    without workers) the batches are bit-identical to those gathered in memory."""
    prepare(str(folder(tmp_path / "imgs", 10)), str(tmp_path / "p"), 8)
    disk = load_data(DataConfig(name=str(tmp_path / "p"), resolution=8, flip=True))
    mem = load_data(DataConfig(name=str(tmp_path / "p"), resolution=8, flip=True))
    mem.x, mem.store = mem.x.clone(), None
    src = LoaderBatches(disk, 3, 7, 1, 2, CPU, num_workers=workers)
    ref = MemoryBatches(mem, 3, 7, 1, 2, CPU)
    for k in range(8):
        if k == 5:  # a rollback / resume
            src.seek(2)
            ref.seek(2)
        a, b = src.next(), ref.next()
        assert a.keys() == b.keys() == {"real", "y"}
        assert all(torch.equal(a[key], b[key]) for key in a), k
    src.close()
    assert src.counter == ref.counter == 5


def test_the_dataset_reads_by_index_and_pickles_without_open_files(tmp_path):
    import pickle

    prepare(str(folder(tmp_path / "imgs", 6)), str(tmp_path / "p"), 8)
    ds = PreparedDataset(tmp_path / "p" / "train")
    x = np.load(tmp_path / "p" / "train" / "x.npy")
    y = np.load(tmp_path / "p" / "train" / "y.npy")
    assert len(ds) == 6 and torch.equal(ds[4]["x"], torch.from_numpy(x[4])) and int(ds[4]["y"]) == y[4] == 1
    assert pickle.loads(pickle.dumps(ds)).files["x"].fd is None  # workers open their own files
    loader = make_loader(ds, ShardedBatchSampler(6, 2, 0, stop=3))
    assert [b["x"].shape[0] for b in loader] == [2, 2, 2]


# ---------------------------------------------------------------- exact resume
def _cli(data, out, steps, resume=False):
    sets = ["G.kwargs.ngf=8", "D.kwargs.ndf=8", "data.batch_size=4", "loop.progress=false", "loop.tensorboard=false",
            "loop.checkpoint_every=1", "loop.keep_checkpoints=2", "loop.precision=fp32", "data.num_workers=2",
            "data.flip=true", "loop.threads=1"]
    args = [sys.executable, "-m", "gankit", "train", "--data", str(data), "--steps", str(steps), "--out", str(out),
            *[a for o in sets for a in ("--set", o)]]
    return args + (["--resume"] if resume else [])


def _weights(run):
    ck = ckpt_io.find_checkpoint(run)
    return {n: load_file(str(ck / n / "model.safetensors")) for n in ("G", "D")}


def test_sigkill_then_resume_from_a_prepared_dataset_with_workers_is_exact(tmp_path):
    prepare(str(folder(tmp_path / "imgs", 14)), str(tmp_path / "p"), 16)
    steps = 10
    subprocess.run(_cli(tmp_path / "p", tmp_path / "full", steps), check=True, capture_output=True, timeout=300)
    ref = _weights(tmp_path / "full")
    rnd = random.Random(1)
    for trial in range(2):
        run = tmp_path / f"killed{trial}"
        proc = subprocess.Popen(_cli(tmp_path / "p", run, steps), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while not (run / "checkpoints" / "latest").exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
        time.sleep(rnd.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)  # the loader's workers see their parent die and exit
        proc.wait()
        p = subprocess.run(_cli(tmp_path / "p", run, steps, resume=True), capture_output=True, text=True, timeout=300,
                           check=False)
        assert p.returncode == 0, p.stderr
        got = _weights(run)
        for net in ref:
            for k in ref[net]:
                assert torch.equal(ref[net][k], got[net][k]), (trial, net, k)


# ---------------------------------------------------------------- resolutions
@pytest.mark.parametrize("res", [64, 128, 256])
def test_image_nets_build_at_64_to_256(res):
    from gankit.nets.dcgan import DCGANDiscriminator, DCGANGenerator
    from gankit.nets.resnet import ResNetDiscriminator, ResNetGenerator
    from gankit.nets.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator

    torch.manual_seed(0)
    z = torch.randn(2, 16)
    nets = [(DCGANGenerator(z_dim=16, resolution=res, ngf=2), DCGANDiscriminator(resolution=res, ndf=2)),
            (ResNetGenerator(z_dim=16, resolution=res, ngf=4), ResNetDiscriminator(resolution=res, ndf=4)),
            (StyleGAN2Generator(resolution=res, z_dim=16, w_dim=16, mapping_layers=1, channel_base=res, channel_max=4),
             StyleGAN2Discriminator(resolution=res, channel_base=res, channel_max=4, mbstd_group=2))]
    for G, D in nets:
        with torch.no_grad():
            x = G(z)
            assert x.shape == (2, 3, res, res), type(G).__name__
            assert D(x).reshape(2, -1).shape[1] == 1, type(D).__name__


def test_stylegan2_builds_at_1024():
    from gankit.nets.stylegan2 import StyleGAN2Generator

    G = StyleGAN2Generator(resolution=1024, z_dim=8, w_dim=8, mapping_layers=1, channel_base=1024, channel_max=2)
    with torch.no_grad():
        assert G(torch.randn(1, 8)).shape == (1, 3, 1024, 1024)
