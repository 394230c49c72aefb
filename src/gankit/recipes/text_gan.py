"""GANs for discrete sequences (characters): ``gumbel-gan``, ``seqgan`` and the ``char-mle`` baseline.

A generator that *samples* a character cuts the gradient: ``argmax`` / a categorical draw has
no derivative, so D's verdict cannot reach G the way it does for pixels. Two ways around it,
on the same GRU generator (``char_gru_g``) and CNN discriminator (``char_cnn_d``):

* ``gumbel-gan``: relax the sample. Each character is ``softmax((logits + g) / tau)`` with
  Gumbel noise g (Jang et al. 2017; Maddison et al. 2017), used *straight-through*: the forward
  value is the hard one-hot (D sees exactly what sampling gives, and G feeds it back as its next
  input), the backward pass the soft one's gradient (Jang et al. 2017, sec. 2.2; as in Kusner &
  Hernández-Lobato 2016 for GAN text). The temperature is a function of the step,
  ``tau(s) = tau_max * (tau_min / tau_max) ** min(1, (s - pretrain_steps) / anneal_steps)``.
* ``seqgan``: treat G as a policy and D's probability of "real" as the reward (Yu et al. 2017):
  REINFORCE with Monte-Carlo rollouts for the reward of each prefix (eq. 4), i.e.
  ``grad J = E sum_t Q(y_<t, y_t) grad log G(y_t | y_<t)`` (eq. 6), here with a batch-mean
  baseline per position and rollouts every ``rollout_every`` characters.
* ``char-mle``: the baseline, maximum likelihood (teacher forcing) alone. A critic D trains
  beside it that G never sees (``options.critic``), so its ``D/accuracy`` is comparable.

MLE pre-training is a stretch of the schedule: for ``step < options.pretrain_steps`` the G
phase of gumbel-gan and seqgan is the teacher-forced NLL (Yu et al. 2017, sec. 4, pre-train G
by MLE), while D already trains on G's samples; after it, G's loss is ``adv_weight`` times the
adversarial loss plus ``mle_weight`` times the NLL (the NLL term keeps G a language model while
D pulls it towards what D calls real; with it off, G drifts away fast on this data, see
docs/RESULTS.md).

Sampling (``gankit sample``) draws each character from ``softmax(logits / T)``: T = 1 is the
model's distribution; ``--truncation T`` sets T < 1, the text analogue of the truncation trick
(the quality/diversity knob of Caccia et al. 2018).
"""
from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F
from torch import nn

from ..data import melody_tokens as _melody_tokens  # noqa: F401  (folk-melodies-tokens)
from ..data import text as _text  # noqa: F401  (registers the text datasets, writer and preview)
from ..errors import UserError
from ..losses import d_accuracy
from ..registry import NETS, RECIPES
from .adversarial import AdversarialRecipe
from .base import Phase, StepContext, fill_kwargs


def gumbel(u: torch.Tensor) -> torch.Tensor:
    """Gumbel(0, 1) noise from uniforms ``u`` in (0, 1): ``-log(-log u)``."""
    return -torch.log(-torch.log(u.clamp(1e-10, 1.0 - 1e-7)))


def gumbel_st_sequence(G: nn.Module, z: torch.Tensor, u: torch.Tensor, tau: float) -> torch.Tensor:
    """A straight-through Gumbel-softmax sequence [N, L, V] (Jang et al. 2017, sec. 2.2).

    Forward values are hard one-hots (the sampled characters); gradients are those of
    ``softmax((logits + g) / tau)``. Each step's output is the next step's input, so the
    gradient flows through the whole free-running sequence.
    """
    h, inp, out = G.init_state(z), None, []
    for t in range(u.shape[1]):
        logits, h = G.step(inp, h)
        soft = torch.softmax((logits.float() + gumbel(u[:, t])) / tau, -1)  # [N, V]
        hard = F.one_hot(soft.argmax(-1), soft.shape[-1]).to(soft)
        inp = hard - soft.detach() + soft
        out.append(inp)
    return torch.stack(out, 1)


@torch.no_grad()
def sample_ids(G: nn.Module, z: torch.Tensor, u: torch.Tensor, temperature: float = 1.0,
               prefix: torch.Tensor | None = None, h: torch.Tensor | None = None) -> torch.Tensor:
    """Categorical samples (Gumbel-max with uniforms ``u`` [N, L', V]) -> ids [N, L'].

    With ``prefix`` (its last id) and ``h`` (the state after it), continues a sequence.
    """
    h = G.init_state(z) if h is None else h
    inp, out = prefix, []
    for t in range(u.shape[1]):
        logits, h = G.step(inp, h)
        inp = (logits.float() / temperature + gumbel(u[:, t])).argmax(-1)  # [N]
        out.append(inp)
    return torch.stack(out, 1)


