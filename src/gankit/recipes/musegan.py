"""MuseGAN (Dong, Hsiao, Yang & Yang, "MuseGAN: Multi-track Sequential Generative Adversarial
Networks for Symbolic Music Generation and Accompaniment", AAAI 2018): multi-track piano rolls
(``"music"`` data) from the paper's *hybrid* generator and a shared discriminator, trained with
WGAN-GP (Gulrajani et al. 2017: Wasserstein loss, gradient penalty lambda = 10, n_critic = 5,
as the paper). Reference code: github.com/salu133445/musegan (``v2/`` is the AAAI paper's model
with the hybrid and temporal generators; ``src/`` the later rewrite, whose G trunk is shared by
the tracks and whose D we follow). Nets: :mod:`gankit.nets.musegan`.

Sampling returns G's tanh activations in [-1, 1]; the MIDI/WAV writer and the music report
binarise them with ``sample.binarize``: ``hard`` (x > 0) or ``bernoulli`` (on with probability
(x + 1) / 2), the two test-time binarisations the paper compares (:mod:`gankit.data.pianoroll`).
``G.kwargs.temporal: false`` is the ablation without the temporal generator (each bar's
time-dependent latents drawn independently).

Where ours departs from theirs, and why:

* Data: 4 tracks (Soprano, Alto, Tenor, Bass of Bach's chorales) instead of the Lakh Pianoroll
  Dataset's 5 instruments (drums, piano, guitar, bass, strings); 4/4 bars of 16 sixteenth-note
  steps instead of 48 (paper: 96) steps at 24 (12) per beat, which the chorales do not need
  (no triplets; 32nd ornaments are lengthened to a 16th); the pitch range the voices use
  (46 pitches, padded to whole octaves inside the nets) instead of 84. The temporal kernels
  shrink with the grid (the repo's x3 / x6 steps become x4); D's onset stream has one layer
  fewer for the same reason.
* Size: channels scaled down to train on one CPU thread within 20 minutes (``width`` in the
  preset: G trunk 128, 64, private streams 16, 8 per track; D about half of the repo's
  ``src`` default), and 1,300 generator steps (6,500 critic steps) at batch 32 instead of the
  repo's 50,000 at batch 64 (docs/results/music.md: what that reaches and what it misses).
* D has a key-invariant tonal stream (``D.kwargs.key_invariant``, on in the preset): the chroma
  stream's layers (own weights) applied to all 12 rotations of the per-beat chroma, averaged
  over bars, max over rotations. The repo trains on the Lakh Pianoroll Dataset as it is
  (``use_random_transpose: false``), so its chroma stream's filters, tied to absolute pitch
  classes, see the keys at their natural frequencies; our phrases are transposed to every key
  (the issue's protocol), and a 12-way classifier over absolute pitch classes then has to learn
  each scale 12 times over. With the rotations D judges "in some key" once for all keys: at
  1,000 steps, seed 0, scale consistency 84.0 % against 77.1 % without (docs/results/music.md).
* Optimiser: Adam 1e-3, betas (0.5, 0.9) as the repo's ``src`` config; no learning-rate decay
  (the repo decays from step 45,000 of 50,000, past our whole run).
* G's last batch norm starts with a shift of -2 (about 2 % of cells on, as the chorales) instead
  of 0 (half the cells on): from 0, the critic's first hundreds of steps only say "too many
  notes" (a Wasserstein gap of ~450 at step 50 in our first run, ~27 with the shift). D computes
  its chroma and onset features from (x + 1) / 2 (how much each cell is on) rather than from x.
* Layers as batched matmuls (stride = kernel convs, channels last), with bars in the batch; the
  same functions as the repo's ``conv3d`` / ``conv3d_transpose`` layers with kernel 1 along bars.
* No track-conditional (accompaniment) mode and no BinaryMuseGAN refiner (Dong & Yang 2018).
"""
from __future__ import annotations

import inspect

from ..data import music as _music  # noqa: F401  (registers bach-chorales and folk-melodies)
from ..data.pianoroll import BINARIZE_MODES
from ..errors import UserError
from ..registry import NETS, RECIPES
from .adversarial import AdversarialRecipe
from .base import fill_kwargs


@RECIPES.register("musegan")
class MuseGAN(AdversarialRecipe):
    """Dong et al. 2018's hybrid multi-track MuseGAN, WGAN-GP (see the module docstring)."""

    name = "musegan"
    description = "Dong et al. 2018: multi-track piano rolls, hybrid + temporal G, shared D, WGAN-GP"
    kinds = ("music",)
    data_hint = "e.g. bach-chorales, folk-melodies or a folder of MIDI files"

    @classmethod
    def resolve(cls, cfg, meta):
        tracks, bars, steps, pitches = (int(v) for v in meta["shape"])
        info = meta.get("info", {})
        for role, net in (("G", cfg.G), ("D", cfg.D)):
            params = inspect.signature(NETS.get(net.name)).parameters if net.name else {}
            if "tracks" not in params:
                raise UserError(f"{role}.name={net.name!r} is not a piano-roll network; use musegan_g / musegan_d")
            fill_kwargs(net, {"tracks": tracks, "bars": bars, "steps": steps, "pitches": pitches,
                              "steps_per_beat": int(info.get("steps_per_beat", 4))})
        if cfg.sample.binarize not in BINARIZE_MODES:
            raise UserError(f"sample.binarize must be one of {', '.join(BINARIZE_MODES)}, got {cfg.sample.binarize!r}")
        cfg.loss.kwargs.setdefault("gp", 10.0)
        return super().resolve(cfg, meta)
