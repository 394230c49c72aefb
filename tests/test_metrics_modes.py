"""2D mode metrics (PacGAN protocol), stacked-digits modes, and the shipped digits classifier."""
import json
import math

import numpy as np
import pytest
import torch

from gankit.data.digits import digits_split, digits_uint8, stacked_digits
from gankit.data.toy2d import grid25, grid25_means, ring8_means, spiral
from gankit.metrics import class_mode_metrics, mode_metrics_2d
from gankit.metrics.digits_classifier import (
    META_FILE,
    WEIGHTS_FILE,
    load_digits_classifier,
    weights_sha256,
)
from gankit.metrics.modes import combined_labels, curve_labels, curve_metrics_2d

MEANS = grid25_means().numpy()
STD = 0.05


def test_all_modes_evenly():
    rng = np.random.default_rng(0)
    pts = np.repeat(MEANS, 100, axis=0) + rng.normal(size=(2500, 2)) * STD
    m = mode_metrics_2d(pts, MEANS, STD)
    assert m["modes"] == 25 and m["modes_total"] == 25
    assert m["high_quality"] == pytest.approx(100 * (1 - math.exp(-4.5)), abs=1.0)  # P(chi2_2 <= 9)
    assert m["reverse_kl"] < 0.01
    # E[r^2 | r <= 3 std] for a 2D Gaussian: 2 - 9 e^-4.5 / (1 - e^-4.5) std^2, over 2 axes
    assert m["spread"] == pytest.approx(math.sqrt((2 - 9 * math.exp(-4.5) / (1 - math.exp(-4.5))) / 2), abs=0.02)


def test_spread_sees_modes_collapsed_to_points():
    pts = np.repeat(MEANS, 100, axis=0) + np.random.default_rng(0).normal(size=(2500, 2)) * STD * 0.2
    m = mode_metrics_2d(pts, MEANS, STD)
    assert m["modes"] == 25 and m["high_quality"] == 100 and m["reverse_kl"] < 0.01  # perfect by PacGAN's three
    assert m["spread"] == pytest.approx(0.2, abs=0.01)


def test_one_mode_only():
    pts = MEANS[7] + np.random.default_rng(1).normal(size=(2500, 2)) * STD
    m = mode_metrics_2d(pts, MEANS, STD)
    assert m["modes"] == 1
    assert m["reverse_kl"] == pytest.approx(math.log(25))


def test_off_mode_noise_is_not_high_quality():
    rng = np.random.default_rng(2)
    between = MEANS[:, None, :] + np.array([1.0, 1.0]) + rng.normal(size=(25, 100, 2)) * STD  # cell centres
    m = mode_metrics_2d(between.reshape(-1, 2), MEANS, STD)
    assert m["modes"] == 0 and m["high_quality"] == 0 and math.isnan(m["reverse_kl"])
    # half the samples on 5 modes, half off-mode: 5 modes, 50% high quality, KL = log(25/5)
    on = np.repeat(MEANS[:5], 250, axis=0)
    m = mode_metrics_2d(np.concatenate([on, between.reshape(-1, 2)[:1250]]), MEANS, STD)
    assert m["modes"] == 5 and m["high_quality"] == pytest.approx(50.0)
    assert m["reverse_kl"] == pytest.approx(math.log(5))


def test_real_mixture_draws_score_perfectly():
    d = grid25(split="test", n=2500)
    m = mode_metrics_2d(d.x.numpy(), d.info["means"], d.info["std"])
    assert m["modes"] == 25 and m["high_quality"] > 97 and m["reverse_kl"] < 0.05
    ring = ring8_means().numpy()
    assert mode_metrics_2d(ring[[0, 0, 3]], ring, 0.01)["modes"] == 2


