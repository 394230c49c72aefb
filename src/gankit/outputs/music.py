"""Music outputs: a MIDI file, a piano-roll PNG and a ``.wav`` per sample, and a grid.

``gankit sample`` on a music checkpoint (data kind ``"music"``: piano rolls
``[N, tracks, bars, steps, pitches]``, see :mod:`gankit.data.pianoroll`) writes

* ``000000.mid`` ...: a type-1 Standard MIDI File (a conductor track with the tempo, the time
  signature and the provenance as text meta events ``gankit:recipe=...``, the same keys as the
  PNGs' text chunks; then one named track per voice with its General MIDI program). Notes are
  the runs of 1s of the binarised roll, so a held note is one note (repeated notes of one pitch
  with no rest between them merge: the piano roll cannot tell them apart, as in MuseGAN).
* ``000000.png`` ...: the piano roll (tracks coloured, bar and beat lines, note names on the
  pitch axis), with provenance text chunks; ``grid.png``: up to 16 samples.
* ``000000.wav`` ...: the sample played by our own small synthesiser (:mod:`.music_audio`).

The generator's activations are binarised with ``config.sample.binarize`` when the checkpoint
has that key ("hard" or "bernoulli", MuseGAN's two test-time modes), else "hard". Writing MIDI
needs ``mido`` (the ``music`` extra), imported only here.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..data.pianoroll import binarize, binarize_mode, note_name, roll_to_notes
from ..errors import UserError
from . import music_audio

TICKS_PER_BEAT = 480
VELOCITY = 80
GRID_MAX = 16


def music_info(info: dict, n_tracks: int) -> dict:
    """The data's ``info`` with the playback defaults filled in (names, programs, 4/4 at 90)."""
    names = list(info.get("tracks") or [f"track {i + 1}" for i in range(n_tracks)])
    programs = list(info.get("programs") or [0] * n_tracks)
    return {"tracks": names, "programs": programs, "lowest_pitch": int(info.get("lowest_pitch", 0)),
            "steps_per_beat": int(info.get("steps_per_beat", 4)),
            "beats_per_bar": int(info.get("beats_per_bar", 4)), "tempo": float(info.get("tempo", 90))}


def to_rolls(x, mode: str = "hard", seed: int = 0) -> np.ndarray:
    """Generated activations in [-1, 1] (or a real {0, 1} uint8 roll) -> bool [N, T, B, S, P]."""
    if isinstance(x, torch.Tensor) and not x.is_floating_point():
        x = x.cpu().numpy()
    if isinstance(x, np.ndarray) and (x.dtype == bool or np.issubdtype(x.dtype, np.integer)):
        rolls = x.astype(bool)
    else:
        rolls = binarize(x, mode, seed)
    if rolls.ndim != 5:
        raise ValueError(f"music samples are [N, tracks, bars, steps, pitches], got {rolls.shape}")
    return rolls


# --------------------------------------------------------------------------- MIDI


def _mido():
    try:
        import mido
    except ImportError:
        raise UserError("writing MIDI files needs mido: pip install 'gankit[music]'") from None
    return mido


def _latin1(s: str) -> str:
    """MIDI text meta events are bytes; mido writes them latin-1 (others become '?')."""
    return str(s).encode("latin-1", "replace").decode("latin-1")


def _channel(i: int) -> int:
    """Track i's MIDI channel, skipping channel 10 (index 9: General MIDI percussion)."""
    return [c for c in range(16) if c != 9][i % 15]


