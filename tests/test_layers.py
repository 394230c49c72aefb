"""Layers (gankit.nets.layers) and the SNGAN ResNets (gankit.nets.resnet)."""
from __future__ import annotations

import copy
import math

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from gankit.checkpoint import load_net, save_net
from gankit.nets.layers import (
    ConditionalBatchNorm2d,
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdDev,
    PixelNorm,
    SelfAttention,
    pack,
    spectral_norm,
)
from gankit.registry import NETS

# ------------------------------------------------------------------- spectral norm


def test_spectral_norm_makes_sigma_one():
    torch.manual_seed(0)
    lin = spectral_norm(nn.Linear(6, 5))
    with torch.no_grad():
        lin.parametrizations.weight.original.mul_(7.0)
        for _ in range(50):  # power iteration runs in training forwards
            lin(torch.randn(2, 6))
    lin.eval()
    assert torch.linalg.matrix_norm(lin.weight.detach(), 2).item() == pytest.approx(1.0, abs=1e-3)


def test_spectral_norm_state_round_trips_through_safetensors(tmp_path):
    torch.manual_seed(0)
    conv = spectral_norm(nn.Conv2d(2, 3, 3))
    for _ in range(3):
        conv(torch.randn(2, 2, 5, 5))  # moves u, v away from their initial values
    sd = conv.state_dict()
    assert {"parametrizations.weight.original", "parametrizations.weight.0._u",
            "parametrizations.weight.0._v"} <= set(sd)
    save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp_path / "w.safetensors"))
    fresh = spectral_norm(nn.Conv2d(2, 3, 3))
    fresh.load_state_dict(load_file(str(tmp_path / "w.safetensors")), strict=True)
    x = torch.randn(1, 2, 5, 5)
    conv.eval(), fresh.eval()
    assert torch.equal(conv(x), fresh(x))


def test_sn_resnet_round_trips_through_a_gankit_checkpoint(tmp_path):
    kw = {"resolution": 16, "channels": 1, "ndf": 8, "num_classes": 3, "attention_res": 8}
    torch.manual_seed(0)
    D = NETS.build("resnet_d", **kw)
    x, y = torch.randn(4, 1, 16, 16), torch.tensor([0, 1, 2, 0])
    for _ in range(3):
        D(x, y)  # training forwards update the power-iteration vectors
    save_net(D, "resnet_d", kw, tmp_path / "D")
    loaded = load_net(tmp_path / "D")
    D.eval(), loaded.eval()
    assert torch.equal(D(x, y), loaded(x, y))
    for (k, a), (_, b) in zip(D.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), k


def test_sn_generator_deepcopies_for_ema():
    G = NETS.build("resnet_g", resolution=16, channels=1, ngf=8, sn=True, attention_res=16)
    G_ema = copy.deepcopy(G).eval()
    G.eval()
    z = torch.randn(2, G.z_dim)
    assert torch.equal(G(z), G_ema(z))


# ------------------------------------------------------------------ other layers


def test_self_attention_starts_as_identity_and_mixes_positions():
    torch.manual_seed(0)
    att = SelfAttention(16)
    x = torch.randn(2, 16, 4, 4)
    assert torch.equal(att(x), x)  # gamma = 0 at init (Zhang et al. 2019, eq. 3)
    with torch.no_grad():
        att.gamma.fill_(1.0)
    y = att(x)
    assert y.shape == x.shape and not torch.allclose(y, x)
    x2 = x.clone()
    x2[:, :, 0, 0] += 1.0  # a change at one position reaches every other position
    assert ((att(x2) - y)[:, :, 3, 3].abs() > 0).all()


def test_self_attention_is_the_authors_pooled_layout():
    """brain-research/self-attention-gan's sn_non_local_block_sim: query / key at C/8, value at
    C/2, key and value 2x2 max-pooled, softmax over the pooled positions, a 1x1 conv back to C."""
    torch.manual_seed(0)
    att = SelfAttention(32, sn=False)
    assert [m.weight.shape[0] for m in (att.f, att.g, att.h, att.v)] == [4, 4, 16, 32]
    with torch.no_grad():
        att.gamma.fill_(0.5)
    x = torch.randn(2, 32, 8, 8)
    theta = att.f(x).flatten(2).transpose(1, 2)  # [N, 64, 4]
    phi = torch.nn.functional.max_pool2d(att.g(x), 2).flatten(2).transpose(1, 2)  # [N, 16, 4]
    g = torch.nn.functional.max_pool2d(att.h(x), 2).flatten(2).transpose(1, 2)  # [N, 16, 16]
    attn = torch.softmax(theta @ phi.transpose(1, 2), dim=-1)  # [N, 64, 16]
    attn_g = (attn @ g).transpose(1, 2).reshape(2, 16, 8, 8)
    assert torch.allclose(att(x), x + 0.5 * att.v(attn_g), atol=1e-5)


