"""Listen: a music checkpoint's samples as a piano roll, a WAV and a MIDI file.

The studio's side of the music modality (MuseGAN, Dong et al. 2018: multi-track piano rolls
``[tracks, bars, steps, pitches]``). One sample per request, a pure function of the model and
the seed, made by what ``gankit sample`` writes (:mod:`gankit.outputs.music`): the same
binarisation (``sample.binarize``), the same MIDI file with its provenance text events, the
same synthesiser for the WAV and the same piano-roll picture. The WAV comes from its own GET
route (``/api/listen/wav``), because the page's Content-Security-Policy lets media load from
the studio's origin only (no ``data:`` audio); the roll and the MIDI file, a few kilobytes,
come inline as data URLs.
"""

from __future__ import annotations

import base64
import io
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlencode

from .. import generate as gen
from ..data.pianoroll import binarize_mode, roll_to_notes
from ..errors import UserError
from ..modality import modality
from . import images, models, render
from .api import MAX_SEED, _int

# The piano roll is drawn with pyplot: one global state, so one thread at a time.
_PLOT_LOCK = threading.Lock()


def listen_spec(lm: models.Loaded) -> tuple[dict | None, str | None]:
    """``({"tracks", "tempo", "bars"}, None)`` for a music checkpoint, else ``(None, why not)``."""
    from ..outputs import music

    m = lm.model
    mod = modality(m.meta)
    if mod.writer != f"{music.__name__}:write":  # the kind whose `gankit sample` files are MIDI/WAV
        return None, f"{m.config.recipe} makes {mod.what} samples: Listen plays music checkpoints (musegan)"
    shape = list(m.meta.get("shape") or [])
    inf = music.music_info(m.meta.get("info") or {}, shape[0] if shape else 1)
    return {"tracks": inf["tracks"], "tempo": inf["tempo"], "bars": shape[1] if len(shape) > 1 else None}, None


def _roll(lm: models.Loaded, seed: int):
    """The sample of ``seed`` as a bool roll ``[T, B, S, P]`` and the binarisation used."""
    spec, why = listen_spec(lm)
    if spec is None:
        raise UserError(f"listen: {why}")
    from ..outputs import music

    mode = binarize_mode(lm.model.config)
    with lm.lock:
        x = gen.sample(lm.model, 1, seed)
    return music.to_rolls(x, mode, seed)[0], mode


def listen(lm: models.Loaded, p: dict) -> dict:
    """The sample of ``p["seed"]``: ``{"seed", "roll": PNG data URL, "midi": MIDI data URL,
    "wav": the URL of its WAV, "notes", "seconds", "filename"}``."""
    from ..outputs import music

    seed = _int(p, "seed", 0, 0, MAX_SEED)
    roll, mode = _roll(lm, seed)
    info = lm.model.meta.get("info") or {}
    prov = render.provenance(lm, seed=seed, binarize=mode)
    title = f"{lm.model.config.recipe} step {lm.model.step}, seed {seed} ({mode})"
    buf = io.BytesIO()
    music.to_midi(roll, info, prov, title).save(file=buf)
    with tempfile.TemporaryDirectory(prefix="gankit-studio-") as tmp:
        path = Path(tmp) / "roll.png"
        with _PLOT_LOCK:
            music.save_rolls(roll[None], [path], info, [title], pnginfo=prov)
        png = path.read_bytes()
    inf = music.music_info(info, roll.shape[0])
    steps = roll.shape[1] * roll.shape[2]  # bars x steps per bar
    return {"seed": seed, "roll": images.data_url(png),
            "midi": "data:audio/midi;base64," + base64.b64encode(buf.getvalue()).decode("ascii"),
            "wav": "/api/listen/wav?" + urlencode({"model": lm.id, "seed": seed}),
            "notes": sum(len(roll_to_notes(r, inf["lowest_pitch"])) for r in roll),
            "seconds": round(steps * 60.0 / inf["tempo"] / inf["steps_per_beat"], 2),
            "filename": f"gankit-{lm.model.config.recipe}-seed{seed}"}


def listen_wav(lm: models.Loaded, p: dict) -> bytes:
    """The WAV bytes of the sample of ``p["seed"]`` (16-bit stereo, the ``gankit sample`` synth)."""
    from ..outputs import music, music_audio

    seed = _int(p, "seed", 0, 0, MAX_SEED)
    roll, _ = _roll(lm, seed)
    with tempfile.TemporaryDirectory(prefix="gankit-studio-") as tmp:
        path = Path(tmp) / "sample.wav"
        music_audio.write_wav(path, music.to_audio(roll, lm.model.meta.get("info") or {}))
        return path.read_bytes()
