"""Text metrics: BLEU against held-out text (quality) and Self-BLEU (diversity), both ways.

* ``bleu(samples, references, n)``: for each generated window, the BLEU-n of Papineni et al.
  (2002) against the *whole* reference set (every held-out window is a reference), averaged
  over samples: the protocol of SeqGAN (Yu et al. 2017, sec. 4) and Texygen (Zhu et al. 2018).
  Modified precision clips an n-gram's count by its largest count in any single reference;
  BLEU-n is the geometric mean of the precisions of orders 1..n. Windows have a fixed length,
  so there is no brevity penalty. Higher is better.
* ``self_bleu(samples, n)``: the same with every *other* sample as the references (Zhu et al.
  2018): high when samples repeat each other, i.e. lower is more diverse.
* ``distinct(samples, n)``: unique n-grams / all n-grams (Li et al. 2016); higher is more diverse.
* ``word_validity(samples, references)``: the share of generated words (two letters or more)
  that are words of the reference text: a crude check that a character model spells.

Both directions matter: a model that repeats one perfect sentence has top BLEU and terrible
Self-BLEU; a uniform character sampler the reverse. Tokens are words and punctuation marks; the
last token of every window is dropped on both sides, since a 32-character window may cut it.
"""
from __future__ import annotations

import math
import re
from collections import Counter

from ..modality import modality

TOKEN = re.compile(r"[\w']+|[^\w\s]")


def tokens(window: str, drop_last: bool = True) -> list[str]:
    """Words and punctuation of a window (its last, possibly cut, token dropped)."""
    toks = TOKEN.findall(window)
    return toks[:-1] if drop_last and len(toks) > 1 else toks


def ngrams(toks: list[str], n: int) -> Counter:
    return Counter(tuple(toks[i: i + n]) for i in range(len(toks) - n + 1))


def _max_counts(docs: list[list[str]], n: int) -> dict:
    """n-gram -> its largest count in any single document."""
    best: dict = {}
    for toks in docs:
        for g, c in ngrams(toks, n).items():
            if c > best.get(g, 0):
                best[g] = c
    return best


def _top_two(docs: list[list[str]], n: int) -> dict:
    """n-gram -> (largest count, its document, second-largest count): for leave-one-out clipping."""
    top: dict = {}
    for i, toks in enumerate(docs):
        for g, c in ngrams(toks, n).items():
            c1, i1, c2 = top.get(g, (0, -1, 0))
            if c > c1:
                top[g] = (c, i, c1)
            elif c > c2:
                top[g] = (c1, i1, c)
    return top


def _sentence_bleu(precisions: list[tuple[int, int]], eps: float = 0.1) -> float:
    """Geometric mean of modified precisions (matches, total) per order. An order with no match
    counts as ``eps / total`` (NLTK's smoothing method 1, as Texygen uses), so one missing
    4-gram does not zero a short window; orders with no n-grams at all are left out."""
    logs = [math.log((m if m > 0 else eps) / t) for m, t in precisions if t > 0]
    return math.exp(sum(logs) / len(logs)) if logs else 0.0


def bleu(samples: list[str], references: list[str], n: int = 4) -> float:
    """Mean BLEU-n of each sample against all references (see the module docstring)."""
    hyps = [tokens(s) for s in samples]
    refs = [tokens(r) for r in references]
    maxc = [_max_counts(refs, k) for k in range(1, n + 1)]
    scores = []
    for h in hyps:
        prec = []
        for k in range(1, n + 1):
            c = ngrams(h, k)
            prec.append((sum(min(v, maxc[k - 1].get(g, 0)) for g, v in c.items()), sum(c.values())))
        scores.append(_sentence_bleu(prec))
    return sum(scores) / max(1, len(scores))


def self_bleu(samples: list[str], n: int = 4) -> float:
    """Mean BLEU-n of each sample against all the *other* samples (lower: more diverse)."""
    hyps = [tokens(s) for s in samples]
    tops = [_top_two(hyps, k) for k in range(1, n + 1)]
    scores = []
    for i, h in enumerate(hyps):
        prec = []
        for k in range(1, n + 1):
            c = ngrams(h, k)
            m = 0
            for g, v in c.items():
                c1, i1, c2 = tops[k - 1][g]
                m += min(v, c2 if i1 == i else c1)
            prec.append((m, sum(c.values())))
        scores.append(_sentence_bleu(prec))
    return sum(scores) / max(1, len(scores))


