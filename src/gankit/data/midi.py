"""A user's MIDI files as ``"music"`` data: ``gankit train --data my_midis/``.

Each ``.mid`` / ``.midi`` file under the folder (recursive; hidden entries ignored) is read with
mido (the ``music`` extra, imported lazily) into the piano roll of :mod:`gankit.data.music`:
its note-bearing tracks (or, in a type-0 file, its channels) become tracks, the first
``max_tracks`` of them (percussion, channel 10, is left out: it has no pitch); time is
quantised to 16th notes from the file's ticks per beat, 4/4 assumed; phrases are ``bars``
bars, ``hop`` bars apart; the pitch range is what the files use. Files that cannot be read
(corrupt, truncated, not MIDI) or hold no notes, or no whole phrase, are skipped and named
(``info["skipped"]``, ``gankit data check``); a folder with no usable file is a UserError.
With 10 or more usable files, 10 % of the files (seeded) are the test split; with fewer, the
test split is the training data (``info["split"]`` says so).

The arrays are cached like the built-in corpora (:func:`gankit.data.music.cached_arrays`),
keyed by every file's path, size and modification time, and ``data.cache``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from .base import Data
from .music import (
    BEATS_PER_BAR,
    STEPS,
    STEPS_PER_BEAT,
    cached_arrays,
    phrases,
    pitch_range,
    split_pieces,
)

MIDI_EXTS = (".mid", ".midi")
DRUM_CHANNEL = 9  # General MIDI channel 10 (0-based 9): percussion, unpitched
MIN_SPLIT_FILES = 10


def require_mido():
    try:
        import mido
    except ImportError:
        raise UserError("MIDI files need the music extra (music21, mido): pip install -e '.[music]'") from None
    return mido


def list_midis(p: Path) -> list[Path]:
    """The MIDI files at ``p`` (a file, or a folder searched recursively), sorted."""
    if p.is_file():
        return [p]
    return sorted(f for f in p.rglob("*") if f.suffix.lower() in MIDI_EXTS and f.is_file()
                  and not any(part.startswith(".") for part in f.relative_to(p).parts))


def read_midi(path: Path, max_tracks: int) -> tuple[list[tuple[str, int, list]], int]:
    """``([(track name, GM program, [(start_step, end_step, pitch)])], steps)``; raises
    ValueError naming the problem for a file without notes."""
    mido = require_mido()
    mf = mido.MidiFile(str(path))  # raises on a corrupt file
    tpb = mf.ticks_per_beat or 480
    voices: dict[tuple[int, int], dict] = {}  # (track, channel) -> name, program, notes
    for ti, track in enumerate(mf.tracks):
        tick, name, programs, open_ = 0, "", {}, {}
        for msg in track:
            tick += msg.time
            if msg.type == "track_name":
                name = msg.name.strip()
            elif msg.type == "program_change":
                programs.setdefault(msg.channel, msg.program)
            elif msg.type in ("note_on", "note_off") and msg.channel != DRUM_CHANNEL:
                key = (ti, msg.channel)
                v = voices.setdefault(key, {"name": name, "program": 0, "notes": []})
                v["program"] = programs.get(msg.channel, v["program"])
                if msg.type == "note_on" and msg.velocity > 0:
                    open_.setdefault((msg.channel, msg.note), tick)
                elif (msg.channel, msg.note) in open_:
                    start = open_.pop((msg.channel, msg.note))
                    s = round(start / tpb * STEPS_PER_BEAT)
                    v["notes"].append((s, max(s + 1, round(tick / tpb * STEPS_PER_BEAT)), msg.note))
        for (ch, note), start in open_.items():  # never released: ends with its track
            s = round(start / tpb * STEPS_PER_BEAT)
            voices[(ti, ch)]["notes"].append((s, max(s + 1, round(tick / tpb * STEPS_PER_BEAT)), note))
    tracks = [(v["name"] or f"track {i + 1}", v["program"], v["notes"])
              for i, v in enumerate(x for x in voices.values() if x["notes"])][:max_tracks]
    if not tracks:
        raise ValueError("no notes")
    return tracks, max(e for _, _, notes in tracks for _, e, _ in notes)


def scan_midis(p: Path, max_tracks: int, progress: bool = True):
    """(pieces [(file, notes per track, steps)], names, programs, skipped [(file, why)])."""
    from tqdm.auto import tqdm

    files = list_midis(p)
    if not files:
        raise UserError(f"{p}: no MIDI files found (looked for {', '.join(MIDI_EXTS)})")
    pieces, skipped, names, programs = [], [], [], []
    for f in tqdm(files, desc=f"read {p.name}", unit="file", file=sys.stderr, disable=None if progress else True):
        try:
            tracks, steps = read_midi(f, max_tracks)
        except UserError:
            raise
        except Exception as e:  # noqa: BLE001 - mido raises many types for a bad file
            why = str(e) if isinstance(e, ValueError) and str(e) == "no notes" else \
                f"not a readable MIDI file ({type(e).__name__}{': ' if str(e) else ''}{e})"
            skipped.append((f, why))
            continue
        if steps < STEPS:
            skipped.append((f, "shorter than one bar"))
            continue
        if len(tracks) > len(names):  # the file with the most tracks names them
            names, programs = [t[0] for t in tracks], [t[1] for t in tracks]
        pieces.append((str(f), [t[2] for t in tracks], steps))
    if not pieces:
        f, why = skipped[0]
        raise UserError(f"{p}: no usable MIDI file: all {len(files)} failed (first: {f}: {why})")
    width = len(names)
    pieces = [(n, tracks + [[] for _ in range(width - len(tracks))], s) for n, tracks, s in pieces]
    return pieces, names, programs, skipped


def load_midi(path: Path, split: str = "train", cache: str = "auto", max_tracks: int = 4, bars: int = 4,
              hop: int = 4, seed: int = 0, layout: str = "auto") -> Data:
    """A folder (or file) of MIDI files as :class:`Data` of kind ``"music"`` (module docstring)."""
    if max_tracks < 1 or bars < 2 or hop < 1:
        raise UserError(f"data.kwargs: max_tracks must be >= 1, bars >= 2, hop >= 1 (got {max_tracks}, {bars}, {hop})")
    files = list_midis(path)
    stamp = []
    for f in files:
        st = f.stat()
        stamp.append((str(f), st.st_size, st.st_mtime_ns))
    what = {"files": stamp, "options": {"max_tracks": max_tracks, "bars": bars, "hop": hop, "seed": seed}}

    def build():
        pieces, names, programs, skipped = scan_midis(path, max_tracks)
        lo, n_p = pitch_range(pieces)
        usable, bad = [], list(skipped)
        for piece in pieces:  # a file must give at least one whole phrase
            if len(phrases([piece], lo, n_p, bars, hop, every_track=False)):
                usable.append(piece)
            else:
                bad.append((piece[0], f"no {bars}-bar phrase with notes"))
        if not usable:
            f, why = bad[0]
            raise UserError(f"{path}: no usable MIDI file: all {len(files)} failed (first: {f}: {why})")
        if len(usable) >= MIN_SPLIT_FILES:
            train, test = split_pieces(usable, 0.1, seed)
        else:
            train, test = usable, []
        arrays = {"train": phrases(train, lo, n_p, bars, hop, every_track=False),
                  "test": phrases(test or train, lo, n_p, bars, bars, every_track=False)}
        info = {"lowest_pitch": int(lo), "tracks": names, "programs": programs,
                "skipped": [str(f) for f, _ in bad], "skip_reasons": {str(f): why for f, why in bad},
                "split_by_file": bool(test),
                "pieces": {"train": [p[0] for p in train], "test": [p[0] for p in test or train]}}
        return arrays, info

    arrays, info = cached_arrays(str(path), what, build, cache)
    x = torch.from_numpy(np.ascontiguousarray(arrays[split if split in arrays else "train"]))
    out = {k: v for k, v in info.items() if k not in ("pieces", "split_by_file")}
    out.update(steps_per_beat=STEPS_PER_BEAT, beats_per_bar=BEATS_PER_BAR, tempo=120, format="midi",
               source=f"MIDI files in {path}", pieces=info["pieces"].get(split, info["pieces"]["train"]))
    if split != "train" and not info["split_by_file"]:
        out["split"] = f"{split} requested, fewer than {MIN_SPLIT_FILES} usable MIDI files: using the training files"
    return Data(str(path), "music", x, info=out)


def check_midi(p: Path, **kwargs) -> dict:
    """``gankit data check`` for MIDI files: counts, tracks, pitch range, phrases per split and
    every skipped file by name (read exactly as training reads them, without the cache)."""
    splits = {s: load_midi(p, s, "off", **kwargs) for s in ("train", "test")}
    d = splits["train"]
    bad = [{"file": f, "problem": d.info["skip_reasons"][f]} for f in d.info["skipped"]]
    lo = d.info["lowest_pitch"]
    lines = [f"{p}: music (midi); {len(list_midis(p))} MIDI files, {len(bad)} skipped",
             f"tracks ({len(d.info['tracks'])}): {', '.join(d.info['tracks'])}; pitches {lo}..{lo + d.shape[-1] - 1}",
             f"train {len(d)}, test {len(splits['test'])} phrases of shape {list(d.shape)} (tracks, bars, steps, "
             f"pitches)" + (f"; {splits['test'].info['split']}" if "split" in splits["test"].info else "")]
    lines += [f"unreadable: {b['file']}: {b['problem']}" for b in bad]
    lines.append(f"train with: gankit train --data {p}")
    return {"path": str(p), "format": "midi", "kind": "music", "ok": True, "unreadable": bad,
            "splits": {s: len(v) for s, v in splits.items()}, "tracks": d.info["tracks"], "text": "\n".join(lines)}
