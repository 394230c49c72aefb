"""Music outputs: MIDI files read back with mido (tracks, names, programs, tempo, notes,
provenance), WAVs that are not silent, piano-roll PNGs; then `gankit sample` / `gankit eval` on a
tiny trained musegan checkpoint."""
from __future__ import annotations

import sys
import types
import wave

import numpy as np
import pytest
import torch

from gankit.data.pianoroll import roll_to_notes
from gankit.errors import UserError
from gankit.outputs import music, music_audio

mido = pytest.importorskip("mido")

INFO = {"tracks": ["Soprano", "Alto", "Tenor", "Bass"], "programs": [52, 53, 54, 32],
        "lowest_pitch": 36, "steps_per_beat": 4, "beats_per_bar": 4, "tempo": 90}


def chorale_like(n: int = 3, seed: int = 0) -> np.ndarray:
    """bool [n, 4, 4, 16, 48]: four monophonic voices of quarter notes (some eighths)."""
    rng = np.random.default_rng(seed)
    r = np.zeros((n, 4, 64, 48), bool)
    for i in range(n):
        for t, base in enumerate((36, 28, 20, 8)):
            for k in range(16):
                r[i, t, 4 * k: 4 * k + (2 if k % 3 == 0 else 4), base + rng.integers(-3, 4)] = True
    return r.reshape(n, 4, 4, 16, 48)


def fake_model(binarize: str | None = None):
    sample = types.SimpleNamespace(**({"binarize": binarize} if binarize else {}))
    return types.SimpleNamespace(meta={"kind": "music", "info": INFO}, step=7,
                                 config=types.SimpleNamespace(recipe="musegan", sample=sample))


def midi_notes(track) -> list[tuple[int, int, int]]:
    """(start_tick, end_tick, pitch) of a mido track."""
    now, open_, notes = 0, {}, []
    for m in track:
        now += m.time
        if m.type == "note_on" and m.velocity > 0:
            open_[m.note] = now
        elif m.type in ("note_off", "note_on"):
            notes.append((open_.pop(m.note), now, m.note))
    assert not open_
    return sorted(notes)


def wav_rms(path) -> tuple[float, int, int]:
    with wave.open(str(path)) as fh:
        pcm = np.frombuffer(fh.readframes(fh.getnframes()), "<i2").astype(np.float64) / 32768
        return float(np.sqrt((pcm ** 2).mean())), fh.getnchannels(), fh.getframerate()


def test_write_midi_png_wav(tmp_path):
    rolls = chorale_like(3)
    x = torch.as_tensor(np.where(rolls, 0.8, -0.9), dtype=torch.float32)
    prov = {"gankit:recipe": "musegan", "gankit:step": 7, "gankit:seed": 0, "gankit:checkpoint": "run/x"}
    written = music.write(x, tmp_path, fake_model(), prov)
    assert written["grid"] == tmp_path / "grid.png" and written["grid"].is_file()
    for i in range(3):
        mid = mido.MidiFile(str(tmp_path / f"{i:06d}.mid"))
        assert mid.type == 1 and len(mid.tracks) == 5
        assert [t.name for t in mid.tracks[1:]] == INFO["tracks"]
        tempo = [m.tempo for m in mid.tracks[0] if m.type == "set_tempo"]
        assert len(tempo) == 1 and round(mido.tempo2bpm(tempo[0])) == 90
        text = {m.text.split("=")[0]: m.text.split("=", 1)[1] for m in mid.tracks[0] if m.type == "text"}
        assert text["gankit:recipe"] == "musegan" and text["gankit:step"] == "7"
        assert text["gankit:checkpoint"] == "run/x" and text["gankit:index"] == str(i)
        assert abs(mid.length - 16 * 60 / 90) < 1e-3  # 4 bars of 4 beats at 90 per minute
        for t, track in enumerate(mid.tracks[1:]):
            progs = [m.program for m in track if m.type == "program_change"]
            assert progs == [INFO["programs"][t]]
            step = mid.ticks_per_beat // 4
            want = [(s * step, e * step, p) for s, e, p in roll_to_notes(rolls[i, t], 36)]
            got = midi_notes(track)
            assert got == want and all(36 <= p < 36 + 48 for _, _, p in got)
        rms, channels, rate = wav_rms(tmp_path / f"{i:06d}.wav")
        assert rms > 0.01 and channels == 2 and rate == 22_050
        from PIL import Image

        with Image.open(tmp_path / f"{i:06d}.png") as im:
            assert im.text["gankit:recipe"] == "musegan" and im.text["gankit:index"] == str(i)


def test_held_note_is_one_midi_note_and_empty_roll_is_silent(tmp_path):
    roll = np.zeros((2, 2, 16, 12), bool)  # [T, B, S, P]
    roll[0, 0, 4:, 5] = roll[0, 1, :8, 5] = True  # held over the bar line
    mid = music.to_midi(roll, {"lowest_pitch": 60})
    assert midi_notes(mid.tracks[1]) == [(4 * 120, 24 * 120, 65)] and midi_notes(mid.tracks[2]) == []
    assert [t.name for t in mid.tracks[1:]] == ["track 1", "track 2"]  # defaults without names
    silent = music.to_audio(np.zeros_like(roll), {"lowest_pitch": 60})
    assert not silent.any()
    music_audio.write_wav(tmp_path / "s.wav", silent)
    assert wav_rms(tmp_path / "s.wav")[0] == 0


