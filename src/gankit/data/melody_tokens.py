"""Folk melodies as note tokens: ``folk-melodies-tokens``, text-like data for the sequence GANs.

SeqGAN's music experiment (Yu et al., AAAI 2017, sec. "Music Generation") trains on folk tunes
(Nottingham) as token sequences of length 32 and reports BLEU-4 (MLE 0.9210, SeqGAN 0.9406).
This dataset puts the Essen folksong collection (``folk-melodies``, :mod:`gankit.data.music`: a
different corpus than Nottingham, so the numbers are not comparable to the paper's; its licence
permits non-commercial use only) in the same form, so ``gumbel-gan`` and ``seqgan`` train on it
unchanged and ``gankit eval`` reports their BLEU-n (:mod:`gankit.metrics.text_metrics`).

A token is one *note* (its pitch and its duration together) or a *rest* (its duration): one
character each, separated by spaces, so the text metrics' words are notes and BLEU-4 counts
4-note n-grams. ``data.kwargs.seq_len`` = 64 characters is 32 tokens, SeqGAN's length. The
characters are letters (``info["tokens"]`` names each, e.g. ``"G4 1/8"``);
:func:`text_to_notes` turns a sample back into notes. Durations are rounded to the nearest of
:data:`DURATIONS` (16th-note steps); the tunes come from ``folk-melodies``' piano rolls (4-bar
phrases, in order), so repeated same-pitch notes there are already one note
(:mod:`gankit.data.pianoroll`), and a tune's phrases follow each other in the text (a window may
span the end of one tune and the start of the next).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..errors import UserError
from . import music
from .base import Data, register_dataset
from .pianoroll import note_name, roll_to_notes
from .text import text_data

DURATIONS = (1, 2, 3, 4, 6, 8, 12, 16)  # 16th-note steps: 1/16 .. a whole note
SEQ_LEN = 64  # characters: 32 tokens
# one letter per token: the text metrics' word pattern reads each as one token (the data is
# never lower-cased). Latin Extended-A/B, IPA, Greek and Cyrillic blocks whose letters DejaVu
# Sans Mono (matplotlib's font, used by the text previews) all draws: 444 letters, enough for
# 54 pitches x 8 durations + rests.
_BLOCKS = ((0x100, 0x1C4), (0x250, 0x2B0), (0x391, 0x3CA), (0x400, 0x460))
CHARS = "".join(c for lo, hi in _BLOCKS for c in map(chr, range(lo, hi)) if c.isalpha() and c.isprintable())


def melody_events(roll, lowest_pitch: int) -> list[tuple[int | None, int]]:
    """A one-track roll ``[B, S, P]`` -> ``(midi pitch or None for a rest, steps)`` in time
    order; where notes overlap the highest at an onset is kept and later overlapping ones are
    dropped (the tunes are monophonic; this only guards against chords)."""
    events, now = [], 0
    notes = roll_to_notes(roll, lowest_pitch)
    top = {s: (e, p) for s, e, p in notes}  # sorted by (start, pitch): the highest wins
    for start in sorted(top):
        end, pitch = top[start]
        if start < now:
            continue
        if start > now:
            events.append((None, start - now))
        events.append((pitch, end - start))
        now = end
    total = int(np.prod(np.asarray(roll).shape[:-1]))
    if now < total:
        events.append((None, total - now))
    return events


def _duration_index(steps: int) -> int:
    return int(np.argmin([abs(d - steps) for d in DURATIONS]))


def token_char(pitch: int | None, steps: int, lowest_pitch: int, n_pitches: int) -> str:
    """The character of a note (``pitch``) or a rest (``None``) of ``steps`` 16th-note steps."""
    row = n_pitches if pitch is None else pitch - lowest_pitch
    return CHARS[row * len(DURATIONS) + _duration_index(steps)]


def token_name(ch: str, lowest_pitch: int, n_pitches: int) -> str:
    """``"G4 1/8"`` or ``"rest 1/4"``: what a token character means."""
    row, k = divmod(CHARS.index(ch), len(DURATIONS))
    what = "rest" if row == n_pitches else note_name(lowest_pitch + row)
    return f"{what} {Fraction(DURATIONS[k], 16)}"


def melody_text(rolls, lowest_pitch: int) -> str:
    """One-track rolls ``[N, 1, B, S, P]`` -> their tokens, space-separated, phrase after phrase."""
    r = np.asarray(rolls).astype(bool)
    p = r.shape[-1]
    if (p + 1) * len(DURATIONS) > len(CHARS):
        raise UserError(f"folk-melodies-tokens: {p} pitches need more token characters than there are")
    return " ".join(token_char(pitch, steps, lowest_pitch, p)
                    for phrase in r for pitch, steps in melody_events(phrase[0], lowest_pitch))


def text_to_notes(text: str, info: dict) -> list[tuple[int, int, int]]:
    """A sample's characters -> notes ``(start_step, end_step, midi_pitch)`` (rests advance
    time; spaces and characters that are not tokens are skipped)."""
    low, n_p = int(info["lowest_pitch"]), int(info["n_pitches"])
    now, notes = 0, []
    for ch in text:
        if ch not in CHARS or CHARS.index(ch) >= (n_p + 1) * len(DURATIONS):
            continue
        row, k = divmod(CHARS.index(ch), len(DURATIONS))
        if row < n_p:
            notes.append((now, now + DURATIONS[k], low + row))
        now += DURATIONS[k]
    return notes


@register_dataset("folk-melodies-tokens", "Essen folk tunes as note tokens (pitch x duration; licence: "
                  "non-commercial use only), 32 notes", recipe="seqgan")
def folk_melody_tokens(resolution: int = 0, split: str = "train", seq_len: int = SEQ_LEN, n: int = 20000,
                       limit: int = 0, min_count: int = 1) -> Data:
    """``folk-melodies`` (``limit``: its first ABC files) as token windows of ``seq_len``
    characters (``seq_len / 2`` tokens); at most ``n`` training windows (a quarter as many
    held-out), evenly spaced."""
    train, test = (music.folk_melodies(split=s, limit=limit) for s in ("train", "test"))
    low, n_p = int(train.info["lowest_pitch"]), int(train.x.shape[-1])
    texts = {s: melody_text(d.x, low) for s, d in (("train", train), ("test", test))}
    used = sorted(set(texts["train"] + texts["test"]) - {" "})
    info = {"source": f"{music.ESSEN_LICENCE}; one token per note or rest", "lowest_pitch": low,
            "n_pitches": n_p, "durations": list(DURATIONS),
            "tokens": {c: token_name(c, low, n_p) for c in used}}
    return text_data("folk-melodies-tokens", texts["train"], texts["test"], split, seq_len,
                     n if split == "train" else n // 4, False, min_count, info)


def _catalog_row() -> dict:
    """``gankit data list``'s row without parsing the Essen corpus (it is built from
    ``folk-melodies``, which music21 parses on first use, a few minutes, then caches)."""
    return {"kind": "text", "classes": 0, "size": "?", "shape": [SEQ_LEN],
            "note": "built from folk-melodies on first use (parsed with music21, then cached)"}


folk_melody_tokens.catalog_row = _catalog_row