def to_midi(roll: np.ndarray, info: dict, text: dict | None = None, title: str = "gankit sample"):
    """One sample ``[T, B, S, P]`` -> a type-1 ``mido.MidiFile`` (conductor track + a track per
    voice). ``text``: ``{key: value}`` written as ``key=value`` text meta events."""
    mido = _mido()
    inf = music_info(info, roll.shape[0])
    step = TICKS_PER_BEAT // inf["steps_per_beat"]
    total = step * roll.shape[1] * roll.shape[2]
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    head = mido.MidiTrack([
        mido.MetaMessage("track_name", name=_latin1(title)),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(inf["tempo"])),
        mido.MetaMessage("time_signature", numerator=inf["beats_per_bar"], denominator=4),
        *(mido.MetaMessage("text", text=_latin1(f"{k}={v}")) for k, v in (text or {}).items()),
    ])
    head.append(mido.MetaMessage("end_of_track"))
    mid.tracks.append(head)
    for i, track_roll in enumerate(roll):
        ch = _channel(i)
        name = inf["tracks"][i] if i < len(inf["tracks"]) else f"track {i + 1}"
        program = int(inf["programs"][i]) if i < len(inf["programs"]) else 0
        tr = mido.MidiTrack([mido.MetaMessage("track_name", name=_latin1(name)),
                             mido.Message("program_change", channel=ch, program=program)])
        # (time, 0 = off before 1 = on at the same tick, pitch): absolute ticks, then deltas
        notes = roll_to_notes(track_roll, inf["lowest_pitch"])
        events = sorted([(s * step, 1, p) for s, _, p in notes] + [(e * step, 0, p) for _, e, p in notes])
        now = 0
        for t, on, p in events:
            kind = "note_on" if on else "note_off"
            tr.append(mido.Message(kind, channel=ch, note=p, velocity=VELOCITY if on else 0, time=t - now))
            now = t
        # the track lasts the whole roll, so a phrase ending in a rest keeps its length
        tr.append(mido.MetaMessage("end_of_track", time=max(0, total - now)))
        mid.tracks.append(tr)
    return mid


# --------------------------------------------------------------------------- pictures


def track_colors(n: int) -> np.ndarray:
    """An RGB colour per track (matplotlib's tab10 cycle), [n, 3] in [0, 1]."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return np.array([cmap(i % 10)[:3] for i in range(n)], np.float32)


def roll_image(roll: np.ndarray) -> np.ndarray:
    """One sample ``[T, B, S, P]`` -> RGB ``[P, B*S, 3]`` (row 0 = the lowest pitch): white where
    no track sounds, the track's colour where one does, the mean colour where several do."""
    t = roll.shape[0]
    flat = roll.reshape(t, -1, roll.shape[-1]).astype(np.float32)  # [T, L, P]
    count = flat.sum(0).T[..., None]  # [P, L, 1]
    mixed = np.einsum("tlp,tc->plc", flat, track_colors(t))
    return np.where(count > 0, mixed / np.maximum(count, 1), 1.0)


def _draw(ax, roll: np.ndarray, inf: dict, labels: bool = True):
    """The piano roll on ``ax``: image, bar lines (dark), beat lines (light), note names at Cs."""
    _, b, s, p = roll.shape
    low = inf["lowest_pitch"]
    im = ax.imshow(roll_image(roll), origin="lower", aspect="auto", interpolation="nearest",
                   extent=(0, b * s, low - 0.5, low + p - 0.5))
    beat = inf["steps_per_beat"]
    for x in range(beat, b * s, beat):
        ax.axvline(x, color="0.35" if x % s == 0 else "0.85", lw=1.0 if x % s == 0 else 0.4)
    cs = [q for q in range(low, low + p) if q % 12 == 0] or [low]
    ax.set_yticks(cs, [note_name(q) for q in cs])
    ax.set_xticks([i * s for i in range(b + 1)], [str(i + 1) for i in range(b)] + [""])
    # (grid panels share the pitch axis: hide labels, never set empty ones on a shared axis)
    ax.tick_params(labelsize=6, length=2, labelleft=labels, labelbottom=labels)
    return im


