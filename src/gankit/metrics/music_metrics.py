"""Objective metrics of multi-track piano rolls, each beside the held-out data's own value.

On binarised rolls ``[N, tracks, bars, steps, pitches]`` (:mod:`gankit.data.pianoroll`; notes
are runs of 1s), per track unless said otherwise. Definitions are taken from the papers:

* **EB**, empty bars (%): the share of bars in which the track plays nothing
  (MuseGAN, Dong et al. AAAI 2018, "Objective metrics").
* **UPC**, used pitch classes per bar (0..12), averaged over the track's non-empty bars (ibid.).
* **QN**, qualified notes (%): the share of notes that are not too short. MuseGAN counts notes
  of >= 3 steps at 24 steps per beat (a 32nd note); on our 16th-note grid every note would
  pass, so we count notes of >= 2 steps (an eighth): real chorales meet this ~98 % of the
  time, fragmented output does not.
* **TD**, tonal distance between two tracks (ibid., after Harte, Sandler & Gasser 2006,
  "Detecting harmonic change in musical audio"): each bar's chroma (active steps per pitch
  class) is mapped to the 6-D tonal centroid (circle of fifths, minor thirds, major thirds;
  radii 1, 1, 0.5), normalised by the chroma's L1 norm; TD is the Euclidean distance between
  the two tracks' centroids, averaged over the bars where both tracks sound. Larger is weaker
  harmony between the pair.
* **PCE**, pitch-class entropy (bits, 0..log2 12 = 3.58): the entropy of the 12-bin histogram
  of the notes' pitch classes, normalised by the note count (Wu & Yang, ISMIR 2020, "The Jazz
  Transformer on the front line", sec. 5.1), per sample (4-bar window, one of their windows).
* **SC**, scale consistency (%), over all tracks: the share of notes in the best-matching
  scale (Mogren 2016, C-RNN-GAN: "the fraction of tones that were part of a standard scale ...
  for the best matching such scale"); the scales are the 12 major (= natural minor) and the 12
  harmonic minor ones, since minor-key chorales raise the leading tone.
* **poly**, polyphony: the mean number of pitches sounding at once over the steps where any
  sounds (per track; ``all``: distinct pitches over all tracks). The ``all`` rows of PCE, poly
  and GC are left out for one-track data (they would repeat the track's).
* **GC**, groove consistency (Wu & Yang 2020, "grooving pattern similarity"): the grooving
  pattern of a bar is its binary vector of steps with at least one note onset; GC is
  ``1 - Hamming distance / steps`` averaged over all pairs of distinct bars of a sample (the
  paper's definition: all pairs, not only adjacent bars), per track and over all tracks.
* **OA**, overlapping area (Yang & Lerch 2018, "On the evaluation of generative models in
  music"): of the distribution of a metric's per-sample values over the generated samples and
  over the held-out samples, each smoothed by a Gaussian kernel density (Silverman's
  bandwidth), ``integral of min(p, q)``: 1 is the same distribution, 0 disjoint. (Yang & Lerch
  apply it to the distributions of pairwise distances between samples; we apply it to the
  feature values themselves, the form later work reports.)

The table numbers pool over the whole set as MuseGAN does (EB over all bars, QN over all notes,
UPC and TD over all qualifying bars); PCE, SC and GC, being properties of a piece (its key, its
groove), are the mean of the per-sample values. A metric with nothing to measure is NaN.

Reference points without a model: ``gankit eval --real-vs-real --data bach-chorales`` scores
the training split and a random-notes baseline (:func:`random_notes`) against the held-out
split with this same code (``--json`` for the numbers).
"""
from __future__ import annotations

import itertools

import numpy as np
import torch

from ..data.pianoroll import MAJOR, binarize, binarize_mode, roll_to_notes

QUALIFIED_STEPS = 2  # a qualified note lasts >= an eighth on the 16th grid (see QN above)
CHUNK = 500
MIN_N = 1000  # default samples per report: at least this many, so a 3-seed mean is stable
# Harte et al. 2006, eq. 2: the angles (per pitch class l) and radii of the 6-D tonal space
_ANGLES = np.array([7 * np.pi / 6, 7 * np.pi / 6, 3 * np.pi / 2, 3 * np.pi / 2, 2 * np.pi / 3, 2 * np.pi / 3])
_RADII = np.array([1.0, 1.0, 1.0, 1.0, 0.5, 0.5])
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)


