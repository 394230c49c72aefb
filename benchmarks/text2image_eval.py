"""Does a text-to-image model draw what the caption says? Shape / colour / size accuracy on
``scenes``, judged by a classifier trained on real scenes (never by the model's discriminator).

    python benchmarks/text2image_eval.py --checkpoint RUN_OR_CKPT [--per-prompt 20] [--grid FILE] [--json]

1. **Judge.** A small CNN with three heads (kind: circle/square/triangle, colour: 4, size: 2)
   is trained on the *single-shape* real images of the ``scenes`` training split (a two-shape
   image does not show which shape its caption names first, so only single-shape captions are
   judged). Its accuracy on the single-shape images of the test split is the **real** row: the
   ceiling a perfect generator could reach under this judge.
2. **Caption sets** (each image is judged against the caption it was generated from):
   * ``held-out scenes``: the captions of the test split's single-shape scenes, one image each
     (unseen scenes; most of the *strings* also occur in training, since single-shape captions
     take only 24 attribute combinations x 9 positions -- the script reports how many are new);
   * ``attributes only``: ``"a {size} {colour} {kind}"`` for all 24 combinations, a form never
     seen in training (every training caption names a position or a second shape);
   * ``paraphrased``: ``"a big/tiny {colour} {kind} in the middle"`` -- words (big, tiny, middle)
     that no training caption contains; only an encoder that knows them as synonyms can help.
3. **Caption-shuffled control**: images generated from the held-out captions in a shuffled
   order, judged against the *original* caption: what agreement chance (and the attribute
   marginals) give.

Deterministic: seeded judge, seeded noise.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

from gankit.data.scenes import COLORS, KINDS, SIZES, scenes

SIZE_NAMES, COLOR_NAMES = list(SIZES), list(COLORS)
_CAP = re.compile(r"^a (small|large) (red|green|blue|yellow) (circle|square|triangle) (in the|at the|on the) ")
ATTRS = ("kind", "colour", "size")


def parse_single(caption: str) -> tuple[int, int, int] | None:
    """(kind, colour, size) ids of a single-shape ``scenes`` caption; None for two shapes."""
    m = _CAP.match(caption)
    if not m:
        return None
    return KINDS.index(m.group(3)), COLOR_NAMES.index(m.group(2)), SIZE_NAMES.index(m.group(1))


def single_shape(data) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Images float [-1, 1] [M, 3, R, R], targets [M, 3] (kind, colour, size), captions."""
    keep = [(i, parse_single(c)) for i, c in enumerate(data.captions)]
    keep = [(i, a) for i, a in keep if a is not None]
    idx = torch.tensor([i for i, _ in keep])
    x = data.x[idx].float() / 127.5 - 1
    return x, torch.tensor([a for _, a in keep]), [data.captions[i] for i, _ in keep]


class Judge(nn.Module):
    """Three-headed CNN: kind (3), colour (4), size (2) of the one shape in a 32 px scene."""

    def __init__(self, width: int = 32):
        super().__init__()
        w = width
        self.trunk = nn.Sequential(
            nn.Conv2d(3, w, 3, 1, 1), nn.ReLU(), nn.Conv2d(w, w, 3, 2, 1), nn.ReLU(),          # 16
            nn.Conv2d(w, 2 * w, 3, 1, 1), nn.ReLU(), nn.Conv2d(2 * w, 2 * w, 3, 2, 1), nn.ReLU(),  # 8
            nn.Conv2d(2 * w, 4 * w, 3, 1, 1), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten())
        self.heads = nn.ModuleList([nn.Linear(4 * w, k) for k in (3, 4, 2)])

    def forward(self, x):
        h = self.trunk(x)
        return [head(h) for head in self.heads]


def train_judge(x: torch.Tensor, t: torch.Tensor, epochs: int = 12, seed: int = 0) -> Judge:
    torch.manual_seed(seed)
    net = Judge()
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for s in range(0, len(x), 64):
            b = perm[s:s + 64]
            # small pixel-noise augmentation: generated images are not as clean as renders
            xb = x[b] + 0.05 * torch.randn(x[b].shape, generator=g)
            loss = sum(F.cross_entropy(o, t[b, k]) for k, o in enumerate(net(xb)))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


@torch.no_grad()
def judge(net: Judge, x: torch.Tensor, t: torch.Tensor) -> dict:
    """Fractions of images whose kind / colour / size / all three match targets ``t``."""
    pred = torch.stack([o.argmax(1) for o in _batched(net, x)], 1)  # [N, 3]
    ok = pred == t
    out = {a: float(ok[:, k].float().mean()) for k, a in enumerate(ATTRS)}
    out["all"] = float(ok.all(1).float().mean())
    out["n"] = len(x)
    return out