def _legend(fig, inf: dict, n_tracks: int) -> None:
    from matplotlib.patches import Patch

    colors = track_colors(n_tracks)
    fig.legend(handles=[Patch(color=colors[i], label=inf["tracks"][i]) for i in range(n_tracks)],
               loc="upper right", fontsize=6, ncol=n_tracks, frameon=False)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_rolls(rolls: np.ndarray, paths: list[Path], info: dict, titles: list[str],
               pnginfo: dict | None = None) -> None:
    """One piano-roll PNG per sample (one figure reused: fast for many samples)."""
    plt = _plt()
    inf = music_info(info, rolls.shape[1])
    fig, ax = plt.subplots(figsize=(6.4, 3.0), dpi=100)
    _legend(fig, inf, rolls.shape[1])
    for i, (roll, path, title) in enumerate(zip(rolls, paths, titles)):
        ax.clear()
        _draw(ax, roll, inf)
        ax.set_xlabel("bar", fontsize=7)
        ax.set_title(title, fontsize=8, loc="left")
        fig.tight_layout(rect=(0, 0, 1, 0.94))
        fig.savefig(path, metadata={str(k): str(v) for k, v in {**(pnginfo or {}), "gankit:index": i}.items()})
    plt.close(fig)


def save_grid(rolls: np.ndarray, path: str | Path, info: dict, title: str = "") -> None:
    """Up to 16 piano rolls in one PNG (4 columns), one legend."""
    plt = _plt()
    rolls = rolls[:GRID_MAX]
    inf = music_info(info, rolls.shape[1])
    cols = min(4, len(rolls))
    rows = math.ceil(len(rolls) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 1.9 * rows + 0.4), dpi=90,
                             squeeze=False, sharey=True)
    for k, ax in enumerate(axes.flat):
        if k < len(rolls):
            _draw(ax, rolls[k], inf, labels=k % cols == 0)
        else:
            ax.axis("off")
    _legend(fig, inf, rolls.shape[1])
    if title:
        fig.suptitle(title, fontsize=9, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# --------------------------------------------------------------------------- audio


def to_audio(roll: np.ndarray, info: dict, rate: int = music_audio.RATE) -> np.ndarray:
    """One sample ``[T, B, S, P]`` played at ``info["tempo"]`` -> stereo float ``[samples, 2]``."""
    inf = music_info(info, roll.shape[0])
    step_seconds = 60.0 / inf["tempo"] / inf["steps_per_beat"]
    return music_audio.render([roll_to_notes(r, inf["lowest_pitch"]) for r in roll], step_seconds, rate)


# --------------------------------------------------------------------------- the writer


def write_rolls(rolls: np.ndarray, out: Path, info: dict, text: dict, head: str) -> dict[str, Path]:
    """Binary rolls ``[N, T, B, S, P]`` -> ``NNNNNN.mid`` / ``.png`` / ``.wav`` and ``grid.png``
    in ``out``; ``text``: the provenance every file carries; ``head``: the pictures' title.
    (Real phrases too: ``write_rolls(data.x.numpy(), ...)`` renders a dataset to listen to.)"""
    out = Path(out)
    for i, roll in enumerate(rolls):
        to_midi(roll, info, {**text, "gankit:index": i}, f"{head}, sample {i}").save(str(out / f"{i:06d}.mid"))
        music_audio.write_wav(out / f"{i:06d}.wav", to_audio(roll, info))
    save_rolls(rolls, [out / f"{i:06d}.png" for i in range(len(rolls))], info,
               [f"{head}, sample {i}" for i in range(len(rolls))], pnginfo=text)
    save_grid(rolls, out / "grid.png", info, head)
    return {"midi": out, "audio": out, "pianorolls": out, "grid": out / "grid.png"}


def write(x: torch.Tensor, out: Path, model, provenance: dict) -> dict[str, Path]:
    """``gankit sample`` for music: ``NNNNNN.mid`` / ``.png`` / ``.wav`` per sample, ``grid.png``."""
    mode = binarize_mode(model.config)
    rolls = to_rolls(x, mode, int(provenance.get("gankit:seed", 0)))
    return write_rolls(rolls, out, model.meta.get("info", {}), {**provenance, "gankit:binarize": mode},
                       f"{model.config.recipe} step {model.step} ({mode} binarisation)")


def preview(x, path, meta: dict, real=None, title: str = "") -> None:
    """The loop's samples/*.png for music: a grid of up to 16 piano rolls (hard threshold)."""
    save_grid(to_rolls(x), path, meta.get("info", {}), title)