def test_synth_pans_and_pitch():
    # one A4 on the first of four tracks (left) and one on the last (right)
    a = music_audio.render([[(0, 8, 69)], [], [], []], 0.125)
    b = music_audio.render([[], [], [], [(0, 8, 69)]], 0.125)
    assert np.abs(a[:, 0]).sum() > 1.5 * np.abs(a[:, 1]).sum()
    assert np.abs(b[:, 1]).sum() > 1.5 * np.abs(b[:, 0]).sum()
    assert abs(np.abs(a).max() - music_audio.PEAK) < 1e-5
    # the flute's fundamental dominates: the spectrum peaks at 440 Hz
    spec = np.abs(np.fft.rfft(a[:, 0]))
    assert abs(np.argmax(spec) * music_audio.RATE / len(a) - 440) < 3


def test_bernoulli_mode_from_config_is_seeded(tmp_path):
    x = torch.zeros(2, 4, 4, 16, 48)  # p = 1/2 everywhere under Bernoulli, nothing under hard
    (tmp_path / "h").mkdir()
    music.write(x, tmp_path / "h", fake_model(), {})
    assert not any(m.type == "note_on" for m in mido.MidiFile(str(tmp_path / "h" / "000000.mid")))
    for d in ("b1", "b2"):
        (tmp_path / d).mkdir()
        music.write(x, tmp_path / d, fake_model("bernoulli"), {"gankit:seed": 3})
    one, two = (mido.MidiFile(str(tmp_path / d / "000001.mid")) for d in ("b1", "b2"))
    assert one.length > 0 and [str(m) for m in one] == [str(m) for m in two]
    assert any(m.text == "gankit:binarize=bernoulli" for m in one.tracks[0] if m.type == "text")


def test_preview_and_missing_mido(tmp_path, monkeypatch):
    music.preview(torch.rand(20, 4, 4, 16, 48) * 2 - 1, tmp_path / "p.png", {"info": INFO}, title="step 5")
    assert (tmp_path / "p.png").stat().st_size > 1000
    monkeypatch.setitem(sys.modules, "mido", None)
    with pytest.raises(UserError, match=r"gankit\[music\]"):
        music.to_midi(chorale_like(1)[0], INFO)
    with pytest.raises(ValueError, match="tracks, bars"):
        music.to_rolls(torch.zeros(2, 16, 48))


def test_sample_and_eval_a_tiny_musegan_checkpoint(tmp_path, capsys):
    """`gankit train` (20 steps, 12 chorales) -> `gankit sample` -> valid MIDI / WAV / PNG ->
    `gankit eval --json` with every metric beside the held-out data's."""
    import json

    pytest.importorskip("music21")
    from gankit.cli import main

    run, out = tmp_path / "run", tmp_path / "s"
    flags = ["loop.progress=false", "loop.tensorboard=false", "loop.threads=1", "data.kwargs.limit=12",
             "data.batch_size=8", "loop.n_samples=4"]
    assert main(["train", "--data", "bach-chorales", "--steps", "20", "--out", str(run),
                 *[a for f in flags for a in ("--set", f)]]) == 0
    assert (run / "samples" / "latest.png").is_file()
    assert main(["sample", "--checkpoint", str(run), "--n", "3", "--out", str(out)]) == 0
    info = json.loads((run / "data.json").read_text())["info"]
    n_pitches = json.loads((run / "data.json").read_text())["shape"][-1]
    for i in range(3):
        mid = mido.MidiFile(str(out / f"{i:06d}.mid"))
        assert mid.type == 1 and [t.name for t in mid.tracks[1:]] == ["Soprano", "Alto", "Tenor", "Bass"]
        tempo = [m.tempo for m in mid.tracks[0] if m.type == "set_tempo"]
        assert round(mido.tempo2bpm(tempo[0])) == info["tempo"]
        pitches = [p for tr in mid.tracks[1:] for _, _, p in midi_notes(tr)]
        assert pitches and all(info["lowest_pitch"] <= p < info["lowest_pitch"] + n_pitches for p in pitches)
        assert wav_rms(out / f"{i:06d}.wav")[0] > 0
        assert (out / f"{i:06d}.png").is_file()
    assert (out / "grid.png").is_file()
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(run), "--n", "8", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["n"] == 8 and res["recipe"] == "musegan"
    for k in ("EB/Bass", "UPC/Soprano", "QN/Alto", "TD/Soprano-Bass", "SC/all", "PCE/Tenor", "poly/all", "GC/all"):
        assert f"{k}/data" in res and f"{k}/model" in res and f"OA/{k}/model" in res
    assert res["QN/Soprano/data"] > 80  # held-out chorales: mostly eighths and longer


def test_music21_reads_our_midi(tmp_path):
    """Another MIDI reader (music21's) agrees: part names, tempo, notes per part."""
    m21 = pytest.importorskip("music21")
    rolls = chorale_like(1)
    music.to_midi(rolls[0], INFO, {"gankit:seed": 0}).save(str(tmp_path / "a.mid"))
    s = m21.converter.parse(str(tmp_path / "a.mid"))
    assert [p.partName for p in s.parts] == INFO["tracks"]
    assert s.metronomeMarkBoundaries()[0][2].number == 90
    for part, roll in zip(s.parts, rolls[0]):
        want = roll_to_notes(roll, 36)
        got = [(round(n.offset * 4), round((n.offset + n.quarterLength) * 4), n.pitch.midi)
               for n in part.stripTies().flatten().notes]  # (music21 splits at bar lines)
        assert got == want