def nll(G: nn.Module, z: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood per character (nats), teacher forcing."""
    logits = G(z, tokens)  # [N, L, V]
    return F.cross_entropy(logits.flatten(0, 1).float(), tokens.flatten())


class TextRecipe(AdversarialRecipe):
    """What the character recipes share: data checks, MLE, sampling, options."""

    kinds = ("text",)
    data_hint = "e.g. pydocs, or a .txt file"

    options = {"pretrain_steps": 0, "mle_weight": 0.0, "adv_weight": 1.0}

    @classmethod
    def resolve(cls, cfg, meta):
        vocab, seq_len = len(meta["info"]["vocab"]), int(meta["shape"][0])
        for role, net in (("G", cfg.G), ("D", cfg.D)):
            if not net.name or "vocab_size" not in inspect.signature(NETS.get(net.name)).parameters:
                raise UserError(f"{role}.name={net.name!r} is not a text network; use char_gru_g / char_cnn_d")
            fill_kwargs(net, {"vocab_size": vocab, "seq_len": seq_len})
        cls.read_options(cfg)
        return cfg

    def mle_step(self, ctx: StepContext) -> dict:
        """Teacher-forced NLL of the real batch (a G phase: pre-training, or char-mle's only one)."""
        G, real = ctx.nets["G"], ctx.batch["real"]
        loss = nll(G, ctx.randn(len(real), G.z_dim), real)
        return {"loss": loss, "G/nll": loss.detach()}

    def uniforms(self, ctx: StepContext, n: int) -> torch.Tensor:
        G = ctx.nets["G"]
        return torch.rand(n, G.seq_len, G.vocab_size, generator=ctx.rng).to(ctx.device)

    def pretraining(self, ctx: StepContext) -> bool:
        return ctx.step < self.opts["pretrain_steps"]

    def with_mle(self, ctx: StepContext, out: dict) -> dict:
        """``adv_weight`` x the adversarial G loss + ``mle_weight`` x NLL (logged either way)."""
        G, real = ctx.nets["G"], ctx.batch["real"]
        w = self.opts["mle_weight"]
        out["loss"] = self.opts["adv_weight"] * out["loss"]
        with torch.set_grad_enabled(w > 0):
            term = nll(G, ctx.randn(len(real), G.z_dim), real)
        if w > 0:
            out["loss"] = out["loss"] + w * term
        out["G/nll"] = term.detach()
        return out

    @torch.no_grad()
    def sample(self, G, n: int, seed: int, y=None, **kw) -> torch.Tensor:
        """n sequences of ids [n, L]; ``temperature`` (or ``truncation``, as in ``gankit sample
        --truncation T``) < 1 sharpens the character distribution."""
        temp = kw.get("temperature") or kw.get("truncation") or 1.0
        g = torch.Generator().manual_seed(seed)
        dev = next(G.parameters()).device
        z = torch.randn(n, G.z_dim, generator=g).to(dev)
        u = torch.rand(n, G.seq_len, G.vocab_size, generator=g).to(dev)
        return sample_ids(G, z, u, float(temp))


@RECIPES.register("gumbel-gan")
class GumbelGAN(TextRecipe):
    """Straight-through Gumbel-softmax text GAN (Jang et al. 2017) with MLE pre-training."""

    name = "gumbel-gan"
    description = "Jang et al. 2017: char GRU G through straight-through Gumbel-softmax, annealed tau; MLE warm-up"
    options = {"pretrain_steps": 1000, "mle_weight": 0.0, "adv_weight": 1.0, "tau_max": 1.0, "tau_min": 0.3,
               "anneal_steps": 1000}

    def tau(self, step: int) -> float:
        """The Gumbel-softmax temperature at ``step``: exponential from tau_max to tau_min."""
        o = self.opts
        frac = min(1.0, max(0.0, step - o["pretrain_steps"]) / max(1, o["anneal_steps"]))
        return o["tau_max"] * (o["tau_min"] / o["tau_max"]) ** frac

    def generate(self, ctx: StepContext) -> dict:
        G = ctx.nets["G"]
        n = len(ctx.batch["real"])
        z = ctx.randn(n, G.z_dim)
        return {"fake": gumbel_st_sequence(G, z, self.uniforms(ctx, n), self.tau(ctx.step)), "y": None}

    def g_step(self, ctx: StepContext) -> dict:
        if self.pretraining(ctx):
            return self.mle_step(ctx)
        out = self.with_mle(ctx, super().g_step(ctx))
        out["G/tau"] = self.tau(ctx.step)
        return out


@RECIPES.register("seqgan")
class SeqGAN(TextRecipe):
    """SeqGAN (Yu et al. 2017): G as a policy, D's probability of "real" as the reward,
    Monte-Carlo rollouts for the reward of every prefix, MLE pre-training."""

    name = "seqgan"
    description = "Yu et al. 2017: char GRU G trained by policy gradient, D as reward, MC rollouts; MLE warm-up"
    options = {"pretrain_steps": 1000, "mle_weight": 0.0, "adv_weight": 1.0, "rollouts": 4, "rollout_every": 4}

    def generate(self, ctx: StepContext) -> dict:
        G = ctx.nets["G"]
        n = len(ctx.batch["real"])
        z = ctx.randn(n, G.z_dim)
        return {"fake": sample_ids(G, z, self.uniforms(ctx, n)), "y": None, "z": z}

    @torch.no_grad()
    def rewards(self, ctx: StepContext, z: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Q [N, L]: for each position, D's mean P(real) over ``rollouts`` completions of the
        prefix ending there (Yu et al. 2017, eq. 4); positions between rollout points take the
        next point's value; the full sequence is scored directly."""
        G, D = ctx.nets["G"], ctx.nets["D"]
        n, L = ids.shape
        k, every = max(1, self.opts["rollouts"]), max(1, self.opts["rollout_every"])
        was = D.training
        D.eval()  # rewards without dropout noise
        q = torch.empty(n, L, device=ids.device)
        h, inp = G.init_state(z), None
        points = set(range(every, L, every))
        last = L
        q_full = torch.sigmoid(D(ids).float())
        values = {}
        for t in range(L - 1):  # state after consuming ids[:, :t+1]
            _, h = G.step(inp, h)
            inp = ids[:, t]
            if t + 1 in points:
                hk = h.repeat_interleave(k, 1)  # [layers, N*k, H]
                u = torch.rand(n * k, L - t - 1, G.vocab_size, generator=ctx.rng).to(ids.device)
                # the state after ids[:, t] is computed inside sample_ids' first step
                tail = sample_ids(G, None, u, prefix=inp.repeat_interleave(k), h=hk)
                full = torch.cat([ids.repeat_interleave(k, 0)[:, : t + 1], tail], 1)
                values[t + 1] = torch.sigmoid(D(full).float()).view(n, k).mean(1)
        for t in reversed(range(L)):  # token t belongs to the prefix of length t + 1
            p = t + 1
            if p == L:
                q[:, t] = q_full
            elif p in values:
                q[:, t] = values[p]
                last = p
            else:
                q[:, t] = values.get(last, q_full)
        D.train(was)
        return q

    def g_step(self, ctx: StepContext) -> dict:
        if self.pretraining(ctx):
            return self.mle_step(ctx)
        G = ctx.nets["G"]
        f = ctx.fake()
        ids, z = f["fake"], f["z"]
        q = self.rewards(ctx, z, ids)  # [N, L]
        adv = q - q.mean(0, keepdim=True)  # baseline: the batch mean per position
        logp = torch.log_softmax(G(z, ids).float(), -1).gather(-1, ids[..., None])[..., 0]  # [N, L]
        loss = -(logp * adv).sum(1).mean() / ids.shape[1]
        return self.with_mle(ctx, {"loss": loss, "G/reward": q.mean(), "G/logp": logp.detach().mean()})


@RECIPES.register("char-mle")
class CharMLE(TextRecipe):
    """The baseline: the same GRU by maximum likelihood alone (teacher forcing), no adversary.

    A critic D (``options.critic``) trains beside it on G's samples, which G never sees; its
    ``D/accuracy`` says how distinguishable MLE samples are. ``critic=false``: one G phase.
    """

    name = "char-mle"
    description = "baseline: the char GRU by maximum likelihood alone (teacher forcing); optional critic D"
    options = {"critic": True}

    def __init__(self, cfg, meta):
        super().__init__(cfg, meta)
        self.groups = {"G": ("G",), "D": ("D",)} if self.opts["critic"] else {"G": ("G",)}

    def build_nets(self):
        nets = {"G": self.build(self.cfg.G)}
        if self.opts["critic"]:
            nets["D"] = self.build(self.cfg.D)
        return nets

    def net_configs(self):
        return {"G": self.cfg.G, "D": self.cfg.D} if self.opts["critic"] else {"G": self.cfg.G}

    def phases(self):
        critic = [Phase("D", "D", self.critic_step)] if self.opts["critic"] else []
        return critic + [Phase("G", "G", self.mle_step)]

    def generate(self, ctx: StepContext) -> dict:
        G = ctx.nets["G"]
        n = len(ctx.batch["real"])
        return {"fake": sample_ids(G, ctx.randn(n, G.z_dim), self.uniforms(ctx, n)), "y": None}

    def critic_step(self, ctx: StepContext) -> dict:
        D, real, fake = ctx.nets["D"], ctx.batch["real"], ctx.fake()["fake"]
        d_real, d_fake = D(real), D(fake)
        loss, _ = self.loss_fn(d_real, d_fake)
        return {"loss": loss, "D/real_score": d_real.detach().mean(), "D/fake_score": d_fake.detach().mean(),
                "D/accuracy": d_accuracy(d_real.detach(), d_fake.detach())}
