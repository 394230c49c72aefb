"""Piano rolls: binarisation (hard / seeded Bernoulli), rolls -> notes -> rolls."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gankit.data.pianoroll import binarize, notes_to_roll, roll_to_notes


def test_binarize_hard_and_bernoulli():
    x = np.array([-1.0, -0.1, 0.0, 0.1, 1.0], np.float32)
    assert binarize(x).tolist() == [False, False, False, True, True]
    assert binarize(torch.tensor(x)).tolist() == [False, False, False, True, True]
    big = np.full((200, 100), 0.5, np.float32)  # p = 0.75
    a, b = binarize(big, "bernoulli", seed=3), binarize(big, "bernoulli", seed=3)
    assert a.dtype == bool and np.array_equal(a, b)  # seeded
    assert not np.array_equal(a, binarize(big, "bernoulli", seed=4))
    assert abs(a.mean() - 0.75) < 0.02
    ends = binarize(np.array([-1.0, 1.0] * 500, np.float32), "bernoulli")
    assert ends.tolist() == [False, True] * 500  # p = 0 and p = 1 exactly
    with pytest.raises(ValueError, match="hard"):
        binarize(x, "soft")


def test_roll_to_notes_runs_are_notes():
    roll = np.zeros((16, 5), bool)
    roll[0:4, 0] = True   # held: one note
    roll[4:6, 0] = True   # touching the first one: merges (not separable, as in MuseGAN)
    roll[8:9, 2] = True
    roll[10:12, 2] = True  # a rest between: two notes
    roll[15, 4] = True     # to the last step
    assert roll_to_notes(roll, 60) == [(0, 6, 60), (8, 9, 62), (10, 12, 62), (15, 16, 64)]
    assert roll_to_notes(np.zeros((8, 3), bool), 60) == []


def test_bars_concatenate_and_round_trip():
    rng = np.random.default_rng(0)
    roll = rng.random((4, 16, 12)) < 0.3  # [bars, steps, pitches]
    notes = roll_to_notes(roll, 48)
    assert notes == sorted(notes, key=lambda n: (n[0], n[2]))
    back = notes_to_roll(notes, 64, 48, 12)
    assert np.array_equal(back, roll.reshape(64, 12))
    # a note held across a bar line is one note
    held = np.zeros((2, 4, 1), bool)
    held[0, 2:, 0] = held[1, :2, 0] = True
    assert roll_to_notes(held, 70) == [(2, 6, 70)]


def test_notes_to_roll_clips_and_drops():
    r = notes_to_roll([(2, 40, 61), (0, 2, 59), (1, 3, 80)], 8, 60, 4)
    assert r.shape == (8, 4) and r[:, 1].tolist() == [False, False] + [True] * 6
    assert r.sum() == 6  # below and above the range are dropped
    with pytest.raises(ValueError, match="pitches"):
        roll_to_notes(np.zeros((2, 2, 2, 2)), 0)