def tonal_matrix() -> np.ndarray:
    """Phi [6, 12] of Harte et al. 2006: rows sin / cos of the fifths, minor-thirds and
    major-thirds circles, columns the pitch classes C..B."""
    l = np.arange(12)
    phase = _ANGLES[:, None] * l[None, :]
    trig = np.where(np.arange(6)[:, None] % 2 == 0, np.sin(phase), np.cos(phase))
    return _RADII[:, None] * trig


def tonal_centroid(chroma: np.ndarray) -> np.ndarray:
    """Chroma ``[..., 12]`` -> tonal centroids ``[..., 6]`` (zeros for an empty chroma)."""
    chroma = np.asarray(chroma, np.float64)
    norm = chroma.sum(-1, keepdims=True)
    return (chroma / np.where(norm > 0, norm, 1)) @ tonal_matrix().T


def scale_masks() -> np.ndarray:
    """[24, 12] booleans: the 12 major scales, then the 12 harmonic minor scales."""
    masks = np.zeros((24, 12), bool)
    for root in range(12):
        masks[root, [(root + d) % 12 for d in MAJOR]] = True
        masks[12 + root, [(root + d) % 12 for d in HARMONIC_MINOR]] = True
    return masks


def _nanmean(a) -> float:
    a = np.asarray(a, np.float64)
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else float("nan")


def _ratio(num, den) -> np.ndarray:
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den > 0)


