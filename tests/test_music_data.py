"""Music data: the bach-chorales corpus (on a handful of chorales), MIDI folders with bad files
named and skipped, the cache, and the lazy music21 import."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from gankit.cli import main
from gankit.data import music
from gankit.data.base import Data
from gankit.data.midi import load_midi
from gankit.errors import UserError

mido = pytest.importorskip("mido")
pytest.importorskip("music21")

FEW = 12  # chorale files parsed by these tests (the full corpus takes a minute or more)


@pytest.fixture(scope="module")
def chorales():
    return {s: music.bach_chorales(split=s, limit=FEW) for s in ("train", "test")}


def test_chorale_shapes_ranges_and_info(chorales):
    tr, te = chorales["train"], chorales["test"]
    assert tr.kind == "music" and tr.x.dtype == torch.uint8 and tr.x.dim() == 5
    n_tracks, bars, steps, pitches = tr.shape
    assert (n_tracks, bars, steps) == (4, 4, 16) and te.shape == tr.shape and 20 <= pitches <= 60
    assert set(torch.unique(tr.x).tolist()) == {0, 1}
    assert bool(tr.x.flatten(2).any(2).all())  # every voice sings in every phrase
    info = tr.info
    assert info["tracks"] == ["Soprano", "Alto", "Tenor", "Bass"] and len(info["programs"]) == 4
    assert (info["steps_per_beat"], info["beats_per_bar"]) == (4, 4) and info["tempo"] > 0
    assert 28 <= info["lowest_pitch"] <= 48 and info["source"]
    # soprano sits above bass on average (voices not swapped)
    p = torch.arange(pitches, dtype=torch.float32)
    mean_pitch = [(tr.x[:, t].float() * p).sum() / tr.x[:, t].sum() for t in range(4)]
    assert mean_pitch[0] > mean_pitch[1] > mean_pitch[2] > mean_pitch[3]
    # the nets see -1 / 1
    assert set(torch.unique(tr.to_float(tr.x[:2])).tolist()) == {-1.0, 1.0}


def test_chorale_split_is_by_chorale_and_only_training_is_transposed(chorales):
    tr, te = chorales["train"], chorales["test"]
    assert tr.info["pieces"] and te.info["pieces"]
    assert not set(tr.info["pieces"]) & set(te.info["pieces"])
    plain = music.bach_chorales(limit=FEW, transpose=False)
    assert plain.info["pieces"] == tr.info["pieces"] and 3 * len(plain) < len(tr)  # several keys each
    pitches = tr.shape[-1]
    used = tr.x.flatten(0, 3).any(0)  # [P]: the transposed phrases reach both ends of the range
    assert bool(used[0]) and bool(used[pitches - 1])


def test_chorales_are_cached(chorales, monkeypatch):
    def no_parse(limit):
        raise AssertionError("parsed again")

    monkeypatch.setattr(music, "parse_chorales", no_parse)
    again = music.bach_chorales(split="train", limit=FEW)
    assert torch.equal(again.x, chorales["train"].x)


def test_phrases_window_and_transpose():
    notes = [[(0, 64, 60)], [(0, 32, 50), (32, 64, 52)]]  # two tracks, 4 bars
    x = music.phrases([("a", notes, 64)], 48, 16, bars=4, hop=4, shifts=(-2, 0, 5))
    assert x.shape == (2, 2, 4, 16, 16)  # +5 would put 60 past 48 + 15: left out
    assert x[0, 0, :, :, 60 - 2 - 48].all() and x[1, 1, 2:, :, 52 - 48].all()


def test_tonic_shift_moves_a_piece_to_c_major_or_a_minor():
    """The best-fitting major scale's tonic goes to C by the smallest shift in -6..+5: a D major
    scale moves down 2, A minor (C major's notes) stays, F# major goes by -6."""
    def scale(tonic, minor=False):
        steps = (0, 2, 3, 5, 7, 8, 10) if minor else (0, 2, 4, 5, 7, 9, 11)
        return [[(4 * i, 4 * i + 4, 60 + tonic + d) for i, d in enumerate(steps)]]

    assert music.tonic_shift(scale(2)) == -2 and music.tonic_shift(scale(9, minor=True)) == 0
    assert music.tonic_shift(scale(6)) == -6 and music.tonic_shift(scale(5)) == -5
    assert music.tonic_shift(scale(4, minor=True)) == 5  # E minor = G major: up 5 to C


def test_chorales_in_c_keep_one_copy_each_in_c_major_or_a_minor(chorales):
    """transpose=c: one copy of each training phrase (as transpose=false; the pitch range grows
    to hold both keys) whose pitch classes fit C major best; the test split keeps its keys; a
    bad value is a UserError naming the kwarg."""
    c = music.bach_chorales(limit=FEW, transpose="c")
    plain = music.bach_chorales(limit=FEW, transpose=False)
    assert c.info["pieces"] == plain.info["pieces"] and len(c) == len(plain)
    lo = c.info["lowest_pitch"]
    hist = np.zeros(12)
    np.add.at(hist, (np.arange(c.shape[-1]) + lo) % 12, c.x.sum((0, 1, 2, 3)).numpy())
    on_scale = hist[[0, 2, 4, 5, 7, 9, 11]].sum() / hist.sum()
    assert on_scale > 0.9 and on_scale == max(hist[(np.array([0, 2, 4, 5, 7, 9, 11]) + t) % 12].sum()
                                              for t in range(12)) / hist.sum()
    test = music.bach_chorales(split="test", limit=FEW, transpose="c")
    assert test.shape == c.shape and test.info["pieces"] == chorales["test"].info["pieces"]
    assert int(test.x.sum()) == int(chorales["test"].x.sum())
    with pytest.raises(UserError, match="transpose"):
        music.bach_chorales(limit=FEW, transpose="d")


# ------------------------------------------------------------------ MIDI folders
def _song(path, bars=8, tracks=(("Lead", 67), ("Bass", 43))):
    mf = mido.MidiFile(ticks_per_beat=480)
    for ch, (name, base) in enumerate(tracks):
        tr = mido.MidiTrack()
        mf.tracks.append(tr)
        tr.append(mido.MetaMessage("track_name", name=name))
        tr.append(mido.Message("program_change", program=ch * 32, channel=ch))
        for i in range(bars * 4):  # quarter notes
            tr.append(mido.Message("note_on", note=base + i % 5, velocity=80, channel=ch, time=0))
            tr.append(mido.Message("note_off", note=base + i % 5, velocity=0, channel=ch, time=480))
    mf.save(path)


@pytest.fixture
def midis(tmp_path):
    d = tmp_path / "midis"
    d.mkdir()
    _song(d / "a.mid")
    _song(d / "b.midi", bars=4)
    (d / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    empty = mido.MidiFile()
    empty.tracks.append(mido.MidiTrack())
    empty.save(d / "empty.mid")
    return d


def test_midi_folder_round_trip_skips_bad_files(midis):
    d = load_midi(midis, cache="off")
    assert isinstance(d, Data) and d.kind == "music" and d.shape[:3] == (2, 4, 16)
    assert len(d) == 3  # a: 8 bars = 2 phrases, b: 1
    assert d.info["tracks"] == ["Lead", "Bass"] and d.info["programs"] == [0, 32]
    assert sorted(d.info["skip_reasons"]) == sorted(str(midis / f) for f in ("corrupt.mid", "empty.mid"))
    assert d.info["skip_reasons"][str(midis / "empty.mid")] == "no notes"
    roll = d.x[0, 0].reshape(-1, d.shape[-1]).numpy()  # [64 steps, P] of the lead
    lo = d.info["lowest_pitch"]
    starts = [s for s in range(64) if roll[s].any() and (s == 0 or (roll[s] != roll[s - 1]).any())]
    assert starts[:3] == [0, 4, 8] and roll[0, 67 - lo] and roll[4, 68 - lo]  # quarter notes, 4 steps


def test_midi_cli_check_prepare_train(midis, tmp_path, capsys):
    assert main(["data", "check", str(midis)]) == 0
    out = capsys.readouterr().out
    assert "corrupt.mid: not a readable MIDI file" in out and "empty.mid: no notes" in out
    prep = tmp_path / "prep"
    assert main(["data", "prepare", str(midis), "--out", str(prep)]) == 0
    assert "corrupt.mid" in capsys.readouterr().out
    from gankit.data.prepare import open_prepared

    p = open_prepared(prep)
    assert p.kind == "music" and p.info["tracks"] == ["Lead", "Bass"] and p.shape[0] == 2


def test_folder_without_usable_midi_is_exit_2(tmp_path, capsys):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "x.mid").write_bytes(b"not midi at all")
    assert main(["data", "check", str(d)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no usable MIDI file" in err and "x.mid" in err
    assert main(["train", "--data", str(d), "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    assert "no usable MIDI file" in capsys.readouterr().err


# ------------------------------------------------------------------ lazy import
def test_music21_missing_is_a_user_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "music21", None)  # import music21 -> ImportError
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    with pytest.raises(UserError, match=r"pip install -e '\.\[music\]'"):
        music.bach_chorales(limit=2)


def test_gankit_works_without_music21_and_mido():
    code = ("import sys; sys.modules['music21'] = None; sys.modules['mido'] = None\n"
            "import gankit, gankit.recipes\nfrom gankit.cli import main\n"
            "assert main(['recipes']) == 0\n"
            "assert main(['train', '--data', 'bach-chorales', '--steps', '1']) == 2\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
                       env={**__import__("os").environ, "GANKIT_CACHE": "/nonexistent-gankit-cache"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert "pip install -e '.[music]'" in r.stderr and "Traceback" not in r.stderr


def test_no_music21_import_at_gankit_import():
    code = ("import sys, gankit.cli, gankit.recipes, gankit.data.music; "
            "assert 'music21' not in sys.modules and 'mido' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-2000:]


def test_split_pieces_is_seeded_and_disjoint():
    pieces = [(str(i), [], 0) for i in range(20)]
    a, b = music.split_pieces(pieces, 0.1, 0)
    assert len(b) == 2 and not {p[0] for p in a} & {p[0] for p in b}
    assert [p[0] for p in b] == [p[0] for p in music.split_pieces(pieces, 0.1, 0)[1]]
    assert np.unique([p[0] for p in a + b]).size == 20
