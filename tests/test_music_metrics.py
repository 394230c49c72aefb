"""Music metrics on hand-made piano rolls with answers known by hand (MuseGAN's EB / UPC / QN /
TD, pitch-class entropy, scale consistency, polyphony, groove consistency, OA), the
random-notes baseline and the report's layout."""
from __future__ import annotations

import math
import types

import numpy as np
import pytest
import torch

from gankit.data.pianoroll import roll_to_notes
from gankit.metrics import music_metrics as mm

C4 = 60  # lowest pitch of the hand-made rolls: pitch index k is MIDI 60 + k
S, P = 16, 24


def rolls(n_tracks=1, bars=1, n=1) -> np.ndarray:
    return np.zeros((n, n_tracks, bars, S, P), bool)


def stats(r, names=None):
    return mm.music_stats(r, names or [f"t{i}" for i in range(r.shape[1])], C4)


def test_c_major_triad_bar():
    r = rolls()
    r[0, 0, 0, :, [0, 4, 7]] = True  # C E G held for the whole bar
    table, per = stats(r)
    assert table["UPC/t0"] == 3 and table["EB/t0"] == 0 and table["QN/t0"] == 100
    assert table["SC/all"] == 100 and table["poly/t0"] == 3
    assert "poly/all" not in table and "GC/all" not in table and "PCE/all" not in table  # one track
    assert table["PCE/t0"] == pytest.approx(math.log2(3))
    assert per["UPC/t0"].tolist() == [3.0]


def test_empty_bars_and_upc_over_non_empty_bars():
    r = rolls(n_tracks=2, bars=4)
    r[0, 0, 0, :4, 0] = r[0, 0, 2, :4, 1] = r[0, 0, 2, 4:8, 14] = True  # bars 1, 3: 1 and 2 classes
    r[0, 1, :, :, 5] = True  # the second track never rests
    table, per = stats(r)
    assert table["EB/t0"] == 50 and table["EB/t1"] == 0 and per["EB/t0"].tolist() == [50]
    assert table["UPC/t0"] == 1.5  # (1 + 2) / 2 non-empty bars; D and C# are two classes
    all_empty = rolls(bars=2)
    t, _ = stats(all_empty)
    assert t["EB/t0"] == 100 and math.isnan(t["UPC/t0"]) and math.isnan(t["QN/t0"])


def test_qualified_notes_held_vs_fragmented():
    r = rolls(n_tracks=3)
    r[0, 0, 0, :, 0] = True  # one held note: qualified
    r[0, 1, 0, ::2, 0] = True  # 8 one-step notes: none qualified
    r[0, 2, 0, 0:2, 0] = r[0, 2, 0, 4, 0] = r[0, 2, 0, 8:12, 2] = r[0, 2, 0, 14, 3] = True  # 2 of 4
    table, _ = stats(r)
    assert (table["QN/t0"], table["QN/t1"], table["QN/t2"]) == (100, 0, 50)


def test_qn_matches_note_lengths_from_roll_to_notes():
    rng = np.random.default_rng(1)
    r = rng.random((5, 2, 2, S, P)) < 0.3
    table, _ = stats(r)
    for i in range(2):
        lengths = [e - s for ex in r[:, i] for s, e, _ in roll_to_notes(ex, C4)]
        assert table[f"QN/t{i}"] == pytest.approx(100 * np.mean(np.array(lengths) >= 2))


def test_tonal_distance_by_hand():
    assert mm.tonal_centroid(np.eye(12)[0]) == pytest.approx([0, 1, 0, 1, 0, 0.5])
    # the C major triad's centroid, from Harte et al.'s eq. 2 worked by hand for l = 0, 4, 7
    h = math.sqrt(3) / 2
    triad = np.array([(h + 0.5) / 3, (0.5 + h) / 3, 1 / 3, 2 / 3, h / 3, 0.0])
    td = float(np.linalg.norm(triad - np.array([0, 1, 0, 1, 0, 0.5])))
    r = rolls(n_tracks=3, bars=2)
    r[0, 0, :, :, [0, 4, 7]] = True  # C major triad, both bars
    r[0, 1, :, :, 12] = True  # C (an octave up: same class) both bars
    r[0, 2, 0, :, [0, 4, 7]] = True  # the triad in bar 1 only (bar 2 empty: not counted)
    table, _ = stats(r)
    assert table["TD/t0-t1"] == pytest.approx(td) and td == pytest.approx(1.0293, abs=1e-4)
    assert table["TD/t0-t2"] == pytest.approx(0)  # identical where both sound
    assert table["TD/t1-t2"] == pytest.approx(td)


