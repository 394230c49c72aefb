"""Layers the GAN families share: spectral norm, self-attention, equalized learning rate,
pixel norm, minibatch standard deviation, conditional batch norm and PacGAN packing.

Every layer is a plain ``nn.Module`` (or a function returning one) whose state lives in
``state_dict`` only, so it round-trips through the safetensors checkpoints.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _torch_spectral_norm

# --------------------------------------------------------------------- spectral norm


def fp32(x: torch.Tensor):
    """A context in which ops on ``x``'s device run in fp32 even inside an autocast region
    (``with fp32(x): y = net(x.float())``): for the maths the authors keep in fp32 under mixed
    precision (StyleGAN2's mapping network, WGAN-GP's gradient penalty). Free when no autocast
    is active."""
    return torch.autocast(x.device.type, enabled=False)


def to_fp32(x: torch.Tensor) -> torch.Tensor:
    """``x`` in fp32 where it is a half type (bf16 / fp16), else unchanged (fp64 stays fp64)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def spectral_norm(module: nn.Module, n_power_iterations: int = 1, eps: float = 1e-12) -> nn.Module:
    """Spectral normalization (Miyato et al. 2018, eq. 8): ``W / sigma(W)``.

    ``sigma(W)`` (the largest singular value of W reshaped to [out, fan_in]) is estimated by
    ``n_power_iterations`` steps of power iteration per training forward (sec. 2.1, Alg. 1);
    in eval mode the stored vectors are used as they are, so outputs are deterministic.
    This is ``torch.nn.utils.parametrizations.spectral_norm``: its state is the parameter
    ``parametrizations.weight.original`` plus the buffers ``parametrizations.weight.0._u``
    and ``._v``, all in ``state_dict``, so it survives a safetensors save/load.
    """
    return _torch_spectral_norm(module, n_power_iterations=n_power_iterations, eps=eps)


def maybe_sn(module: nn.Module, sn: bool) -> nn.Module:
    """``spectral_norm(module)`` when ``sn`` else ``module`` (for nets with an ``sn`` switch)."""
    return spectral_norm(module) if sn else module


# --------------------------------------------------------------------- self-attention


class SelfAttention(nn.Module):
    """Self-attention block of SAGAN (Zhang et al. 2019, sec. 3, eq. 1-3), laid out as the
    authors' code (brain-research/self-attention-gan ``non_local.sn_non_local_block_sim``; the
    same in BigGAN-PyTorch's ``layers.Attention``).

    x [N, C, H, W] -> y = x + gamma * v(o), where for every position j
    ``o_j = sum_i beta_ji h(x_i)`` and ``beta_ji = softmax_i(f(x_j)^T g(x_i))``. f and g are 1x1
    convs to C/8 channels (k = 8), h a 1x1 conv to C/2, v a 1x1 conv back to C; g and h are
    2x2 max-pooled, so each of the HW positions attends over HW/4 pooled ones (the paper's
    equations without the pooling cost 4x more in the attention map; the authors' code pools).
    ``gamma`` starts at 0, so the block begins as the identity and learns to use non-local
    evidence (eq. 3). With ``sn`` every conv is spectrally normalised (SAGAN normalises G and D).
    """

    def __init__(self, channels: int, k: int = 8, sn: bool = True):
        super().__init__()
        inner, value = max(channels // k, 1), max(channels // 2, 1)

        def conv(a, b):
            return maybe_sn(nn.Conv2d(a, b, 1, bias=False), sn)

        self.f, self.g, self.h = conv(channels, inner), conv(channels, inner), conv(channels, value)
        self.v = conv(value, channels)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, hh, ww = x.shape
        pool = (lambda t: F.max_pool2d(t, 2)) if hh >= 2 and ww >= 2 else (lambda t: t)
        q = self.f(x).flatten(2)  # [N, C/8, HW]  f(x_j), every position
        key = pool(self.g(x)).flatten(2)  # [N, C/8, HW/4]  g(x_i), pooled
        val = pool(self.h(x)).flatten(2)  # [N, C/2, HW/4]  h(x_i), pooled
        beta = torch.bmm(q.transpose(1, 2), key).softmax(dim=2)  # [N, HW_j, HW/4_i], normalised over i
        o = torch.bmm(val, beta.transpose(1, 2)).view(n, -1, hh, ww)  # [N, C/2, H, W]  sum_i beta_ji h(x_i)
        return x + self.gamma * self.v(o)


# ------------------------------------------------------------ equalized learning rate


class EqualizedLinear(nn.Module):
    """Linear layer with the equalized learning rate of Karras et al. 2018 (ProGAN, sec. 4.1).

    Weights are stored as N(0, 1) / lr_mul and scaled at run time by
    ``c = gain * lr_mul / sqrt(fan_in)`` (He's constant), so Adam's per-parameter step size
    moves every layer at the same speed. ``lr_mul`` < 1 slows a layer down (StyleGAN's
    mapping network uses 0.01); the bias is scaled by ``lr_mul`` likewise.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, gain: float = math.sqrt(2),
                 lr_mul: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul)) if bias else None
        self.scale = gain * lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = None if self.bias is None else self.bias * self.lr_mul
        return F.linear(x, self.weight * self.scale, b)


class EqualizedConv2d(nn.Module):
    """Conv2d with the equalized learning rate (Karras et al. 2018, sec. 4.1); fan_in = C_in * k * k."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True, gain: float = math.sqrt(2), lr_mul: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size) / lr_mul)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = gain * lr_mul / math.sqrt(in_channels * kernel_size * kernel_size)
        self.lr_mul, self.stride, self.padding = lr_mul, stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = None if self.bias is None else self.bias * self.lr_mul
        return F.conv2d(x, self.weight * self.scale, b, stride=self.stride, padding=self.padding)


# --------------------------------------------------------------------- normalisation


class PixelNorm(nn.Module):
    """Pixelwise feature normalisation (Karras et al. 2018, sec. 4.2):
    ``b_xy = a_xy / sqrt(mean_j (a_xy^j)^2 + eps)`` over channels j (dim 1), eps = 1e-8."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation (Karras et al. 2018, sec. 3; grouped as in StyleGAN2).

    x [N, C, H, W] -> [N, C + num_channels, H, W]. Within groups of ``group_size`` samples
    (the whole batch when it is smaller or does not divide), the std of every feature over the
    group is averaged over features and pixels (per channel split when num_channels > 1), and
    appended as constant feature maps: D can then see a lack of variety in a batch.
    """

    def __init__(self, group_size: int = 4, num_channels: int = 1, eps: float = 1e-8):
        super().__init__()
        self.group_size, self.num_channels, self.eps = group_size, num_channels, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        if n % g:
            g = n
        f = self.num_channels
        y = x.reshape(g, n // g, f, c // f, h, w)  # [G, M, F, C/F, H, W]; sample m*... grouped
        y = (y.var(dim=0, unbiased=False) + self.eps).sqrt()  # [M, F, C/F, H, W]  std over group
        y = y.mean(dim=(2, 3, 4))  # [M, F]
        y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w)  # [N, F, H, W]
        return torch.cat([x, y], dim=1)


class ConditionalBatchNorm2d(nn.Module):
    """Conditional batch norm (de Vries et al. 2017; Miyato & Koyama 2018 sec. 5, for G).

    BN without its own affine, then a per-sample ``gamma(c) * x_hat + beta(c)``. With
    ``num_classes`` the condition is an int label [N] and gamma/beta are embedding rows
    (initialised to 1 / 0); with ``cond_dim`` it is a float vector [N, cond_dim] and
    ``gamma = 1 + Linear(c)``, ``beta = Linear(c)`` (BigGAN's shared embedding + z chunk).
    """

    def __init__(self, num_features: int, num_classes: int = 0, cond_dim: int = 0, eps: float = 1e-5,
                 momentum: float = 0.1):
        super().__init__()
        if (num_classes > 0) == (cond_dim > 0):
            raise ValueError("ConditionalBatchNorm2d needs exactly one of num_classes or cond_dim")
        self.bn = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False)
        self.num_classes = num_classes
        if num_classes:
            self.gain = nn.Embedding(num_classes, num_features)
            self.bias = nn.Embedding(num_classes, num_features)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)
        else:
            self.gain = nn.Linear(cond_dim, num_features, bias=False)
            self.bias = nn.Linear(cond_dim, num_features, bias=False)
            nn.init.zeros_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        gamma = self.gain(c) if self.num_classes else 1.0 + self.gain(c)  # [N, C]
        beta = self.bias(c)  # [N, C]
        return self.bn(x) * gamma[:, :, None, None] + beta[:, :, None, None]