def test_equalized_lr_scales_at_runtime():
    lin = EqualizedLinear(4, 3, gain=1.0)
    assert lin.weight.std().item() == pytest.approx(1.0, abs=0.6)  # stored as N(0, 1)
    with torch.no_grad():
        lin.weight.fill_(1.0)
    assert torch.allclose(lin(torch.ones(1, 4)), torch.full((1, 3), 2.0))  # 4 / sqrt(4)
    slow = EqualizedLinear(4, 3, gain=1.0, lr_mul=0.01)
    with torch.no_grad():
        slow.weight.fill_(100.0)  # stored / lr_mul: the effective weight is the same
    assert torch.allclose(slow(torch.ones(1, 4)), torch.full((1, 3), 2.0))
    conv = EqualizedConv2d(2, 1, 3, padding=1, gain=1.0)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    out = conv(torch.ones(1, 2, 5, 5))
    assert out[0, 0, 2, 2].item() == pytest.approx(18 / math.sqrt(18))  # fan_in = 2 * 3 * 3


def test_pixel_norm():
    x = torch.randn(3, 8, 4, 4) * 5
    assert torch.allclose(PixelNorm()(x).pow(2).mean(1), torch.ones(3, 4, 4), atol=1e-5)


def test_minibatch_stddev_known_values():
    x = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 2, 3, 3).contiguous()  # sample n is constant n
    out = MinibatchStdDev(group_size=4)(x)
    assert out.shape == (4, 3, 3, 3) and torch.equal(out[:, :2], x)
    assert torch.allclose(out[:, 2], torch.full((4, 3, 3), math.sqrt(1.25)))  # std of 0,1,2,3
    out2 = MinibatchStdDev(group_size=2)(x)  # groups {0, 2} and {1, 3}: std 1 each
    assert torch.allclose(out2[:, 2], torch.ones(4, 3, 3))


def test_conditional_batch_norm():
    x = torch.randn(6, 4, 3, 3)
    cbn = ConditionalBatchNorm2d(4, num_classes=3)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    plain = nn.BatchNorm2d(4, affine=False)(x)
    assert torch.allclose(cbn(x, y), plain, atol=1e-6)  # gamma 1, beta 0 at init
    with torch.no_grad():
        cbn.gain.weight[1] = 2.0
        cbn.bias.weight[1] = 0.5
    out = cbn(x, y)
    assert torch.allclose(out[1], 2 * plain[1] + 0.5, atol=1e-5) and torch.allclose(out[0], plain[0], atol=1e-6)
    vec = ConditionalBatchNorm2d(4, cond_dim=5)  # BigGAN style: gamma = 1 + Linear(c)
    assert torch.allclose(vec(x, torch.randn(6, 5)), plain, atol=1e-6)
    with pytest.raises(ValueError):
        ConditionalBatchNorm2d(4)


def test_pack():
    x = torch.arange(8.0).view(8, 1, 1, 1).expand(8, 3, 2, 2)
    p = pack(x, 4)
    assert p.shape == (2, 12, 2, 2)
    assert torch.equal(p[1, :3], x[4]) and torch.equal(p[1, 9:], x[7])  # samples 4..7 in order
    assert pack(torch.randn(6, 2), 3).shape == (2, 6)
    with pytest.raises(ValueError, match="divisible"):
        pack(torch.randn(6, 2), 4)


# ---------------------------------------------------------------------- ResNets