def distinct(samples: list[str], n: int = 2) -> float:
    """Unique n-grams over all n-grams of the samples (Li et al. 2016)."""
    all_grams = Counter()
    for s in samples:
        all_grams.update(ngrams(tokens(s), n))
    total = sum(all_grams.values())
    return len(all_grams) / total if total else 0.0


def word_validity(samples: list[str], references: list[str]) -> float:
    """Share of generated words (letters only, 2+ long) that occur as words in the references."""
    known = {t for r in references for t in tokens(r, drop_last=False) if t.isalpha()}
    words = [t for s in samples for t in tokens(s) if t.isalpha() and len(t) > 1]
    return sum(w in known for w in words) / len(words) if words else 0.0


def text_report(samples: list[str], references: list[str], train: list[str] | None = None,
                orders: tuple[int, ...] = (2, 3, 4)) -> dict:
    """BLEU-n (vs held-out ``references``), Self-BLEU-n, distinct-n and word validity.

    ``train`` (optional): also the share of samples copied verbatim from the training windows.
    """
    out = {}
    for n in orders:
        out[f"bleu{n}"] = bleu(samples, references, n)
    for n in orders:
        out[f"self_bleu{n}"] = self_bleu(samples, n)
    out["distinct2"] = distinct(samples, 2)
    out["word_validity"] = word_validity(samples, references + (train or []))
    if train is not None:
        seen = set(train)
        out["copied"] = sum(s in seen for s in samples) / max(1, len(samples))
    return out


def evaluate_text_model(model, n: int = 1000, seed: int = 0, temperature: float = 1.0,
                        n_refs: int = 2000) -> dict:
    """The text report of a loaded text checkpoint (``gankit.load``): ``n`` samples at
    ``temperature`` against up to ``n_refs`` held-out windows, plus the held-out NLL (bits per
    character, teacher forcing, one z per window: ``E_z[-log2 p(x | z)]``)."""
    import torch

    from ..config import DataConfig
    from ..data import load_data
    from ..data.text import decode

    if not modality(model.meta).token_ids:
        raise ValueError(f"not a text model: {modality(model.meta)}")
    vocab = model.meta["info"]["vocab"]
    dcfg = DataConfig(**{**model.config.data.__dict__, "limit": 0})
    test, train = load_data(dcfg, split="test"), load_data(dcfg, split="train")
    g = torch.Generator().manual_seed(seed)
    refs_x = test.x[torch.randperm(len(test.x), generator=g)[:n_refs]]
    samples = decode(model.sample(n, seed=seed, temperature=temperature), vocab)
    out = text_report(samples, decode(refs_x, vocab), decode(train.x, vocab))
    G = model.generator
    with torch.no_grad():
        z = torch.randn(len(refs_x), G.z_dim, generator=g)
        logits = G(z, refs_x)
        nll = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), refs_x.flatten())
    out["test_bits_per_char"] = float(nll) / math.log(2)
    out.update(n=n, n_refs=len(refs_x), temperature=temperature, step=model.step, recipe=model.config.recipe)
    out["examples"] = samples[:5]
    return out


def evaluate_text_real(data: str, n: int = 1000, seed: int = 0, n_refs: int = 2000) -> dict:
    """The same report for ``n`` windows of the dataset's training split (what a model that
    samples the training distribution exactly would score; ``copied`` is then 1 by definition)."""
    import torch

    from ..config import DataConfig
    from ..data import load_data
    from ..data.text import decode

    train, test = load_data(DataConfig(name=data), "train"), load_data(DataConfig(name=data), "test")
    vocab = train.info["vocab"]
    g = torch.Generator().manual_seed(seed)
    refs_x = test.x[torch.randperm(len(test.x), generator=g)[:n_refs]]
    samples = decode(train.x[torch.randperm(len(train.x), generator=g)[:n]], vocab)
    out = text_report(samples, decode(refs_x, vocab), decode(train.x, vocab))
    out.update(n=len(samples), n_refs=len(refs_x), data=f"{data} train split")
    return out