def _batched(net, x):
    outs = [net(x[s:s + 256]) for s in range(0, len(x), 256)]
    return [torch.cat([o[k] for o in outs]) for k in range(3)]


def generate(model, captions: list[str], seed: int) -> torch.Tensor:
    from gankit.generate import sample

    return sample(model, len(captions), seed=seed, texts=captions).clamp(-1, 1)


def prompt_sets(test_caps: list[str], test_t: torch.Tensor, per_prompt: int):
    combos = [(k, c, s) for s in range(2) for c in range(4) for k in range(3)]
    plain = [f"a {SIZE_NAMES[s]} {COLOR_NAMES[c]} {KINDS[k]}" for k, c, s in combos]
    para = [f"a {('tiny', 'big')[s]} {COLOR_NAMES[c]} {KINDS[k]} in the middle" for k, c, s in combos]
    rep = lambda lst: [p for p in lst for _ in range(per_prompt)]
    tt = torch.tensor([c for c in combos for _ in range(per_prompt)])
    return {"held-out scenes": (test_caps, test_t), "attributes only": (rep(plain), tt),
            "paraphrased": (rep(para), tt)}


def save_grid(model, path: str, per_row: int = 8, seed: int = 1) -> None:
    """Rows = captions (attribute-only prompts and two paraphrases), ``per_row`` samples each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gankit import viz

    caps = ["a large green triangle", "a small red circle", "a large blue square", "a small yellow triangle",
            "a large red circle in the top left", "a small green square on the right",
            "a big yellow circle in the middle", "a small blue triangle above a large red square"]
    x = generate(model, [c for c in caps for _ in range(per_row)], seed)
    fig, axes = plt.subplots(len(caps), 1, figsize=(per_row * 0.55 + 3.2, len(caps) * 0.62))
    for r, (ax, cap) in enumerate(zip(axes, caps)):
        ax.imshow(viz.image_grid(x[r * per_row:(r + 1) * per_row], nrow=per_row, pad=1))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(cap, rotation=0, ha="right", va="center", fontsize=7)
        for s in ax.spines.values():
            s.set_visible(False)
    fig.subplots_adjust(left=0.42, right=0.99, top=0.99, bottom=0.01, hspace=0.08)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    from PIL import Image  # a 256-colour palette keeps the PNG small for the docs

    Image.open(path).convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--per-prompt", type=int, default=20, help="images per attribute-only / paraphrased prompt")
    ap.add_argument("--grid", help="write a sample grid PNG (rows = captions)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--judge-epochs", type=int, default=12)
    args = ap.parse_args(argv)
    import gankit

    t0 = time.perf_counter()
    model = gankit.load(args.checkpoint)
    res = model.meta["shape"][-1]
    train, test = scenes(res, "train"), scenes(res, "test")
    x_tr, t_tr, _ = single_shape(train)
    x_te, t_te, caps_te = single_shape(test)
    net = train_judge(x_tr, t_tr, epochs=args.judge_epochs, seed=args.seed)
    rows = {"real (judge on held-out real images)": judge(net, x_te, t_te)}
    seen = set(train.captions)
    info = {"judge_train_images": len(x_tr), "heldout_captions": len(caps_te),
            "heldout_captions_not_in_training": sum(c not in seen for c in caps_te),
            "encoder": model.recipe.opts["encoder"], "step": model.step}
    for name, (caps, tt) in prompt_sets(caps_te, t_te, args.per_prompt).items():
        rows[f"generated: {name}"] = judge(net, generate(model, caps, args.seed), tt)
    g = torch.Generator().manual_seed(args.seed + 1)
    perm = torch.randperm(len(caps_te), generator=g)
    shuffled = [caps_te[i] for i in perm]
    rows["control: caption-shuffled (held-out scenes)"] = judge(net, generate(model, shuffled, args.seed), t_te)
    info["seconds"] = round(time.perf_counter() - t0, 1)
    if args.grid:
        save_grid(model, args.grid)
    if args.json:
        print(json.dumps({"rows": rows, "info": info}))
    else:
        print(json.dumps(info))
        print("| images | n | shape | colour | size | all three |\n|---|---|---|---|---|---|")
        for k, r in rows.items():
            print(f"| {k} | {r['n']} | {r['kind']:.3f} | {r['colour']:.3f} | {r['size']:.3f} | {r['all']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