# --------------------------------------------------------------------- PacGAN packing


def mixture_groups(mixture, z_dim: int) -> list[int]:
    """A G's ``mixture`` option (0, K, or a list of group sizes) -> the group sizes ([] = none).

    ValueError unless every size is >= 2 and together they leave z at least one coordinate."""
    groups = [int(k) for k in mixture] if isinstance(mixture, (list, tuple)) else ([int(mixture)] if mixture else [])
    if any(k < 2 for k in groups) or (groups and sum(groups) >= z_dim):
        raise ValueError(f"mixture must be 0, or sizes >= 2 that sum to at most z_dim - 1 = {z_dim - 1}, "
                         f"got {mixture!r}")
    return groups


def mixture_onehot(z: torch.Tensor, groups: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """A mixture G's input (MGAN-style components, picked from the plain Gaussian z).

    For each group of K coordinates at the start of z [N, Z], the component is their argmax
    (uniform over K for a standard-normal z) and its one-hot replaces them. Returns the new z
    [N, Z] and the components [N, len(groups)]. The groups' product is the number of
    generators: [10, 10, 10] gives 1,000 that share all but G's first layer.
    """
    if not groups:
        return z, z.new_zeros(len(z), 0, dtype=torch.long)
    parts, cats, off = [], [], 0
    for k in groups:
        c = z[:, off:off + k].argmax(1)  # [N]
        parts.append(F.one_hot(c, k).to(z.dtype))
        cats.append(c)
        off += k
    return torch.cat([*parts, z[:, off:]], 1), torch.stack(cats, 1)


def split_code_heads(q: torch.Tensor, q_cat: list[int], q_cont: int) -> dict[str, torch.Tensor]:
    """InfoGAN's Q output [N, sum(q_cat) + 2 * q_cont] -> ``q_cat`` logits (one block per
    categorical code), ``q_mean`` and ``q_logstd`` of the continuous codes."""
    k = sum(q_cat)
    return {"q_cat": q[:, :k], "q_mean": q[:, k:k + q_cont], "q_logstd": q[:, k + q_cont:]}


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """PacGAN packing (Lin et al. 2018, sec. 3): D sees ``m`` samples at once.

    Consecutive groups of m samples are concatenated along dim 1 (channels for images,
    features for vectors): [N, C, ...] -> [N / m, m * C, ...]. N must be divisible by m.
    """
    if m == 1:
        return x
    if len(x) % m:
        raise ValueError(f"PacGAN packing: batch of {len(x)} is not divisible by pack={m}")
    return x.reshape(len(x) // m, m * x.shape[1], *x.shape[2:])
