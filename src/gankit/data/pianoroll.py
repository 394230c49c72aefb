"""Piano rolls <-> notes, and the binarisation of a generator's output (pure numpy).

A piano roll here is a boolean grid ``[time steps, pitches]`` (or ``[bars, steps per bar,
pitches]``, flattened bar after bar) where pitch index 0 is MIDI note ``lowest_pitch``. A held
note is a run of consecutive 1s in one pitch column. As in MuseGAN's piano rolls (Dong et al.,
AAAI 2018), two repeated notes of the same pitch with no rest between them are *not* separable
in this representation: they read back as one long note. The music data kind
(``Data.x``: ``[N, tracks, bars, steps, pitches]``), the MIDI/WAV writers and the music metrics
all go through these three functions, so "what a note is" is decided once.
"""
from __future__ import annotations

import numpy as np

BINARIZE_MODES = ("hard", "bernoulli")
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MAJOR = (0, 2, 4, 5, 7, 9, 11)  # the major scale's degrees, semitones above its tonic


def note_name(pitch: int) -> str:
    """MIDI number -> scientific pitch name (60 -> ``C4``)."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def binarize(x, mode: str = "hard", seed: int = 0) -> np.ndarray:
    """A generator's activations in [-1, 1] (tanh) -> a boolean roll of the same shape.

    MuseGAN (sec. "Proposed model", binarisation) compares the two at test time:
    ``"hard"`` thresholds at 0 (the midpoint of tanh's range, i.e. probability 1/2);
    ``"bernoulli"`` turns each step on with probability ``(x + 1) / 2``, seeded so a sample
    writes the same files twice.
    """
    a = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float32)
    if mode == "hard":
        return a > 0
    if mode == "bernoulli":
        p = np.clip((a + 1.0) / 2.0, 0.0, 1.0)
        return np.random.default_rng(seed).random(a.shape, dtype=np.float32) < p
    raise ValueError(f"binarize: mode must be one of {BINARIZE_MODES}, got {mode!r}")


def binarize_mode(config) -> str:
    """How a checkpoint binarises: ``config.sample.binarize`` where its config has that key
    (the music recipes' sample option), else ``"hard"``."""
    return str(getattr(getattr(config, "sample", None), "binarize", None) or "hard")


def _flat(roll) -> np.ndarray:
    """[B, S, P] or [S_total, P] -> bool [S_total, P]."""
    r = np.asarray(roll).astype(bool)
    if r.ndim == 3:
        r = r.reshape(-1, r.shape[-1])
    if r.ndim != 2:
        raise ValueError(f"a piano roll is [bars, steps, pitches] or [steps, pitches], "
                         f"got shape {tuple(r.shape)}")
    return r


def roll_to_notes(roll, lowest_pitch: int) -> list[tuple[int, int, int]]:
    """The notes of a roll: ``(start_step, end_step, midi_pitch)``, end exclusive.

    Each maximal run of 1s in a pitch column is one note (see the module docstring: repeated
    same-pitch notes merge). Bars are concatenated, so a note held across a bar line is one
    note. Sorted by start, then pitch.
    """
    r = _flat(roll)
    # onsets/offsets from the difference of the zero-padded column: +1 where a run starts,
    # -1 one past where it ends
    pad = np.zeros((1, r.shape[1]), np.int8)
    d = np.diff(np.concatenate([pad, r.astype(np.int8), pad]), axis=0)
    s_t, s_p = np.nonzero(d == 1)
    e_t, e_p = np.nonzero(d == -1)
    # np.nonzero walks row-major (time first); order both by (pitch, time) to pair each
    # onset with its own offset, then sort the notes by (start, pitch)
    so, eo = np.lexsort((s_t, s_p)), np.lexsort((e_t, e_p))
    notes = [(int(a), int(b), int(p) + lowest_pitch)
             for a, b, p in zip(s_t[so], e_t[eo], s_p[so], strict=True)]
    notes.sort(key=lambda n: (n[0], n[2]))
    return notes


def notes_to_roll(notes, n_steps: int, lowest_pitch: int, n_pitches: int) -> np.ndarray:
    """Notes ``(start_step, end_step, midi_pitch)`` (end exclusive) -> bool ``[n_steps, P]``.

    Notes outside the pitch range are dropped and notes are clipped to ``n_steps``: the caller
    (a dataset parser) decides the range and counts what it loses.
    """
    roll = np.zeros((n_steps, n_pitches), bool)
    for start, end, pitch in notes:
        p = int(pitch) - lowest_pitch
        a, b = max(int(start), 0), min(int(end), n_steps)
        if 0 <= p < n_pitches and b > a:
            roll[a:b, p] = True
    return roll
