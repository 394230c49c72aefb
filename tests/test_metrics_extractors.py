"""Feature extractors, the inception weights policy, and the reference-feature cache."""
import numpy as np
import pytest
import torch

from gankit.data.base import Data
from gankit.errors import UserError
from gankit.metrics import reference
from gankit.metrics.extractors import default_extractor, get_extractor
from gankit.metrics.reference import generated_features, quantize, reference_features


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANKIT_INCEPTION_WEIGHTS", raising=False)
    return tmp_path / "cache"


def test_inception_without_weights_says_how_to_get_them():
    with pytest.raises(UserError) as e:
        get_extractor("inception", {"kind": "images"})
    msg = str(e.value)
    assert "--inception-weights" in msg and "GANKIT_INCEPTION_WEIGHTS" in msg
    assert "pt_inception-2015-12-05-6726825d.pth" in msg and "\n" not in msg


def test_inception_with_a_missing_file_names_it(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="--inception-weights: .*nope.pth does not exist"):
        get_extractor("inception", {"kind": "images"}, inception_weights=str(tmp_path / "nope.pth"))
    monkeypatch.setenv("GANKIT_INCEPTION_WEIGHTS", str(tmp_path / "env.pth"))
    with pytest.raises(UserError, match="GANKIT_INCEPTION_WEIGHTS: .*env.pth does not exist"):
        get_extractor("inception", {"kind": "images"})


def test_extractor_choice_and_mismatch():
    assert default_extractor({"kind": "points", "name": "ring8"}) == "points"
    assert default_extractor({"kind": "images", "name": "digits"}) == "digits"
    assert default_extractor({"kind": "images", "name": "stacked-digits"}) == "digits"
    assert default_extractor({"kind": "images", "name": "faces"}) == "randconv"
    with pytest.raises(UserError, match="--extractor digits: reads images, but this data is points"):
        get_extractor("digits", {"kind": "points"})
    with pytest.raises(UserError, match="unknown extractor 'vgg'"):
        get_extractor("vgg", {"kind": "images"})


def test_randconv_is_fixed_and_separates_distributions():
    ext = get_extractor("randconv", {"kind": "images"})
    from gankit.metrics.extractors import RandConvExtractor

    assert RandConvExtractor().fingerprint() == ext.fingerprint()  # seeded: same weights every time
    g = torch.Generator().manual_seed(0)
    a = torch.rand(48, 3, 64, 64, generator=g) * 2 - 1  # any size: resized to 32 px
    f, p = ext.extract(a)
    assert f.shape == (48, 384) and p is None and torch.isfinite(f).all()
    gray, _ = ext.extract(a[:4, :1])
    assert gray.shape == (4, 384)
    from gankit.data.digits import digits_uint8
    from gankit.metrics import fid_from_features, kid_from_features

    x = digits_uint8(32)[0][:600].float() / 127.5 - 1
    ref, same = ext.extract(x[:300])[0], ext.extract(x[300:])[0]  # two halves of one distribution ...
    blurred = ext.extract(torch.nn.functional.avg_pool2d(x[300:], 5, 1, 2))[0]  # ... and a blurred one
    assert fid_from_features(ref, blurred) > 3 * fid_from_features(ref, same)
    assert kid_from_features(ref, blurred) > 10 * abs(kid_from_features(ref, same))


def test_reference_features_are_cached_by_content(cache):
    g = torch.Generator().manual_seed(0)
    data = Data("toy", "images", torch.randint(0, 256, (40, 1, 16, 16), generator=g, dtype=torch.uint8))
    ext = get_extractor("digits", {"kind": "images"})
    first = reference_features(data, ext, "train")
    files = list((cache / "reference").glob("toy-train-16px-digits-*.safetensors"))
    assert len(files) == 1
    again = reference_features(data, ext, "train")
    np.testing.assert_array_equal(first.features, again.features)
    np.testing.assert_array_equal(first.stats()[1], again.stats()[1])
    data.x[0, 0, 0, 0] ^= 1  # one pixel differs: a new key, no stale reuse
    reference_features(data, ext, "train")
    assert len(list((cache / "reference").glob("toy-train-16px-digits-*.safetensors"))) == 2


def test_generated_features_in_chunks_match_one_batch():
    ext = get_extractor("digits", {"kind": "images"})

    def sampler(m, seed, y):
        g = torch.Generator().manual_seed(seed)
        return torch.rand(m, 1, 32, 32, generator=g) * 2 - 1

    fs, labels, kept = generated_features(sampler, 70, ext, seed=3, num_classes=10, keep=5, chunk=30)
    assert fs.features.shape == (70, 128) and fs.probs.shape == (70, 1, 10) and kept.shape == (5, 1, 32, 32)
    assert labels.tolist() == [i % 10 for i in range(70)]
    whole = torch.cat([sampler(30, 300009, None), sampler(30, 300010, None), sampler(10, 300011, None)])
    f, _ = ext.extract(quantize(whole))
    np.testing.assert_allclose(fs.features, f.double().numpy(), rtol=1e-5, atol=1e-5)
    assert reference.quantize(torch.tensor([0.3])).item() == pytest.approx(round(1.3 * 127.5) / 127.5 - 1)
