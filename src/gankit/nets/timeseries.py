"""Recurrent nets for multivariate sequences (Esteban et al. 2017's RGAN; Mogren 2016).

* ``gru_seq_g``: noise ``z [N, T, z_dim]`` -> a sequence ``[N, T, F]``. A GRU whose input at
  step t is ``z_t`` and the previous output ``x_{t-1}`` (autoregressive), whose first state
  comes from ``z_1``. Given the *real* previous steps (``x_prev``), the same net predicts each
  next step (teacher forcing): the supervised signal TimeGAN adds to the adversarial one
  (Yoon et al. 2019, eq. 5, here in data space rather than in a learned embedding).
* ``gru_seq_d``: a GRU over ``[N, T, F]``; its hidden states, averaged over time and the last
  one, give one logit per sequence.
"""
from __future__ import annotations

import torch
from torch import nn

from ..registry import NETS


@NETS.register("gru_seq_g")
class GRUSequenceGenerator(nn.Module):
    """z [N, T, z_dim] -> x [N, T, features]; ``x_prev`` [N, T, F]: one-step-ahead teacher forcing."""

    def __init__(self, features: int = 3, seq_len: int = 24, z_dim: int = 8, hidden: int = 64, layers: int = 2):
        super().__init__()
        self.features, self.seq_len, self.z_dim = features, seq_len, z_dim
        self.hidden_size, self.layers = hidden, layers
        self.h0 = nn.Linear(z_dim, hidden * layers)
        self.gru = nn.GRU(z_dim + features, hidden, layers, batch_first=True)
        self.out = nn.Linear(hidden, features)

    def _state(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.h0(z[:, 0])).view(len(z), self.layers, self.hidden_size)
        return h.transpose(0, 1).contiguous()  # [layers, N, hidden]

    def forward(self, z: torch.Tensor, x_prev: torch.Tensor | None = None) -> torch.Tensor:
        h = self._state(z)
        if x_prev is not None:  # teacher forcing: step t sees the real x_{t-1}
            shifted = torch.cat([torch.zeros_like(x_prev[:, :1]), x_prev[:, :-1]], 1)
            out, _ = self.gru(torch.cat([z, shifted.to(z.dtype)], -1), h)
            return self.out(out)
        x = z.new_zeros(len(z), self.features)
        outs = []
        for t in range(z.shape[1]):
            o, h = self.gru(torch.cat([z[:, t], x], -1)[:, None], h)
            x = self.out(o[:, 0])
            outs.append(x)
        return torch.stack(outs, 1)


@NETS.register("gru_seq_d")
class GRUSequenceDiscriminator(nn.Module):
    """x [N, T, features] -> logit [N]."""

    def __init__(self, features: int = 3, seq_len: int = 24, hidden: int = 64, layers: int = 1):
        super().__init__()
        self.gru = nn.GRU(features, hidden, layers, batch_first=True)
        self.out = nn.Linear(2 * hidden, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h, _ = self.gru(x)  # [N, T, hidden]
        return self.out(torch.cat([h.mean(1), h[:, -1]], 1)).squeeze(1)
