"""MuseGAN's nets (Dong et al., "MuseGAN: Multi-track Sequential Generative Adversarial Networks
for Symbolic Music Generation and Accompaniment", AAAI 2018), after the authors' code
(github.com/salu133445/musegan: ``v2/musegan/musegan/presets/generator/hybrid.py`` for the
hybrid generator, ``src/musegan/presets/discriminator/default.py`` and
``v2/.../discriminator/proposed_small.py`` for the discriminator), scaled to a CPU.

Piano rolls are ``[N, T, B, S, P]`` (tracks, bars, steps per bar, pitches) in [-1, 1]. Inside,
the pitch axis is padded up to whole octaves (``12 * O``) so the octave-wise kernels of the
paper's pitch-time / time-pitch streams apply; G's output is cropped back to ``P``.

* ``musegan_g`` (the *hybrid* model, paper sec. "Multi-track Interdependency" and "Temporal
  Model"): four latents of ``z_each`` each, the inter-track ``z`` (shared by all tracks) and
  an intra-track ``z_i`` per track, each split into a time-independent part (the same for every
  bar) and a time-dependent part that a *temporal generator* (``G_temp``, one shared and one
  per track) maps to one latent per bar. A bar generator turns each (track, bar)'s
  concatenated latent into a bar ``[S, P]``: a trunk shared by the tracks (as the repo's
  ``src`` generator has it), then private per-track pitch-time and time-pitch streams, merged
  by a 1x1 layer, batch-normalised, tanh. ``temporal=False`` is the ablation without
  ``G_temp``: each bar's time-dependent latents are independent normal draws, so bars are
  generated without a shared plan. ``binary_neurons=True`` (not MuseGAN: BinaryMuseGAN, Dong &
  Yang, ISMIR 2018) outputs hard +-1 with straight-through gradients, so D sees binary rolls
  from both sides (an experiment, docs/results/music.md; off in the presets).
* ``musegan_d``: the repo's shared 3-D conv D: per-track private pitch-time / time-pitch
  streams, a shared stream over all tracks, plus a chroma stream (per-beat pitch-class
  activation) and an onset/offset stream (steps' changes summed over pitches), merged over
  bars into one Wasserstein critic score. No normalisation (WGAN-GP: the penalty is per sample).
  ``key_invariant=True`` (not in the repo; see :mod:`gankit.recipes.musegan`) adds a tonal
  stream: chroma-stream layers of its own run on every rotation (transposition) of the per-beat
  chroma, their bar features are averaged over the phrase, and the max over the 12 rotations
  joins the critic's last layer: a phrase's fit to its best key, whatever the key.

Every layer of both nets has stride = kernel (non-overlapping patches; the repo's convs do
too, except D's last one over bars), so each is one batched matmul over channels-last tensors
(:class:`Patch`): 5-6x faster on a CPU than ``ConvTranspose2d`` / ``Conv3d`` with the same
weights. Private per-track layers are grouped (``groups=T``): T separate layers in one call.
Bars are folded into the batch: the repo's 3-D kernels are 1 along bars (the temporal
structure comes from the latents), so 2-D patches over (steps, pitches) are the same layers.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import NETS


def _octaves(pitches: int) -> int:
    return max(1, math.ceil(pitches / 12))


class TemporalGenerator(nn.Module):
    """G_temp: z [N, z_each] -> one latent per bar [N, bars, z_each] (repo: dense to 3 x 256,
    then a (2, 1, 1) transposed conv to 4 bars; here dense to (bars - 1) x hidden, then a
    kernel-2 transposed conv to ``bars``)."""

    def __init__(self, z_each: int, bars: int, hidden: int):
        super().__init__()
        self.bars, self.hidden = bars, hidden
        self.fc = nn.Linear(z_each, (bars - 1) * hidden)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.up = nn.ConvTranspose1d(hidden, z_each, 2)
        self.bn2 = nn.BatchNorm1d(z_each)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(len(z), self.hidden, self.bars - 1)
        h = F.leaky_relu(self.bn1(h), 0.2)
        return F.leaky_relu(self.bn2(self.up(h)), 0.2).transpose(1, 2)  # [N, bars, z_each]


class Patch(nn.Module):
    """A conv with stride = kernel over channels-last ``[N, H, W, C]``, as one matmul per group:
    ``down`` maps each (kh, kw) patch to a position (conv), otherwise each position to a
    (kh, kw) patch (transposed conv). Init as torch's convs: U(+-1/sqrt(fan_in))."""

    def __init__(self, cin: int, cout: int, k: tuple[int, int], groups: int = 1, down: bool = True):
        super().__init__()
        self.k, self.groups, self.down, self.cout = tuple(k), groups, down, cout
        kk = k[0] * k[1]
        fan_in = cin // groups * (kk if down else 1)
        self.weight = nn.Parameter(torch.empty(groups, fan_in, cout // groups * (1 if down else kk)))
        self.bias = nn.Parameter(torch.empty(cout))
        bound = 1 / math.sqrt(fan_in)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, H, W, C = x.shape
        (kh, kw), g = self.k, self.groups
        if self.down:
            x = x.reshape(N, H // kh, kh, W // kw, kw, g, C // g).permute(0, 1, 3, 5, 6, 2, 4)
            y = torch.einsum("nhwgi,gio->nhwgo", x.reshape(N, H // kh, W // kw, g, -1), self.weight)
            return y.reshape(N, H // kh, W // kw, self.cout) + self.bias
        y = torch.einsum("nhwgi,gio->nhwgo", x.reshape(N, H, W, g, C // g), self.weight)
        y = y.reshape(N, H, W, g, self.cout // g, kh, kw).permute(0, 1, 5, 2, 6, 3, 4)
        return y.reshape(N, H * kh, W * kw, self.cout) + self.bias


class ChannelsLastBN(nn.BatchNorm1d):
    """Batch norm over the last axis of ``[..., C]``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.reshape(-1, x.shape[-1])).view(x.shape)


def _up(cin: int, cout: int, k: tuple[int, int], groups: int = 1) -> nn.Sequential:
    """The repo's G block: transposed conv (stride = kernel), batch norm, leaky ReLU."""
    return nn.Sequential(Patch(cin, cout, k, groups, down=False), ChannelsLastBN(cout), nn.LeakyReLU(0.2))


def _down(cin: int, cout: int, k: tuple[int, int], groups: int = 1) -> nn.Sequential:
    """The repo's D block: conv (stride = kernel), leaky ReLU (no normalisation)."""
    return nn.Sequential(Patch(cin, cout, k, groups), nn.LeakyReLU(0.2))


def _per_track_cat(a: torch.Tensor, b: torch.Tensor, tracks: int) -> torch.Tensor:
    """[..., T*c] and [..., T*c'] -> [..., T*(c+c')] with each track's channels together."""
    lead = a.shape[:-1]
    return torch.cat([a.reshape(*lead, tracks, -1), b.reshape(*lead, tracks, -1)], -1).reshape(*lead, -1)


@NETS.register("musegan_g")
class MuseGANGenerator(nn.Module):
    """z [N, z_dim] -> piano rolls [N, tracks, bars, steps, pitches] in [-1, 1] (tanh).

    ``z_dim`` is ``z_each`` x (1 shared + ``tracks`` private) for the time-independent part,
    plus as much again for the time-dependent part (times ``bars`` with ``temporal=False``).
    ``width`` w scales the channels (repo, hybrid bar generator: 512, 256, 128, 64 in the
    trunk, 32, 16 in the private streams; here 4w, 2w in the trunk, w/2, w/4 in the streams).
    """

    def __init__(self, tracks: int = 4, bars: int = 4, steps: int = 16, pitches: int = 48, z_each: int = 32,
                 width: int = 64, temporal: bool = True, binary_neurons: bool = False):
        super().__init__()
        self.binary_neurons = binary_neurons
        if steps % 4:
            raise ValueError(f"musegan_g: steps per bar must be a multiple of 4, got {steps}")
        self.tracks, self.bars, self.steps, self.pitches = tracks, bars, steps, pitches
        self.z_each, self.temporal, self.octaves = z_each, temporal, _octaves(pitches)
        self.z_dim = z_each * (1 + tracks) * (1 + (1 if temporal else bars))
        if temporal:
            self.temp_shared = TemporalGenerator(z_each, bars, 2 * width)
            self.temp_private = nn.ModuleList(TemporalGenerator(z_each, bars, 2 * width) for _ in range(tracks))
        T, O = tracks, self.octaves
        c2, c3, c4 = 2 * width, max(2, width // 2), max(1, width // 4)
        # shared trunk: a bar's latent [1, 1, 4 z_each] -> [steps / 4, octaves, 2w]
        self.trunk = nn.Sequential(_up(4 * z_each, 4 * width, (steps // 4, 1)), _up(4 * width, c2, (1, O)))
        # private streams (groups = tracks), each to [steps, 12 octaves, T w/4]: pitch-time
        # (octave -> 12 pitches, then time x4) and time-pitch (time x4, then pitches)
        self.pitch_time = nn.Sequential(_up(T * c2, T * c3, (1, 12), T), _up(T * c3, T * c4, (4, 1), T))
        self.time_pitch = nn.Sequential(_up(T * c2, T * c3, (4, 1), T), _up(T * c3, T * c4, (1, 12), T))
        self.merge = Patch(T * 2 * c4, T, (1, 1), T, down=False)
        self.out_bn = ChannelsLastBN(T)  # the repo normalises before the tanh too
        # ... which starts half the cells "on" (tanh of a zero-mean output); piano rolls are
        # sparse (~2 % on in the chorales), so the shift starts near that: P(N(0,1) > 2) = 2.3 %
        nn.init.constant_(self.out_bn.bias, -2.0)

    def latents(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, z_dim] -> the bar generator's inputs [N, T, B, 4 z_each]: (inter-track,
        intra-track) x (time-independent, time-dependent), as the paper's hybrid model."""
        N, T, B, d = len(z), self.tracks, self.bars, self.z_each
        z_s, z_p, rest = z[:, :d], z[:, d:d + T * d].view(N, T, d), z[:, d + T * d:]
        if self.temporal:
            zt_s = self.temp_shared(rest[:, :d])  # [N, B, d]
            zt_p = torch.stack([g(rest[:, d + t * d:d + (t + 1) * d]) for t, g in enumerate(self.temp_private)], 1)
        else:  # ablation: no G_temp, an independent draw per bar
            zt_s, zt_p = rest[:, :B * d].view(N, B, d), rest[:, B * d:].view(N, T, B, d)
        return torch.cat([z_s[:, None, None].expand(N, T, B, d), z_p[:, :, None].expand(N, T, B, d),
                          zt_s[:, None].expand(N, T, B, d), zt_p], -1)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        N, T, B = len(z), self.tracks, self.bars
        h = self.trunk(self.latents(z).reshape(N * T * B, 1, 1, -1))  # [N T B, S/4, O, 2w]
        h = h.view(N, T, B, *h.shape[1:]).permute(0, 2, 3, 4, 1, 5).reshape(N * B, *h.shape[1:3], -1)
        x = self.merge(_per_track_cat(self.pitch_time(h), self.time_pitch(h), T))  # [N B, S, 12 O, T]
        x = torch.tanh(self.out_bn(x))[:, :, :self.pitches]
        if self.binary_neurons:  # BinaryMuseGAN's deterministic binary neurons (straight-through)
            x = x + (torch.where(x > 0, 1.0, -1.0) - x).detach()
        return x.reshape(N, B, self.steps, self.pitches, T).permute(0, 4, 1, 2, 3)


@NETS.register("musegan_d")
class MuseGANDiscriminator(nn.Module):
    """Piano rolls [N, tracks, bars, steps, pitches] -> one critic score per roll [N].

    ``width`` w scales the channels (repo ``src`` default D: private 16, 32, merged 64; shared
    128, 256; chroma 32, 64; onset 16, 32, 64; merged 512: w = 32 here, with one onset layer
    fewer as our bars have 16 steps, not 48).
    """

    def __init__(self, tracks: int = 4, bars: int = 4, steps: int = 16, pitches: int = 48, width: int = 32,
                 steps_per_beat: int = 4, key_invariant: bool = False):
        super().__init__()
        if steps % 8 or steps % steps_per_beat:
            raise ValueError(f"musegan_d: steps per bar must be a multiple of 8 and of steps_per_beat, got {steps}")
        self.tracks, self.bars, self.steps, self.pitches = tracks, bars, steps, pitches
        self.octaves, self.spb = _octaves(pitches), steps_per_beat
        T, O, h, w = tracks, self.octaves, max(2, width // 2), width
        self.pitch_time = nn.Sequential(_down(T, T * h, (1, 12), T), _down(T * h, T * w, (4, 1), T))
        self.time_pitch = nn.Sequential(_down(T, T * h, (4, 1), T), _down(T * h, T * w, (1, 12), T))
        self.private = _down(T * 2 * w, T * w, (1, 1), T)
        self.shared = nn.Sequential(_down(T * w, 4 * w, (2, 1)), _down(4 * w, 8 * w, (steps // 8, O)))
        self.chroma = nn.Sequential(_down(T, w, (1, 12)), _down(w, 2 * w, (steps // steps_per_beat, 1)))
        self.onset = nn.Sequential(_down(T, h, (4, 1)), _down(h, w, (steps // 4, 1)))
        self.merged = nn.Linear(2 * 11 * w, 16 * w)  # the repo's (2, 1, 1) conv over adjacent bars
        self.key_invariant = key_invariant
        if key_invariant:  # the same chroma layers, applied to the chroma in each of its 12 rotations
            self.tonal = nn.Sequential(_down(T, w, (1, 12)), _down(w, 2 * w, (steps // steps_per_beat, 1)))
            rot = (torch.arange(12)[:, None] + torch.arange(12)[None]) % 12  # [rotation, class]
            self.register_buffer("rotations", rot, persistent=False)  # moves with the net, not saved
        self.out = nn.Linear(16 * w * (bars - 1) + (2 * w if key_invariant else 0), 1)

    def _tonal(self, chroma: torch.Tensor, n: int) -> torch.Tensor:
        """Key-invariant phrase features [N, 2w] of the per-beat chroma [N B, beats, 12, T]: the
        tonal stream's features of every rotation of the pitch classes (a transposition),
        averaged over the bars, then the max over the 12 rotations: "how well the phrase fits
        its best-matching key", whatever that key is."""
        rot = chroma[:, :, self.rotations].transpose(1, 2)  # [N B, 12 rotations, beats, 12, T]
        h = self.tonal(rot.reshape(-1, *chroma.shape[1:]))  # [N B 12, 1, 1, 2w]
        return h.view(n, -1, 12, h.shape[-1]).mean(1).amax(1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        N, T, B, S, P = x.shape
        xp = F.pad(x, (0, 12 * self.octaves - P), value=-1.0)  # silence up to whole octaves
        xp = xp.permute(0, 2, 3, 4, 1).reshape(N * B, S, -1, T)  # channels last: [N B, S, 12 O, T]
        on = (xp + 1) / 2  # activations as "how much on", for the chroma and onset features
        chroma = on.reshape(N * B, S // self.spb, self.spb, self.octaves, 12, T).sum((2, 3))  # [N B, beats, 12, T]
        onset = (on - F.pad(on[:, :-1], (0, 0, 0, 0, 1, 0))).sum(2, keepdim=True)  # [N B, S, 1, T]
        h = self.private(_per_track_cat(self.pitch_time(xp), self.time_pitch(xp), T))  # [N B, S/4, O, T w]
        h = torch.cat([self.shared(h), self.chroma(chroma), self.onset(onset)], -1).view(N, B, -1)
        h = F.leaky_relu(self.merged(torch.cat([h[:, :-1], h[:, 1:]], -1)), 0.2).flatten(1)  # [N, (B - 1) 16 w]
        if self.key_invariant:
            h = torch.cat([h, self._tonal(chroma, N)], 1)
        return self.out(h).squeeze(1)