@pytest.mark.parametrize("res", [16, 32])
def test_resnet_shapes_and_heads(res):
    G = NETS.build("resnet_g", z_dim=8, resolution=res, channels=3, ngf=8, num_classes=5, attention_res=res // 2)
    D = NETS.build("resnet_d", resolution=res, channels=3, ndf=8, num_classes=5, aux_classes=5, q_cat=[4, 3],
                   q_cont=2, attention_res=res // 2)
    y = torch.tensor([0, 1, 2, 3])
    x = G(torch.randn(4, 8), y)
    assert x.shape == (4, 3, res, res) and x.abs().max() <= 1
    assert D(x, y).shape == (4,)
    out = D(x, y, heads=True)
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "logit": (4,), "features": (4, 8), "aux": (4, 5), "q_cat": (4, 7), "q_mean": (4, 2), "q_logstd": (4, 2)}
    assert not torch.equal(D(x, y), D(x, torch.tensor([4, 4, 4, 4])))  # the projection term uses y
    packed = NETS.build("resnet_d", resolution=res, channels=3, ndf=8, pack=2)
    assert packed(x).shape == (2,)


def test_dcgan_d_code_heads():
    """dcgan_d carries InfoGAN's Q head: infogan trains on DCGAN nets (stacked digits: 3 codes)."""
    D = NETS.build("dcgan_d", resolution=16, channels=3, ndf=8, q_cat=[10, 10, 10], q_cont=2)
    x = torch.randn(4, 3, 16, 16)
    out = D(x, heads=True)
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "logit": (4,), "features": (4, 16, 4, 4), "q_cat": (4, 30), "q_mean": (4, 2), "q_logstd": (4, 2)}
    assert torch.equal(out["logit"], D(x))  # the same logits with or without the heads
    with pytest.raises(ValueError, match="pack"):
        NETS.build("dcgan_d", resolution=16, q_cat=[10], pack=2)


def test_dcgan_d_acgan_head_and_dropout():
    """dcgan_d carries ACGAN's class head (Odena et al.'s nets are DCGAN-style) and their D's
    dropout; with dropout 0 the layers, and so older checkpoints' keys, are as before."""
    plain = NETS.build("dcgan_d", resolution=16, channels=3, ndf=8)
    D = NETS.build("dcgan_d", resolution=16, channels=3, ndf=8, aux_classes=10, dropout=0.5)
    assert sum(isinstance(m, torch.nn.Dropout) for m in D.modules()) == 2  # after each leaky ReLU
    assert set(NETS.build("dcgan_d", resolution=16, ndf=8, aux_classes=10).state_dict()) == {
        *plain.state_dict(), "aux.1.weight", "aux.1.bias"}
    x = torch.randn(4, 3, 16, 16)
    D.eval()
    out = D(x, heads=True)
    assert out["aux"].shape == (4, 10) and torch.equal(out["logit"], D(x))
    D.train()
    torch.manual_seed(0)
    assert not torch.equal(D(x), D(x))  # dropout is live in training
    with pytest.raises(ValueError, match="dropout"):
        NETS.build("dcgan_d", resolution=16, dropout=1.0)
    with pytest.raises(ValueError, match="pack"):
        NETS.build("dcgan_d", resolution=16, aux_classes=10, pack=2)