def test_scale_consistency_and_entropy():
    r = rolls()
    for k, pc in enumerate([0, 2, 4, 5, 7, 9, 11, 6]):  # C major scale + F#, eighths
        r[0, 0, 0, 2 * k: 2 * k + 2, pc] = True
    table, _ = stats(r)
    assert table["SC/all"] == pytest.approx(87.5)  # 7 of 8 in C major (or G major)
    assert table["PCE/t0"] == pytest.approx(3.0)  # 8 equally likely classes
    r2 = rolls()
    for k, pc in enumerate([9, 11, 0, 2, 4, 5, 8, 9]):  # A harmonic minor (G#): all in scale
        r2[0, 0, 0, 2 * k: 2 * k + 2, pc] = True
    assert stats(r2)[0]["SC/all"] == 100


def test_polyphony_and_groove():
    r = rolls(n_tracks=2, bars=3)
    r[0, 0, :, 0:4, [0, 4]] = True  # two pitches at once, 4 steps of every bar
    r[0, 1, :, 0:4, 0] = True  # the same C: 'all' counts distinct pitches
    r[0, 1, :, 8:12, 7] = True
    table, _ = stats(r)
    assert table["poly/t0"] == 2 and table["poly/t1"] == 1
    assert table["poly/all"] == pytest.approx((2 * 4 + 1 * 4) / 8)
    assert table["GC/t0"] == 1 and table["GC/all"] == 1  # the same onsets in every bar
    g = rolls(bars=3)
    g[0, 0, 0, [0, 4, 8, 12], 0] = True
    g[0, 0, 1, [0, 4, 8, 13], 0] = True  # 2 steps differ from bar 1 (12 vs 13)
    g[0, 0, 2, [0, 4, 8, 12], 0] = True
    assert stats(g)[0]["GC/t0"] == pytest.approx((1 + 2 * (1 - 2 / 16)) / 3)  # 3 pairs


def test_overlapping_area():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 2000), rng.normal(0, 1, 2000)
    assert mm.overlapping_area(a, b) > 0.93
    assert mm.overlapping_area(a, a + 10) < 0.01
    # N(0, 1) vs N(1, 1): 2 * Phi(-1/2) = 0.617
    assert mm.overlapping_area(a, rng.normal(1, 1, 2000)) == pytest.approx(0.617, abs=0.04)
    assert mm.overlapping_area(np.zeros(50), np.zeros(80)) == pytest.approx(1, abs=1e-3)
    assert math.isnan(mm.overlapping_area([np.nan], [1.0]))


def chorale_like(n, seed=0):
    rng = np.random.default_rng(seed)
    r = np.zeros((n, 2, 2, S, P), bool)
    for i in range(n):
        for k in range(8):
            root = rng.choice([0, 5, 7])
            r[i, 0, k // 4, 4 * (k % 4): 4 * (k % 4) + 4, 12 + root + 4] = True
            r[i, 1, k // 4, 4 * (k % 4): 4 * (k % 4) + 4, root] = True
    return r


def test_random_notes_baseline():
    data = chorale_like(50)
    base = mm.random_notes(data, 40, seed=1)
    assert base.shape == (40, 2, 2, S, P) and base.dtype == bool
    assert np.array_equal(base, mm.random_notes(data, 40, seed=1))
    assert base.sum(-1).max() <= 1  # monophonic tracks
    for i in range(2):  # only pitches the track plays in the data
        assert set(np.nonzero(base[:, i].any((0, 1, 2)))[0]) <= set(np.nonzero(data[:, i].any((0, 1, 2)))[0])
    t_data, _ = stats(data)
    t_base, _ = stats(base)
    assert t_base["QN/t0"] == 100  # all events are quarter notes: lengths are kept
    assert t_base["TD/t0-t1"] > t_data["TD/t0-t1"] + 0.1  # no harmony between the voices


def test_report_layout_and_model_report(monkeypatch):
    held = chorale_like(30, seed=2)
    info = {"tracks": ["hi", "lo"], "lowest_pitch": C4}
    monkeypatch.setattr(mm, "_held_out", lambda cfg: (held, info, "test"))
    model = types.SimpleNamespace(step=5, config=types.SimpleNamespace(recipe="musegan", data=None,
                                                                       sample=types.SimpleNamespace()))
    calls = []

    def sample(n, seed=0):
        calls.append(n)
        return torch.as_tensor(np.where(chorale_like(n, seed=seed % 7), 1.0, -1.0))
    model.sample = sample
    out = mm.evaluate_music_model(model, n=0, seed=0)
    assert calls == [500, 500] and out["n"] == mm.MIN_N and out["binarize"] == "hard"  # 2 chunks
    keys = list(out)
    assert keys.index("EB/hi/data") + 1 == keys.index("EB/hi/model")
    assert out["TD/hi-lo/data"] == pytest.approx(out["TD/hi-lo/model"], abs=0.1)
    assert out["OA/UPC/hi/model"] > 0.5 and "OA/TD/hi-lo/model" in out
    assert out["EB/hi/model"] == 0 and out["QN/lo/model"] == 100
