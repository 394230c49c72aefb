"""MuseGAN: the hybrid generator's latents and shapes, the no-temporal ablation, the shared
discriminator, and a short train + sample through the CLI on a dozen chorales."""
from __future__ import annotations

import pytest
import torch

from gankit.cli import main
from gankit.nets.musegan import MuseGANDiscriminator, MuseGANGenerator, Patch
from gankit.presets import build_config

pytest.importorskip("music21")
pytestmark = pytest.mark.usefixtures("one_thread")

SHAPE = (4, 4, 16, 46)  # tracks, bars, steps, pitches (the chorales' range)
FAST = ["loop.progress=false", "loop.tensorboard=false", "loop.threads=1", "data.kwargs.limit=12",
        "data.batch_size=8", "G.kwargs.width=8", "D.kwargs.width=8", "loop.n_samples=4"]


def _g(**kw):
    T, B, S, P = SHAPE
    return MuseGANGenerator(tracks=T, bars=B, steps=S, pitches=P, z_each=8, width=16, **kw)


def test_generator_and_discriminator_shapes():
    torch.manual_seed(0)
    G, D = _g(), MuseGANDiscriminator(*SHAPE, width=8)
    assert G.z_dim == 8 * 5 * 2  # (shared + 4 private) x (time-independent + time-dependent)
    with torch.no_grad():
        x = G(torch.randn(3, G.z_dim))
    assert x.shape == (3, *SHAPE) and float(x.abs().max()) <= 1.0
    assert float((x > 0).float().mean()) < 0.2  # starts sparse, like piano rolls
    assert D(x).shape == (3,)


def test_hybrid_latents_share_and_split():
    G = _g().eval()
    z = torch.randn(2, G.z_dim)
    lat = G.latents(z)  # [N, T, B, 4 d]
    d = G.z_each
    assert lat.shape == (2, 4, 4, 4 * d)
    assert torch.equal(lat[:, 0, :, :d], lat[:, 3, :, :d])  # inter-track z: the same for every track
    assert torch.equal(lat[:, 1, 0, d:2 * d], lat[:, 1, 3, d:2 * d])  # time-independent: every bar
    assert not torch.equal(lat[:, 1, :, d:2 * d], lat[:, 2, :, d:2 * d])  # intra-track: per track
    assert not torch.equal(lat[:, 0, 0, 2 * d:], lat[:, 0, 1, 2 * d:])  # G_temp: one latent per bar


def test_no_temporal_ablation():
    G = _g(temporal=False).eval()
    assert G.z_dim == 8 * 5 * (1 + 4) and not hasattr(G, "temp_shared")
    z = torch.zeros(2, G.z_dim)
    z[:, 8 * 5:8 * 6] = 1.0  # bar 0's shared time-dependent draw only
    lat = G.latents(z)
    assert float(lat[:, :, 0, 16:24].abs().sum()) > 0 and float(lat[:, :, 1:, 16:24].abs().sum()) == 0
    assert G(torch.randn(2, G.z_dim)).shape == (2, *SHAPE)
    cfg = build_config(recipe="musegan", overrides=["G.kwargs.temporal=false"])
    assert cfg.G.kwargs["temporal"] is False


def test_patch_layers_match_torch_convs():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 24, 4)  # [N, H, W, C]
    down = Patch(4, 6, (2, 12), groups=2)
    conv = torch.nn.Conv2d(4, 6, (2, 12), (2, 12), groups=2)
    # Patch's weight [g, (C/g) kh kw, cout/g] with input order (c, kh, kw) per group
    w = down.weight.detach().view(2, 2, 2, 12, 3).permute(0, 4, 1, 2, 3).reshape(6, 2, 2, 12)
    conv.weight.data, conv.bias.data = w, down.bias.detach()
    ref = conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    assert torch.allclose(down(x), ref, atol=1e-5)
    up = Patch(4, 6, (4, 1), groups=2, down=False)
    tconv = torch.nn.ConvTranspose2d(4, 6, (4, 1), (4, 1), groups=2)
    tconv.weight.data = up.weight.detach().view(2, 2, 3, 4, 1).reshape(4, 3, 4, 1)
    tconv.bias.data = up.bias.detach()
    ref = tconv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    assert torch.allclose(up(x), ref, atol=1e-5)


def test_train_20_steps_and_sample_through_the_cli(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--data", "bach-chorales", "--steps", "20", "--out", str(run),
                 *[a for o in FAST for a in ("--set", o)]]) == 0
    cfg = (run / "config.yaml").read_text()
    assert "recipe: musegan" in cfg and "binarize: hard" in cfg and "d_steps: 5" in cfg and "gp: 10.0" in cfg
    out = tmp_path / "samples"
    assert main(["sample", "--checkpoint", str(run), "--n", "2", "--out", str(out)]) == 0
    assert len(list(out.rglob("*.mid"))) == 2
    assert main(["train", "--data", "bach-chorales", "--steps", "1", "--out", str(tmp_path / "bad"),
                 "--set", "sample.binarize=round", *[a for o in FAST for a in ("--set", o)]]) == 2
    assert "sample.binarize must be one of hard, bernoulli" in capsys.readouterr().err


def test_binary_neurons_are_hard_with_straight_through_gradients():
    G = _g(binary_neurons=True)
    z = torch.randn(2, G.z_dim)
    x = G(z)
    assert set(torch.unique(x.detach()).tolist()) <= {-1.0, 1.0}
    x.sum().backward()
    assert G.merge.weight.grad is not None and float(G.merge.weight.grad.abs().sum()) > 0


def test_key_invariant_stream_ignores_transposition_and_sees_out_of_key_notes():
    """``key_invariant``: the tonal stream's phrase feature is the same for a phrase and its
    transposition by any number of semitones (the chroma layers run on all 12 rotations), and
    it changes when one pitch class of the phrase is moved a semitone out of its key."""
    torch.manual_seed(0)
    D = MuseGANDiscriminator(*SHAPE, width=8, key_invariant=True)
    T, B, S, _ = SHAPE
    c_major = torch.tensor([0, 2, 4, 5, 7, 9, 11])
    chroma = torch.zeros(2 * B, S // 4, 12, T)
    chroma[:, :, c_major] = torch.rand(2 * B, S // 4, 7, T)  # only C major's pitch classes sound
    feats = D._tonal(chroma, 2)
    for shift in (1, 5, 7):
        assert torch.allclose(D._tonal(torch.roll(chroma, shift, 2), 2), feats, atol=1e-6)
    off = chroma.clone()
    off[:, :, 6] = off[:, :, 5]  # F -> F sharp as well: out of C major
    assert not torch.allclose(D._tonal(off, 2), feats, atol=1e-3)
    x = torch.rand(2, *SHAPE) * 2 - 1
    assert D(x).shape == (2,)
    assert MuseGANDiscriminator(*SHAPE, width=8).out.in_features + 16 == D.out.in_features