def test_sngan_standard_cnn_nets():
    """SNGAN's "standard CNN" (Miyato et al. 2018, table 3): D is 3x3 / (4x4 s2, 3x3) per scale
    with leaky ReLU 0.1, no batch norm, spectral norm on every conv and the linear layer, so
    each weight's largest singular value is ~1 after a few power iterations; G is DCGAN's with
    one more upsampling to ngf / 2 channels and a 3x3 output conv. Without ``out_conv``, G's
    keys are as before (older checkpoints load)."""
    torch.manual_seed(0)
    D = NETS.build("sndcgan_d", resolution=16, channels=1, ndf=8)
    convs = [m for m in D.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert [tuple(m.weight.shape[:2]) for m in convs] == [(8, 1), (16, 8), (16, 16), (32, 16), (32, 32), (1, 512)]
    assert [m.kernel_size for m in convs[:-1]] == [(3, 3), (4, 4), (3, 3), (4, 4), (3, 3)]
    assert all(hasattr(m, "parametrizations") for m in convs)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    assert {m.negative_slope for m in D.modules() if isinstance(m, torch.nn.LeakyReLU)} == {0.1}
    x = torch.randn(4, 1, 16, 16)
    for _ in range(30):  # power iterations run in training mode
        D(x)
    sigma = torch.linalg.matrix_norm(convs[2].weight.detach().flatten(1), ord=2)
    assert abs(float(sigma) - 1.0) < 0.05
    assert D(x).shape == (4,)
    plain = NETS.build("dcgan_g", z_dim=8, resolution=16, channels=1, ngf=8)
    G = NETS.build("dcgan_g", z_dim=8, resolution=16, channels=1, ngf=8, out_conv=True)
    assert set(plain.state_dict()) < set(G.state_dict())
    assert isinstance(G.net[-2], torch.nn.Conv2d) and G.net[-2].kernel_size == (3, 3)
    assert G.net[-2].in_channels == 4 and G(torch.randn(2, 8)).shape == (2, 1, 16, 16)
    wgan = NETS.build("sndcgan_d", resolution=16, channels=1, ndf=8, sn=False, slope=0.2)  # WGAN-GP's critic
    assert set(wgan.state_dict()) == {k.replace("parametrizations.weight.original", "weight")
                                      for k in D.state_dict() if "._u" not in k and "._v" not in k}


def test_standard_cnn_projection_and_conditional_bn():
    """The projection family on SNGAN's standard CNN: D adds <embed(y), phi(x)> (so the label
    moves the logit, and a missing label is an error), G's labels set its batch norms' scale and
    shift instead of being concatenated to z (its first layer sees z alone)."""
    torch.manual_seed(0)
    D = NETS.build("sndcgan_d", resolution=16, channels=1, ndf=8, num_classes=10)
    G = NETS.build("dcgan_g", z_dim=8, resolution=16, channels=1, ngf=8, num_classes=10, cbn=True)
    assert G.net[0].in_channels == 8 and NETS.get("sndcgan_d").projection
    assert NETS.build("dcgan_g", z_dim=8, resolution=16, ngf=8, num_classes=10).net[0].in_channels == 18
    with torch.no_grad():
        for m in G.modules():  # non-trivial class embeddings (they start at scale 1, shift 0)
            if isinstance(m, torch.nn.Embedding):
                m.weight.normal_()
    z = torch.randn(2, 8).repeat(2, 1)
    x = G(z, torch.tensor([0, 0, 3, 3]))
    assert not torch.allclose(x[:2], x[2:])  # same z, other class: another image
    y0, y1 = torch.zeros(4, dtype=torch.long), torch.ones(4, dtype=torch.long)
    assert not torch.allclose(D(x, y0), D(x, y1))
    with pytest.raises(ValueError, match="labels"):
        D(x)


def test_sagan_on_the_standard_cnn():
    """SAGAN's nets on the standard CNN: a self-attention block after the layer of the asked
    size in G and in D, spectral norm on every conv of G (SAGAN normalises both nets), and a
    size the net does not have is an error naming the sizes it has."""
    G = NETS.build("dcgan_g", z_dim=8, resolution=32, channels=1, ngf=8, out_conv=True, sn=True, attention_res=16)
    D = NETS.build("sndcgan_d", resolution=32, channels=1, ndf=8, attention_res=16)
    kinds = [type(m) for m in G.net]
    i = kinds.index(SelfAttention)
    assert G.net[i].gamma.shape == () and G.net[i - 3].weight.shape[1] == 8  # after the 8 -> 16 px layer (8 channels)
    convs = [m for m in G.net if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert all(hasattr(m, "parametrizations") for m in convs)
    assert sum(isinstance(m, SelfAttention) for m in D.net) == 1
    x = G(torch.randn(3, 8))
    assert x.shape == (3, 1, 32, 32) and D(x).shape == (3,)
    with pytest.raises(ValueError, match=r"\[8, 16, 32\]"):
        NETS.build("dcgan_g", z_dim=8, resolution=32, ngf=8, out_conv=True, attention_res=4)
    with pytest.raises(ValueError, match="attention_res"):
        NETS.build("sndcgan_d", resolution=32, ndf=8, attention_res=4)


def test_resnet_bad_arguments():
    with pytest.raises(ValueError, match="power of two"):
        NETS.build("resnet_g", resolution=24)
    with pytest.raises(ValueError, match="attention_res"):
        NETS.build("resnet_d", resolution=16, attention_res=16)
    with pytest.raises(ValueError, match="pack"):
        NETS.build("resnet_d", resolution=16, num_classes=3, pack=2)