def _entropy_bits(counts: np.ndarray) -> np.ndarray:
    """Entropy of histograms ``[..., K]`` in bits (NaN where a histogram is empty)."""
    p = _ratio(counts, counts.sum(-1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log2(np.where(p > 0, p, 1)), 0).sum(-1)
    return np.where(counts.sum(-1) > 0, h, np.nan)


def _groove(patterns: np.ndarray) -> np.ndarray:
    """Grooving-pattern similarity of bars ``[..., B, S]`` -> ``[...]`` (mean over bar pairs)."""
    b = patterns.shape[-2]
    pairs = list(itertools.combinations(range(b), 2))
    if not pairs:
        return np.full(patterns.shape[:-2], np.nan)
    sims = [1 - (patterns[..., i, :] != patterns[..., j, :]).mean(-1) for i, j in pairs]
    return np.mean(sims, 0)


def music_stats(rolls, tracks: list[str], lowest_pitch: int) -> tuple[dict, dict]:
    """``(table, per_sample)`` of binary rolls ``[N, T, B, S, P]``: ``{"EB/<track>": value ...}``
    pooled as in the module docstring, and the same keys' per-sample values (arrays [N])."""
    r = np.asarray(rolls).astype(bool)
    n, t, b, s, p = r.shape
    names = list(tracks)[:t] + [f"track {i + 1}" for i in range(len(tracks), t)]
    onehot = np.eye(12)[(lowest_pitch + np.arange(p)) % 12]  # [P, 12]: pitch -> pitch class
    chroma = r.sum(3, dtype=np.float64) @ onehot  # [N, T, B, 12] active steps per class
    bar_on = chroma.sum(-1) > 0  # [N, T, B]
    upc = (chroma > 0).sum(-1)
    flat = r.reshape(n, t, b * s, p)
    pad = np.zeros((n, t, 1, p), bool)
    onset = flat & ~np.concatenate([pad, flat[:, :, :-1]], 2)  # a note starts (a run of 1s begins)
    notes = onset.sum((2, 3))  # [N, T]
    # a qualified note: an onset whose pitch is still on QUALIFIED_STEPS - 1 steps later
    run = onset.copy()
    for k in range(1, QUALIFIED_STEPS):
        run &= np.concatenate([flat[:, :, k:], np.zeros((n, t, k, p), bool)], 2)
    qualified = run.sum((2, 3))
    pc_notes = onset.sum(2, dtype=np.float64) @ onehot  # [N, T, 12] note counts per class
    sounding = flat.sum(-1)  # [N, T, L] pitches sounding per step
    any_sounding = flat.any(1).sum(-1)  # [N, L] distinct pitches over all tracks
    grooves = onset.reshape(n, t, b, s, p).any(-1)  # [N, T, B, S]
    has_onset = notes > 0

    table, per = {}, {}

    def put(key, pooled, per_sample):
        table[key], per[key] = float(pooled), np.asarray(per_sample, np.float64)

    for i, name in enumerate(names):
        put(f"EB/{name}", 100 * (~bar_on[:, i]).mean(), 100 * (~bar_on[:, i]).mean(-1))
        put(f"UPC/{name}", _ratio(upc[:, i][bar_on[:, i]].sum(), bar_on[:, i].sum()),
            _ratio((upc[:, i] * bar_on[:, i]).sum(-1), bar_on[:, i].sum(-1)))
        put(f"QN/{name}", 100 * _ratio(qualified[:, i].sum(), notes[:, i].sum()),
            100 * _ratio(qualified[:, i], notes[:, i]))
    for (i, a), (j, c) in itertools.combinations(enumerate(names), 2):
        both = bar_on[:, i] & bar_on[:, j]  # [N, B]
        dist = np.linalg.norm(tonal_centroid(chroma[:, i]) - tonal_centroid(chroma[:, j]), axis=-1)
        put(f"TD/{a}-{c}", _ratio((dist * both).sum(), both.sum()),
            _ratio((dist * both).sum(-1), both.sum(-1)))
    pce = _entropy_bits(pc_notes)  # [N, T]
    for i, name in enumerate(names):
        put(f"PCE/{name}", _nanmean(pce[:, i]), pce[:, i])
    multi = t > 1  # the "all" rows of one track would repeat its own
    if multi:
        pce_all = _entropy_bits(pc_notes.sum(1))
        put("PCE/all", _nanmean(pce_all), pce_all)
    counts = pc_notes.sum(1)  # [N, 12]
    sc = 100 * _ratio((counts @ scale_masks().T).max(-1), counts.sum(-1))
    put("SC/all", _nanmean(sc), sc)
    for i, name in enumerate(names):
        on = sounding[:, i] > 0
        put(f"poly/{name}", _ratio(sounding[:, i].sum(), on.sum()),
            _ratio(sounding[:, i].sum(-1), on.sum(-1)))
    on = any_sounding > 0
    if multi:
        put("poly/all", _ratio(any_sounding.sum(), on.sum()), _ratio(any_sounding.sum(-1), on.sum(-1)))
    gc = np.where(has_onset, _groove(grooves), np.nan)  # [N, T]
    for i, name in enumerate(names):
        put(f"GC/{name}", _nanmean(gc[:, i]), gc[:, i])
    if multi:
        gc_all = np.where(has_onset.any(1), _groove(grooves.any(1)), np.nan)
        put("GC/all", _nanmean(gc_all), gc_all)
    return table, per


def overlapping_area(a, b, grid: int = 512) -> float:
    """Overlap ``integral min(p, q)`` of Gaussian kernel densities of two samples of a scalar
    (NaNs dropped; Silverman's bandwidth per sample, floored at 1 % of the pooled range, so
    two identical constant samples overlap fully). NaN when either sample is empty."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if not a.size or not b.size:
        return float("nan")
    both = np.concatenate([a, b])
    span = float(both.max() - both.min())
    floor = max(0.01 * span, 1e-3 * max(1.0, float(np.abs(both).max())))

    def bandwidth(v):
        return max(1.06 * float(v.std()) * len(v) ** -0.2, floor)

    ha, hb = bandwidth(a), bandwidth(b)
    xs = np.linspace(both.min() - 4 * max(ha, hb), both.max() + 4 * max(ha, hb), grid)

    def density(v, h):
        z = (xs[:, None] - v[None, :]) / h
        return np.exp(-0.5 * z ** 2).sum(1) / (len(v) * h * np.sqrt(2 * np.pi))

    return float(np.trapezoid(np.minimum(density(a, ha), density(b, hb)), xs))


# --------------------------------------------------------------------------- baseline


def random_notes(rolls, n: int, seed: int = 0, max_examples: int = 2000) -> np.ndarray:
    """The random-notes baseline: ``n`` rolls like ``rolls`` ``[N, T, B, S, P]`` where each
    track is a chain of events drawn independently (seeded) from that track's own events in
    ``rolls``: a note (its pitch and length) or a rest (its length). Right pitch range, note
    lengths and rest density per voice; no key, harmony or rhythm across time or tracks.
    Events are drawn from up to ``max_examples`` examples; a track is monophonic."""
    r = np.asarray(rolls).astype(bool)
    _, t, b, s, p = r.shape
    rng = np.random.default_rng(seed)
    src = r[rng.permutation(len(r))[:max_examples]]
    out = np.zeros((n, t, b * s, p), bool)
    for i in range(t):
        events = []  # (pitch or -1 for a rest, length)
        for ex in src[:, i]:
            now = 0
            for start, end, pitch in roll_to_notes(ex, 0):
                if start > now:
                    events.append((-1, start - now))
                events.append((pitch, end - start))
                now = max(now, end)
            if now < b * s:
                events.append((-1, b * s - now))
        ev = np.array(events or [(-1, b * s)])
        for k in range(n):
            now = 0
            while now < b * s:
                pitch, length = ev[rng.integers(len(ev))]
                if pitch >= 0:
                    out[k, i, now: now + length, pitch] = True
                now += length
    return out.reshape(n, t, b, s, p)


# --------------------------------------------------------------------------- reports


def compare(sets: dict, held: np.ndarray, info: dict) -> dict:
    """The report's rows: for each metric ``K``, ``K/data`` (the held-out rolls), then ``K/<set>``
    for each named set of rolls, then ``OA/K/<set>`` (each set's per-sample distribution of K
    against the held-out one)."""
    tracks, low = info.get("tracks") or [], int(info.get("lowest_pitch", 0))
    ref_table, ref_per = music_stats(held, tracks, low)
    stats = {name: music_stats(x, tracks, low) for name, x in sets.items()}
    out = {}
    for k in ref_table:
        out[f"{k}/data"] = ref_table[k]
        out.update({f"{k}/{name}": tab[k] for name, (tab, _) in stats.items()})
    for k in ref_table:
        out.update({f"OA/{k}/{name}": overlapping_area(per[k], ref_per[k]) for name, (_, per) in stats.items()})
    return out


def _held_out(data_cfg):
    """The dataset's held-out rolls (bool) and its info (the training split if it has no test)."""
    from ..config import DataConfig
    from .evaluate import load_reference_data

    data, split = load_reference_data(DataConfig(**{**data_cfg.__dict__, "limit": 0}))
    return data.x.numpy().astype(bool), data.info, split


@torch.no_grad()
def sample_rolls(model, n: int, seed: int = 0) -> np.ndarray:
    """``n`` samples of a music checkpoint, binarised as its writer does (bool [n, T, B, S, P])."""
    mode = binarize_mode(model.config)
    parts = [binarize(model.sample(min(CHUNK, n - s), seed=seed * 100_003 + i).float().cpu(), mode,
                      seed * 100_003 + i) for i, s in enumerate(range(0, n, CHUNK))]
    return np.concatenate(parts)


def evaluate_music_model(model, n: int = 0, seed: int = 0) -> dict:
    """The music report of a loaded checkpoint: ``n`` samples (default: as many as the
    held-out split has, at least :data:`MIN_N`) beside the held-out rolls: ``K/data``,
    ``K/model``, ``OA/K/model``."""
    held, info, split = _held_out(model.config.data)
    n = n or max(len(held), MIN_N)
    rolls = sample_rolls(model, n, seed)
    return {"n": n, "n_data": len(held), "split": split, "binarize": binarize_mode(model.config),
            "step": model.step, "recipe": model.config.recipe, **compare({"model": rolls}, held, info)}


def evaluate_music_real(data: str, n: int = 0, seed: int = 0) -> dict:
    """Reference points of dataset ``data`` (``gankit eval --real-vs-real --data NAME``): ``n``
    examples of the training split (default: as many as the held-out split has, at least
    :data:`MIN_N`, or the whole split if smaller) and ``n``
    random-notes rolls (:func:`random_notes`, drawn from the training split), each beside the
    held-out split: ``K/data``, ``K/train``, ``K/random``, ``OA/K/train``, ``OA/K/random``."""
    from ..config import DataConfig
    from ..data import load_data

    held, info, split = _held_out(DataConfig(name=data))
    train = load_data(DataConfig(name=data), "train").x
    n = min(n or max(len(held), MIN_N), len(train))
    g = torch.Generator().manual_seed(seed)
    sub = train[torch.randperm(len(train), generator=g)[:n]].numpy().astype(bool)
    base = random_notes(sub, n, seed)
    return {"n": n, "n_data": len(held), "split": split, "data": data,
            **compare({"train": sub, "random": base}, held, info)}
