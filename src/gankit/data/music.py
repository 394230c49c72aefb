"""Music as multi-track piano rolls: the ``"music"`` data kind's built-in datasets.

An example is a phrase of ``bars`` 4/4 bars as a binary piano roll, uint8 ``[T, B, S, P]``
(tracks, bars, 16th-note steps per bar, pitches; pitch index 0 is MIDI note
``info["lowest_pitch"]``), a dataset ``[N, T, B, S, P]``, as MuseGAN's (Dong et al., AAAI 2018)
tensors with the tracks first. A held note is a run of consecutive 1s; two repeated notes of the
same pitch are not separable in this representation (as in MuseGAN's piano rolls), so a voice
that sings G4 G4 reads back as one G4 of twice the length (:mod:`gankit.data.pianoroll`).

* ``bach-chorales``: the chorales of ``music21.corpus.chorales.Iterator`` that have exactly the
  four parts Soprano, Alto, Tenor, Bass and only 4/4 time (~300); a pickup bar is padded with
  rests so bars start on downbeats; notes are quantised to 16ths (shorter ornaments last one
  step). Phrases of ``bars`` bars start every ``hop`` bars. The held-out split is ~10 % of the
  *chorales* (seeded), so no chorale has phrases in both splits. Training phrases are also
  transposed to every key (-6..+5 semitones) whose notes stay inside the pitch range the
  voices use in the original keys (``P`` pitches, decided from the corpus); the test split keeps
  the original keys. ``transpose: c`` instead moves each training chorale to C major / A minor.
* ``folk-melodies``: the Essen folksong collection's ABC files in music21's corpus (one track;
  the 4/4 tunes; split by tune). The Essen collection's licence permits non-commercial use
  only.

Scores are parsed once with music21 (the ``music`` extra, imported lazily: the rest of gankit
works without it) and the arrays are cached under the data cache (``$GANKIT_CACHE``, else
``~/.cache/gankit``; :func:`gankit.data.cache.cache_root`) in ``music/<name>-<key>/``, keyed by
the options, the corpus files and the music21 version; later runs read the ``.npy`` files.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from .base import Data, register_dataset
from .cache_paths import _say
from .pianoroll import MAJOR

VERSION = 1  # of the cached arrays; bump when parsing changes
STEPS_PER_BEAT, BEATS_PER_BAR = 4, 4
STEPS = STEPS_PER_BEAT * BEATS_PER_BAR  # 16th-note steps per 4/4 bar
SATB = ("Soprano", "Alto", "Tenor", "Bass")
CHOIR = 52  # General MIDI "Choir Aahs" (0-based): the chorales are sung
FLUTE = 73
ESSEN_LICENCE = "Essen folksong collection (music21 corpus); its licence permits non-commercial use only"


def require_music21():
    """The music21 module, or a UserError naming the extra to install."""
    try:
        import music21
    except ImportError:
        raise UserError("music data needs the music extra (music21, mido): pip install -e '.[music]'") from None
    return music21


# --------------------------------------------------------------------------- parsing
def score_notes(score, parts, bar_q: float = 4.0):
    """``(notes per part [(start_step, end_step, midi)], total steps)`` of a music21 score on
    the 16th grid, with a pickup bar padded to a full bar; None when a part has no notes."""
    first = parts[0].getElementsByClass("Measure")
    shift = 0.0
    if len(first) and first[0].duration.quarterLength < bar_q:  # pickup: pad to the downbeat
        shift = bar_q - float(first[0].duration.quarterLength)
    out, end = [], 0
    for part in parts:
        notes = []
        for n in part.flatten().notes:
            ql = float(n.quarterLength)
            if ql <= 0:  # grace notes take no time
                continue
            s = round((float(n.offset) + shift) * STEPS_PER_BEAT)
            e = max(s + 1, round((float(n.offset) + shift + ql) * STEPS_PER_BEAT))
            notes += [(s, e, p.midi) for p in n.pitches]
        if not notes:
            return None
        end = max(end, max(e for _, e, _ in notes))
        out.append(notes)
    return out, end


def only_common_time(score) -> bool:
    sigs = score.recurse().getElementsByClass("TimeSignature")
    return len(sigs) > 0 and all(ts.ratioString == "4/4" for ts in sigs)


def parse_chorales(limit: int = 0) -> list[tuple[str, list, int]]:
    """``(name, notes per voice, steps)`` of every SATB 4/4 chorale (the first ``limit`` files of
    the iterator when ``limit`` > 0), with a progress bar."""
    from tqdm.auto import tqdm

    m21 = require_music21()
    names = list(m21.corpus.chorales.Iterator(returnType="filename"))
    if limit:
        names = names[:limit]
    out = []
    for name in tqdm(names, desc="parse bach-chorales (once)", unit="chorale", file=sys.stderr,
                     dynamic_ncols=True, mininterval=0.5):
        try:
            s = m21.corpus.parse(name)
        except Exception as e:  # noqa: BLE001 - a score music21 cannot read is left out, and said
            _say(f"bach-chorales: left out {name} ({type(e).__name__}: {e})")
            continue
        if tuple(p.partName for p in s.parts) != SATB or not only_common_time(s):
            continue
        got = score_notes(s, list(s.parts))
        if got is not None:
            out.append((name.split("/")[-1], got[0], got[1]))
    return out


def parse_essen(limit: int = 0) -> list[tuple[str, list, int]]:
    """``(file:tune number, [notes], steps)`` of every 4/4 Essen tune (``limit``: files)."""
    from tqdm.auto import tqdm

    m21 = require_music21()
    files = sorted(m21.corpus.getComposer("essenFolksong"))
    if limit:
        files = files[:limit]
    out, bad = [], 0
    for f in tqdm(files, desc="parse folk-melodies (once)", unit="file", file=sys.stderr, dynamic_ncols=True):
        try:
            opus = m21.converter.parse(f)
        except Exception as e:  # noqa: BLE001 - a file music21 cannot read is left out, and said
            _say(f"folk-melodies: left out {f} ({type(e).__name__}: {e})")
            continue
        for i, s in enumerate(getattr(opus, "scores", [opus])):
            try:
                keep = only_common_time(s)
                got = score_notes(s, (list(s.parts) or [s])[:1]) if keep else None
            except Exception:  # noqa: BLE001 - a malformed tune is left out (counted below)
                got = None
                bad += 1
            if got is not None:
                out.append((f"{Path(f).stem}:{s.metadata.number if s.metadata else i}:{i}", got[0], got[1]))
    if bad:
        _say(f"folk-melodies: left out {bad} tunes music21 could not read")
    return out


# --------------------------------------------------------------------------- phrases
def phrases(pieces, lo: int, n_pitches: int, bars: int, hop: int, shifts=(0,), every_track: bool = True) -> np.ndarray:
    """uint8 [N, T, bars, 16, P]: every whole ``bars``-bar window (starts ``hop`` bars apart) of
    every piece, once per semitone shift in ``shifts`` that keeps its notes within
    [lo, lo + P); windows where a track (``every_track``; else all tracks) is silent throughout
    are left out."""
    out = []
    for _, tracks, steps in pieces:
        roll = np.zeros((len(tracks), steps, 128), np.uint8)
        for t, notes in enumerate(tracks):
            for s, e, p in notes:
                roll[t, s:e, p] = 1
        n_bars = steps // STEPS
        for b0 in range(0, n_bars - bars + 1, hop):
            w = roll[:, b0 * STEPS:(b0 + bars) * STEPS]  # [T, bars*16, 128]
            sounding = w.any(axis=(1, 2))
            if not (sounding.all() if every_track else sounding.any()):
                continue
            used = np.nonzero(w.any(axis=(0, 1)))[0]
            for k in shifts:
                if used[0] + k < lo or used[-1] + k >= lo + n_pitches:
                    continue
                x = w[:, :, lo - k:lo - k + n_pitches]
                out.append(x.reshape(len(tracks), bars, STEPS, n_pitches))
    if not out:
        return np.zeros((0, len(pieces[0][1]) if pieces else 1, bars, STEPS, n_pitches), np.uint8)
    return np.stack(out)


def tonic_shift(tracks: list) -> int:
    """The semitone shift in -6..+5 that moves a piece's best-fitting major scale (the one
    holding the most note-steps; its relative minor shares it) to C major / A minor. Ties go to
    the smallest shift."""
    hist = np.zeros(12)
    for notes in tracks:
        for s, e, p in notes:
            hist[p % 12] += e - s
    fit = [hist[[(t + d) % 12 for d in MAJOR]].sum() for t in range(12)]  # t: the scale's tonic
    k = -int(np.argmax(fit)) % 12
    return k - 12 if k > 5 else k


def in_c(piece: tuple) -> tuple:
    """``piece`` (name, notes per track, steps) moved by :func:`tonic_shift` to C major / A minor."""
    name, tracks, steps = piece
    k = tonic_shift(tracks)
    return name, [[(s, e, p + k) for s, e, p in notes] for notes in tracks], steps


def split_pieces(pieces: list, test_fraction: float, seed: int) -> tuple[list, list]:
    """(train, test) pieces: a seeded ``test_fraction`` of the pieces (at least one) held out."""
    order = np.random.default_rng(seed).permutation(len(pieces))
    n_test = max(1, round(test_fraction * len(pieces))) if len(pieces) > 1 else 0
    test = {int(i) for i in order[:n_test]}
    return ([p for i, p in enumerate(pieces) if i not in test], [p for i, p in enumerate(pieces) if i in test])


def pitch_range(pieces: list) -> tuple[int, int]:
    """(lowest MIDI pitch, number of pitches) the pieces use."""
    ps = [p for _, tracks, _ in pieces for notes in tracks for _, _, p in notes]
    if not ps:
        raise UserError("music data: no notes found")
    return min(ps), max(ps) - min(ps) + 1


# --------------------------------------------------------------------------- cache
def cache_entry(root: Path, name: str, what: dict) -> Path:
    key = hashlib.sha256(json.dumps({"v": VERSION, "name": name, **what}, sort_keys=True).encode()).hexdigest()[:16]
    return root / "music" / f"{Path(name).name}-{key}"


def cached_arrays(name: str, what: dict, build, cache: str = "auto") -> tuple[dict[str, np.ndarray], dict]:
    """``({"train": x, "test": x}, info)`` from the cache entry keyed by ``what`` (options,
    sources, library versions), or built by ``build()`` and stored (``cache="off"``: built)."""
    from .cache_paths import cache_root

    root = cache_root(cache)
    if root is None:
        return build()
    entry = cache_entry(root, name, what)
    if (entry / "info.json").is_file():
        info = json.loads((entry / "info.json").read_text())
        return {s: np.load(entry / f"{s}.npy") for s in ("train", "test")}, info
    arrays, info = build()
    tmp = entry.with_name(f".{entry.name}.tmp-{os.getpid()}")
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        for s, x in arrays.items():
            np.save(tmp / f"{s}.npy", x)
        (tmp / "info.json").write_text(json.dumps(info))  # written last: marks a whole entry
        os.replace(tmp, entry) if not entry.exists() else shutil.rmtree(tmp)
        _say(f"cached {name} in {entry} (later runs read it from there without parsing)")
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        _say(f"could not cache {name} in {root} ({e}); parsing again next time")
    return arrays, info


def corpus_data(name: str, split: str, pieces_fn, options: dict, info: dict, transpose: bool | str, bars: int,
                hop: int, test_fraction: float, seed: int) -> Data:
    """Phrases of a parsed corpus, split by piece, cached; :class:`Data` of kind ``"music"``."""
    if split not in ("train", "test"):
        raise UserError(f"{name}: split must be train or test, got {split!r}")
    mode = {True: "all", False: "none"}.get(transpose, str(transpose).lower())
    if mode not in ("all", "none", "c"):
        raise UserError(f"{name}: data.kwargs.transpose must be all, none or c, got {transpose!r}")
    if bars < 2 or hop < 1 or not 0 < test_fraction < 1:
        raise UserError(f"{name}: data.kwargs bars must be >= 2, hop >= 1, 0 < test_fraction < 1 "
                        f"(got {bars}, {hop}, {test_fraction})")

    def build():
        pieces = pieces_fn()
        if len(pieces) < 2:
            raise UserError(f"{name}: fewer than two usable pieces; nothing to split")
        train, test = split_pieces(pieces, test_fraction, seed)
        if mode == "c":  # each training piece moved to C; the range holds both keys
            train = [in_c(p) for p in train]
            lo, n_p = pitch_range(pieces + train)
        else:
            lo, n_p = pitch_range(pieces)
        shifts = tuple(range(-6, 6)) if mode == "all" else (0,)
        arrays = {"train": phrases(train, lo, n_p, bars, hop, shifts), "test": phrases(test, lo, n_p, bars, bars)}
        meta = {"lowest_pitch": int(lo), "pieces": {"train": [p[0] for p in train], "test": [p[0] for p in test]}}
        return arrays, meta

    arrays, cached = cached_arrays(name, corpus_key(options), build)
    x = torch.from_numpy(arrays[split])
    if len(x) == 0:
        raise UserError(f"{name}: no {bars}-bar phrases in the {split} split")
    return Data(name, "music", x, info={**info, "lowest_pitch": cached["lowest_pitch"], "split": split,
                                        "steps_per_beat": STEPS_PER_BEAT, "beats_per_bar": BEATS_PER_BAR,
                                        "pieces": cached["pieces"][split]})


def corpus_key(options: dict) -> dict:
    return {"options": options, "music21": require_music21().__version__}


def catalog_row(name: str, options: dict, tracks: int):
    """``gankit data list``'s row for a corpus without parsing it: its size and shape from the
    cache when it was parsed before, else what the first use will do."""
    from .cache_paths import cache_root

    row = {"kind": "music", "classes": 0, "size": "?", "shape": [tracks, options["bars"], STEPS, "P"]}
    try:
        entry = cache_entry(cache_root("auto"), name, corpus_key(options))
    except UserError as e:
        return {**row, "note": str(e)}
    if (entry / "info.json").is_file():
        x = np.load(entry / "train.npy", mmap_mode="r")
        return {**row, "size": len(x), "shape": list(x.shape[1:])}
    return {**row, "note": "parsed with music21 on first use (a few minutes), then cached"}


@register_dataset("bach-chorales", "Bach chorales (music21), SATB 4-bar phrases, 16th steps, train in all keys",
                  recipe="musegan")
def bach_chorales(resolution: int = 0, split: str = "train", bars: int = 4, hop: int = 4, transpose: bool | str = True,
                  test_fraction: float = 0.1, seed: int = 0, limit: int = 0) -> Data:
    """Bach's four-part chorales (see the module docstring); ``limit`` parses only the first
    ``limit`` files (tests). ``transpose``: ``true``/``"all"`` puts every training phrase in all
    12 keys, ``false``/``"none"`` keeps the chorales' keys (MuseGAN's own data is not
    transposed), ``"c"`` moves each training chorale to C major / A minor
    (:func:`tonic_shift`), so G learns one key (the test split keeps its keys either way; every
    music metric is the same in any key)."""
    options = {"bars": bars, "hop": hop, "transpose": transpose, "test_fraction": test_fraction, "seed": seed,
               "limit": limit}
    info = {"tracks": list(SATB), "programs": [CHOIR] * 4, "tempo": 80,
            "source": "J. S. Bach, four-part chorales (music21 corpus; public domain)"}
    return corpus_data("bach-chorales", split, lambda: parse_chorales(limit), options, info, transpose, bars, hop,
                       test_fraction, seed)


bach_chorales.catalog_row = lambda: catalog_row("bach-chorales", _defaults(bach_chorales), len(SATB))


@register_dataset("folk-melodies", "Essen folk tunes (music21; licence: non-commercial use only), 4-bar phrases",
                  recipe="musegan")
def folk_melodies(resolution: int = 0, split: str = "train", bars: int = 4, hop: int = 4, test_fraction: float = 0.1,
                  seed: int = 0, limit: int = 0) -> Data:
    """The Essen folksong collection's 4/4 tunes as one-track rolls (see the module docstring);
    ``limit`` parses only the first ``limit`` ABC files."""
    options = {"bars": bars, "hop": hop, "test_fraction": test_fraction, "seed": seed, "limit": limit}
    info = {"tracks": ["Melody"], "programs": [FLUTE], "tempo": 100, "source": ESSEN_LICENCE}
    return corpus_data("folk-melodies", split, lambda: parse_essen(limit), options, info, False, bars, hop,
                       test_fraction, seed)


folk_melodies.catalog_row = lambda: catalog_row("folk-melodies", _defaults(folk_melodies), 1)


def _defaults(fn) -> dict:
    """A builder's default options (what ``gankit train --data NAME`` parses)."""
    import inspect

    return {k: v.default for k, v in inspect.signature(fn).parameters.items() if k not in ("resolution", "split")}
