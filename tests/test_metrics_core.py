"""FID, KID, precision/recall/density/coverage and IS against direct reference computations."""
import numpy as np
import pytest
import scipy.linalg
import torch

from gankit.metrics import fid_from_features, inception_score, kid_from_features, prdc_from_features
from gankit.metrics import prdc as prdc_module


# ------------------------------------------------------------------------------------------ FID
def fid_pytorch_fid(real, fake, eps=1e-6):
    """The formula of pytorch-fid (calculate_frechet_distance), with scipy.linalg.sqrtm."""
    mu1, mu2 = real.mean(0), fake.mean(0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((s1 + offset).dot(s2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


@pytest.mark.parametrize("d,shift,scale", [(16, 0.0, 1.0), (64, 0.3, 1.5), (100, 1.0, 0.7)])
def test_fid_matches_pytorch_fid_formula(d, shift, scale):
    rng = np.random.default_rng(d)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)  # correlated features
    real = rng.normal(size=(800, d)) @ mix
    fake = (rng.normal(size=(700, d)) * scale + shift) @ mix + rng.normal(size=d) * 0.1
    ours, ref = fid_from_features(real, fake), fid_pytorch_fid(real, fake)
    assert ours == pytest.approx(ref, rel=1e-6)
    assert ours > 0


def test_fid_identical_is_zero_and_accepts_torch():
    x = np.random.default_rng(0).normal(size=(500, 32))
    assert abs(fid_from_features(x, x)) < 1e-8
    assert fid_from_features(torch.from_numpy(x).float(), torch.from_numpy(x + 1.0)) == pytest.approx(32.0, rel=1e-5)


def test_fid_rejects_bad_input():
    with pytest.raises(ValueError):
        fid_from_features(np.zeros((10, 3)), np.zeros((10, 4)))
    with pytest.raises(ValueError):
        fid_from_features(np.zeros(10), np.zeros(10))


# ------------------------------------------------------------------------------------------ KID
def kid_direct(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b/d + 1)^3, by explicit sums over index pairs."""
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1.0) ** 3
    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return sxx + syy - 2 * sxy


def test_kid_full_estimate_matches_direct_sum():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(23, 5)), rng.normal(size=(17, 5)) + 0.5
    assert kid_from_features(x, y, num_subsets=1, subset_size=1000) == pytest.approx(kid_direct(x, y), rel=1e-10)


def test_kid_is_unbiased_near_zero_and_can_be_negative():
    rng = np.random.default_rng(2)
    vals = [kid_from_features(rng.normal(size=(100, 8)), rng.normal(size=(100, 8)), num_subsets=1,
                              subset_size=1000) for _ in range(40)]
    assert min(vals) < 0 < max(vals)  # an unbiased estimate of 0 takes both signs
    se = np.std(vals) / np.sqrt(len(vals))
    assert abs(np.mean(vals)) < 3 * se
    shifted = kid_from_features(rng.normal(size=(100, 8)), rng.normal(size=(100, 8)) + 1.0, 1, 1000)
    assert shifted > max(vals)


def test_kid_subsets_are_seeded():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(300, 8)), rng.normal(size=(250, 8)) + 0.2
    a = kid_from_features(x, y, num_subsets=10, subset_size=100, seed=5)
    assert a == kid_from_features(x, y, num_subsets=10, subset_size=100, seed=5)
    assert a != kid_from_features(x, y, num_subsets=10, subset_size=100, seed=6)


# ----------------------------------------------------------------------------------------- PRDC
def prdc_bruteforce(real, fake, k):
    """Direct implementation of Kynkäänniemi et al. 2019 (P, R) and Naeem et al. 2020 (D, C)."""
    drr = scipy.spatial.distance.cdist(real, real)
    dff = scipy.spatial.distance.cdist(fake, fake)
    drf = scipy.spatial.distance.cdist(real, fake)  # [N, M]
    r_real = np.sort(drr, axis=1)[:, k]  # column 0 is the point itself
    r_fake = np.sort(dff, axis=1)[:, k]
    inside = drf <= r_real[:, None]  # fake j in real i's ball
    return {
        "precision": inside.any(0).mean(),
        "recall": (drf <= r_fake[None, :]).any(1).mean(),
        "density": inside.sum() / (k * fake.shape[0]),
        "coverage": (drf.min(1) <= r_real).mean(),
    }


import scipy.spatial


def test_prdc_same_gaussian_matches_bruteforce_and_paper_values():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(2000, 64)), rng.normal(size=(2000, 64))
    ours = prdc_from_features(real, fake, k=5)
    ref = prdc_bruteforce(real, fake, 5)
    for key in ref:
        assert ours[key] == pytest.approx(ref[key], abs=1e-9), key
    assert ours["density"] == pytest.approx(1.0, abs=0.1)
    assert ours["coverage"] == pytest.approx(1 - 2 ** -5, abs=0.02)  # Naeem et al. 2020, Sec. 4
    assert ours["precision"] > 0.5 and ours["recall"] > 0.5


def test_prdc_chunked_equals_unchunked(monkeypatch):
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(300, 8)), rng.normal(size=(250, 8)) + 0.3
    full = prdc_from_features(real, fake, k=3)
    monkeypatch.setattr(prdc_module, "MAX_ELEMS", 20_000)  # chunks of 66-80 rows
    assert prdc_from_features(torch.from_numpy(real), torch.from_numpy(fake), k=3) == full
    assert full == {k: pytest.approx(v, abs=1e-12) for k, v in prdc_bruteforce(real, fake, 3).items()}


def test_shifted_fakes_lower_precision_and_density():
    rng = np.random.default_rng(2)
    real, same = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))
    shifted = rng.normal(size=(1000, 16)) + 1.5
    a, b = prdc_from_features(real, same), prdc_from_features(real, shifted)
    assert b["precision"] < a["precision"] - 0.3 and b["density"] < a["density"] - 0.5
    assert b["coverage"] < a["coverage"]


def test_prdc_rejects_too_few_rows():
    with pytest.raises(ValueError, match="k must be"):
        prdc_from_features(np.zeros((5, 2)), np.zeros((5, 2)), k=5)


# ------------------------------------------------------------------------------------------- IS
def test_inception_score_extremes_and_formula():
    k = 10
    confident_uniform = np.eye(k)[np.arange(1000) % k]  # sure of each class, all classes equally
    mean, std = inception_score(confident_uniform, splits=10)
    assert mean == pytest.approx(k) and std == pytest.approx(0.0, abs=1e-9)
    assert inception_score(np.full((500, k), 1 / k))[0] == pytest.approx(1.0)
    assert inception_score(np.eye(k)[np.zeros(500, int)])[0] == pytest.approx(1.0)  # one class only
    p = np.random.default_rng(0).dirichlet(np.ones(k) * 0.3, size=400)
    py = p.mean(0)
    direct = np.exp(np.mean([np.sum(pi * (np.log(pi) - np.log(py))) for pi in p]))
    assert inception_score(p, splits=1)[0] == pytest.approx(direct, rel=1e-10)
