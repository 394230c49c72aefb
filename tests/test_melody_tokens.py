"""folk-melodies-tokens: one-track rolls -> note/rest tokens -> text windows the sequence GANs
train on (seqgan, 20 steps) and `gankit eval` scores with BLEU; tokens read back as notes."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gankit.cli import main
from gankit.data import melody_tokens as mt
from gankit.data import music
from gankit.data.base import Data

LOW, P = 60, 13  # C4 .. C5


def tune(n_phrases: int, seed: int = 0) -> np.ndarray:
    """uint8 [n, 1, 4, 16, P]: phrases of quarter and eighth notes on a C major scale, a rest."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n_phrases, 1, 64, P), np.uint8)
    for i in range(n_phrases):
        now = 0
        while now < 60:
            steps = int(rng.choice([2, 4]))
            x[i, 0, now: now + steps, int(rng.choice([0, 2, 4, 5, 7, 9, 11, 12]))] = 1
            now += steps
    return x.reshape(n_phrases, 1, 4, 16, P)


def test_events_tokens_and_back():
    roll = np.zeros((2, 16, P), bool)
    roll[0, 2:6, 7] = True  # G4, a quarter, after a 1/8 rest
    roll[0, 4:5, 9] = True  # starts under the G: dropped (monophonic)
    roll[0, 6:7, 0] = roll[0, 6:7, 4] = True  # a chord: its highest note (E4) is kept
    roll[1, 0:15, 12] = True  # C5 for 15 steps: rounds to a whole note (16)
    events = mt.melody_events(roll, LOW)
    assert events == [(None, 2), (67, 4), (64, 1), (None, 9), (72, 15), (None, 1)]
    text = mt.melody_text(roll[None, None], LOW)
    assert text.count(" ") == len(events) - 1 and len(set(text.split())) == len(events)
    assert [mt.token_name(c, LOW, P) for c in text.split()] == [
        "rest 1/8", "G4 1/4", "E4 1/16", "rest 1/2", "C5 1", "rest 1/16"]  # 9 steps -> 8
    notes = mt.text_to_notes(text, {"lowest_pitch": LOW, "n_pitches": P})
    assert notes == [(2, 6, 67), (6, 7, 64), (15, 31, 72)]


def test_dataset_windows_and_seqgan_trains(tmp_path, monkeypatch, capsys):
    fake = {"train": tune(60, 0), "test": tune(12, 1)}

    def folk(split="train", limit=0, **kw):
        return Data("folk-melodies", "music", torch.from_numpy(fake[split]),
                    info={"tracks": ["Melody"], "lowest_pitch": LOW})
    monkeypatch.setattr(music, "folk_melodies", folk)
    d = mt.folk_melody_tokens(split="train", n=500)
    assert d.kind == "text" and tuple(d.x.shape) == (500, 64) and d.info["n_pitches"] == P
    from gankit.data.text import decode

    for w in decode(d.x[:20], d.info["vocab"]):
        toks = w.split()
        assert len(toks) == 32 and all(t in d.info["tokens"] for t in toks)
    assert d.info["tokens"][mt.token_char(64, 4, LOW, P)] == "E4 1/4"
    run = tmp_path / "run"
    flags = ["loop.progress=false", "loop.tensorboard=false", "loop.threads=1", "data.batch_size=8",
             "options.pretrain_steps=10", "G.kwargs.hidden=16", "D.kwargs.hidden=8", "loop.n_samples=4"]
    assert main(["train", "--recipe", "seqgan", "--data", "folk-melodies-tokens", "--steps", "20",
                 "--out", str(run), *[a for f in flags for a in ("--set", f)]]) == 0
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(run), "--n", "20", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["recipe"] == "seqgan" and 0 <= res["bleu4"] <= 1 and res["n_refs"] > 0
    with pytest.raises(Exception, match="pitches"):
        mt.melody_text(np.zeros((1, 1, 1, 4, 200), bool), 0)
