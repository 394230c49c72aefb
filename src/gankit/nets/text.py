"""Character-level nets: an autoregressive GRU generator and a CNN discriminator.

Both read characters through an embedding *matrix* (``one_hot @ E``) rather than a lookup,
so the same net takes int ids, hard one-hot vectors or relaxed (soft) ones: that is what
lets a discriminator's gradient reach the generator through a Gumbel-softmax sample (Jang et
al. 2017; Kusner & Hernández-Lobato 2016), and what lets the generator feed its own relaxed
outputs back in as the next input.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import NETS


def as_one_hot(x: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """ids [N, L] (int) -> one-hot [N, L, V] float; float [N, L, V] passes through."""
    if x.dtype in (torch.int64, torch.int32, torch.int16, torch.uint8):
        return F.one_hot(x.long(), vocab_size).float()
    return x


@NETS.register("char_gru_g")
class CharGRUGenerator(nn.Module):
    """z [N, z_dim] -> a sequence of characters, one at a time (a GRU language model).

    The first hidden state is ``tanh(W z)``; the first input is a learned start vector; every
    later input is the embedding of the previous character (``one_hot @ E``, so relaxed
    one-hots work). :meth:`forward` is teacher forcing (logits of each next character given
    the true prefix), :meth:`step` one step of free generation; the sampling schemes
    (Gumbel-softmax, categorical, rollouts) live with the recipes that use them.
    """

    def __init__(self, vocab_size: int = 64, seq_len: int = 32, z_dim: int = 32, embed: int = 32,
                 hidden: int = 128, layers: int = 1):
        super().__init__()
        self.vocab_size, self.seq_len, self.z_dim = vocab_size, seq_len, z_dim
        self.hidden_size, self.layers = hidden, layers
        self.embedding = nn.Parameter(torch.randn(vocab_size, embed) * 0.1)  # E [V, embed]
        self.start = nn.Parameter(torch.zeros(embed))
        self.h0 = nn.Linear(z_dim, hidden * layers)
        self.gru = nn.GRU(embed, hidden, layers, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def init_state(self, z: torch.Tensor) -> torch.Tensor:
        """The GRU's first hidden state from z: [layers, N, hidden]."""
        h = torch.tanh(self.h0(z)).view(len(z), self.layers, self.hidden_size)
        return h.transpose(0, 1).contiguous()

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """ids [N, L] or (relaxed) one-hots [N, L, V] -> embeddings [N, L, embed]."""
        return as_one_hot(x, self.vocab_size) @ self.embedding

    def forward(self, z: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits [N, L, V] of ``tokens[:, t]`` given ``tokens[:, :t]`` and z."""
        n = len(z)
        inp = torch.cat([self.start.expand(n, 1, -1), self.embed(tokens[:, :-1])], 1)  # [N, L, E]
        out, _ = self.gru(inp, self.init_state(z))
        return self.out(out)

    def step(self, inp: torch.Tensor | None, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One free-running step: previous character (ids [N] or one-hot [N, V]; None: start)
        and state -> (logits [N, V], new state)."""
        n = h.shape[1]
        e = self.start.expand(n, -1) if inp is None else self.embed(inp[:, None])[:, 0]
        out, h = self.gru(e[:, None], h)
        return self.out(out[:, 0]), h


@NETS.register("char_cnn_d")
class CharCNNDiscriminator(nn.Module):
    """Characters (ids [N, L] or one-hots [N, L, V]) -> one logit per sequence [N].

    The CNN text classifier of Kim (2014) that SeqGAN's discriminator uses (Yu et al. 2017,
    sec. 4): convolutions of several widths over the embedded sequence, max-pooled over time,
    a highway layer, dropout, a linear logit.
    """

    def __init__(self, vocab_size: int = 64, seq_len: int = 32, embed: int = 32, hidden: int = 128,
                 kernels: list[int] = (2, 3, 4, 5), dropout: float = 0.25):
        super().__init__()
        self.vocab_size = vocab_size
        kernels = [k for k in kernels if k <= seq_len] or [min(2, seq_len)]
        self.embedding = nn.Linear(vocab_size, embed, bias=False)
        self.convs = nn.ModuleList(nn.Conv1d(embed, hidden, k) for k in kernels)
        width = hidden * len(kernels)
        self.highway = nn.Linear(width, 2 * width)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        e = self.embedding(as_one_hot(x, self.vocab_size)).transpose(1, 2)  # [N, embed, L]
        h = torch.cat([F.leaky_relu(c(e), 0.2).amax(-1) for c in self.convs], 1)  # [N, width]
        t, g = self.highway(h).chunk(2, 1)  # highway (Srivastava et al. 2015)
        g = torch.sigmoid(g)
        h = g * F.relu(t) + (1 - g) * h
        return self.out(self.drop(h)).squeeze(1)
