"""A small offline synthesiser of our own: notes -> a stereo 16-bit PCM ``.wav`` (numpy + wave).

No soundfont, no download: each note is an additive tone (a few harmonics of its fundamental,
equal temperament, A4 = 440 Hz) under an ADSR envelope (attack, decay, sustain level, release;
the envelope shape of the classic analogue synthesisers), and each track has its own timbre
(harmonic amplitudes and envelope) and a place in the stereo field (constant-power pan), so
the four voices of a chorale can be told apart by ear. The mix is normalised to a fixed peak,
then quantised to 16-bit. 22,050 Hz is enough for these pitches: the highest harmonic kept is
below the Nyquist frequency (harmonics above it are dropped, they would alias).
"""
from __future__ import annotations

import functools
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 22_050
PEAK = 0.89  # the normalised mix's peak (about -1 dB full scale)


@dataclass(frozen=True)
class Timbre:
    """Harmonic amplitudes (1st = the fundamental) and an ADSR envelope (seconds, level)."""

    name: str
    harmonics: tuple[float, ...]
    attack: float
    decay: float
    sustain: float
    release: float


# Distinct enough to follow each voice: a flute-like soprano (almost pure), a clarinet-like
# alto (odd harmonics), a bowed-string tenor (sawtooth series 1/k, slow attack) and an
# organ-like bass (strong low harmonics). Tracks beyond four cycle through them.
TIMBRES = (
    Timbre("flute", (1.0, 0.25, 0.08, 0.03), 0.03, 0.08, 0.8, 0.12),
    Timbre("clarinet", (1.0, 0.0, 0.45, 0.0, 0.25, 0.0, 0.12), 0.02, 0.05, 0.85, 0.08),
    Timbre("strings", tuple(1.0 / k for k in range(1, 9)), 0.08, 0.1, 0.75, 0.2),
    Timbre("organ", (1.0, 0.7, 0.4, 0.25, 0.12), 0.01, 0.04, 0.9, 0.06),
)


def pans(n_tracks: int) -> np.ndarray:
    """Each track's place from left (-1) to right (+1), spread evenly over [-0.6, 0.6]."""
    return np.zeros(1) if n_tracks == 1 else np.linspace(-0.6, 0.6, n_tracks)


def envelope(n_hold: int, timbre: Timbre, rate: int = RATE) -> np.ndarray:
    """ADSR gains for a note held ``n_hold`` samples, then released (length n_hold + release)."""
    a, d, r = (max(1, int(s * rate)) for s in (timbre.attack, timbre.decay, timbre.release))
    held = np.full(n_hold, timbre.sustain, np.float32)
    ad = np.concatenate([np.linspace(0, 1, a, endpoint=False),
                         np.linspace(1, timbre.sustain, d, endpoint=False)]).astype(np.float32)
    k = min(n_hold, len(ad))
    held[:k] = ad[:k]  # a short note is cut during its attack/decay, then released from there
    level = held[-1] if n_hold else 0.0
    return np.concatenate([held, np.linspace(level, 0, r).astype(np.float32)])


TABLE = 4096  # samples per wavetable cycle


@functools.cache
def wavetable(pitch: int, timbre: Timbre, rate: int = RATE) -> np.ndarray:
    """One cycle of the timbre's harmonic sum at MIDI ``pitch`` (harmonics at or above the
    Nyquist frequency dropped, they would alias), scaled to a peak of at most 1. At most 128
    pitches x 4 timbres of 16 KB: cached for good."""
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12)
    phase = 2 * np.pi * np.arange(TABLE) / TABLE
    cycle = sum(amp * np.sin(k * phase) for k, amp in enumerate(timbre.harmonics, 1)
                if amp and k * f0 < rate / 2)
    return (np.asarray(cycle) / sum(timbre.harmonics)).astype(np.float32)


def tone(pitch: int, n_hold: int, timbre: Timbre, rate: int = RATE) -> np.ndarray:
    """One note (MIDI ``pitch``) held ``n_hold`` samples, then released: the timbre's cycle
    read at the note's frequency (a wavetable oscillator: one lookup per sample instead of a
    sine per harmonic) under the ADSR envelope."""
    env = envelope(n_hold, timbre, rate)
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12)
    idx = (np.arange(len(env)) * (f0 * TABLE / rate)).astype(np.int64) % TABLE
    return wavetable(pitch, timbre, rate)[idx] * env


def render(tracks: list[list[tuple[int, int, int]]], step_seconds: float, rate: int = RATE) -> np.ndarray:
    """Notes per track ``(start_step, end_step, midi_pitch)`` -> float32 stereo ``[samples, 2]``,
    peak-normalised to :data:`PEAK` (all zeros when there is no note)."""
    total = max((e for notes in tracks for _, e, _ in notes), default=0)
    longest = max(t.release for t in TIMBRES)
    mix = np.zeros((int(total * step_seconds * rate) + int(longest * rate) + 2, 2), np.float32)
    for i, (notes, pan) in enumerate(zip(tracks, pans(len(tracks)))):
        timbre = TIMBRES[i % len(TIMBRES)]
        theta = (pan + 1) * np.pi / 4  # constant power: L^2 + R^2 = 1 at every position
        mono = np.zeros(len(mix), np.float32)  # one add per note, panned once per track
        for start, end, pitch in notes:
            s = round(start * step_seconds * rate)
            y = tone(pitch, round((end - start) * step_seconds * rate), timbre, rate)
            mono[s: s + len(y)] += y[: len(mix) - s]
        mix += mono[:, None] * np.array([np.cos(theta), np.sin(theta)], np.float32)
    peak = float(np.abs(mix).max())
    return mix * (PEAK / peak) if peak > 0 else mix


def write_wav(path: str | Path, audio: np.ndarray, rate: int = RATE) -> None:
    """float ``[samples, channels]`` in [-1, 1] -> a 16-bit PCM WAV file (the wave module)."""
    pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(audio.shape[1])
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(pcm.tobytes())