def test_curve_metrics_on_spiral():
    d = spiral(split="test", n=3000)
    info = d.info
    real = spiral(split="train", n=20_000).x.numpy()
    m = curve_metrics_2d(d.x.numpy(), info["curve"], curve_labels(info), info["std"], real=real)
    assert m["modes"] == 10 and m["high_quality"] > 97 and m["reverse_kl"] < 0.01
    inner = d.x.numpy()[d.y.numpy() < 5]  # a generator that draws only the inner half
    m = curve_metrics_2d(inner, info["curve"], curve_labels(info), info["std"], real=real)
    assert 5 <= m["modes"] <= 6 and m["reverse_kl"] > 0.5
    far = d.x.numpy() * 3 + 5  # nowhere near the curve
    assert curve_metrics_2d(far, info["curve"], curve_labels(info), info["std"])["high_quality"] == 0


# ------------------------------------------------------------------------ the digits classifier
def _probs(x_uint8):
    from gankit.metrics.extractors import get_extractor

    ext = get_extractor("digits", {"kind": "images"})
    x = x_uint8.float() / 127.5 - 1
    feats, probs = zip(*(ext.extract(x[i:i + 500]) for i in range(0, len(x), 500)))
    return torch.cat(feats).numpy(), torch.cat(probs).numpy()


def test_shipped_digits_classifier_accuracy_on_held_out_split():
    meta = json.loads(META_FILE.read_text())
    assert meta["sha256"] == weights_sha256(WEIGHTS_FILE)  # the JSON describes the shipped file
    assert WEIGHTS_FILE.stat().st_size < 1_000_000
    x, y = digits_uint8(32)
    idx = digits_split("test")
    net = load_digits_classifier()
    with torch.no_grad():
        pred = net(x[idx].float() / 127.5 - 1).argmax(1)
    acc = float((pred == y[idx]).float().mean())
    assert acc >= 0.97
    assert acc == pytest.approx(meta["test_accuracy"], abs=1e-4)
    feats, probs = _probs(x[idx[:10]])
    assert feats.shape == (10, 128) and probs.shape == (10, 1, 10)


def test_stacked_digits_modes_per_channel():
    d = stacked_digits(split="test", n=2000)
    feats, probs = _probs(d.x)
    assert feats.shape == (2000, 3 * 128) and probs.shape == (2000, 3, 10)
    pred = combined_labels(probs)
    assert (pred == d.y.numpy()).mean() > 0.9  # channel 0 is the hundreds digit
    true_modes = len(np.unique(d.y.numpy()))  # ~ 1000 * (1 - e^-2) = 865
    m = class_mode_metrics(probs)
    assert m["modes_total"] == 1000 and abs(m["modes"] - true_modes) <= 30
    assert m["reverse_kl"] < 0.5
    few = np.isin(d.y.numpy(), d.y.numpy()[:10])  # a collapsed generator: 10 of 1000 modes
    m_few = class_mode_metrics(probs[few])
    assert m_few["modes"] <= 25 and m_few["reverse_kl"] > math.log(1000 / 20)


def test_stacked_digits_channel_kl_and_confidence():
    """channel_kl: real stacked digits (each channel's classes ~uniform) near the sample-size floor;
    a G that over-makes one digit in one channel shows it there, while confidence reads how sure the
    classifier is (real digits ~0.96; a blurred copy much lower)."""
    d = stacked_digits(split="test", n=2000)
    _, probs = _probs(d.x)
    m = class_mode_metrics(probs)
    assert m["channel_kl"] < 0.01 and m["confidence"] > 0.9
    # drop the samples whose red channel is a 1: that channel's KL alone is then ~log(10/9) = 0.105
    m_skew = class_mode_metrics(probs[probs[:, 0].argmax(-1) != 1])
    assert m_skew["channel_kl"] > m["channel_kl"] + 0.025
    blurred = torch.nn.functional.avg_pool2d(d.x.float(), 9, 1, 4).round().to(torch.uint8)
    assert class_mode_metrics(_probs(blurred)[1])["confidence"] < m["confidence"] - 0.05
