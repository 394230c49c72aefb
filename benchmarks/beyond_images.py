"""Metrics of the modalities beyond images, for checkpoints of any of their recipes.

    python benchmarks/beyond_images.py --checkpoint runs/gumbel-gan runs/char-mle [--n N] [--seed S]
        [--temperature T] [--json]
    python benchmarks/beyond_images.py --real --data pydocs|wine|regime-prices|moving-digits [--json]

The metric set follows the checkpoint's data kind (``gankit.load(c).meta["kind"]``):

* text (gumbel-gan, seqgan, char-mle): BLEU-2/3/4 against held-out windows, Self-BLEU-2/3/4,
  distinct-2, word validity, copies of training windows, held-out bits per character
  (:mod:`gankit.metrics.text_metrics`); ``--temperature`` sets the sampling temperature;
* tabular (ctgan): per-column KS / total variation, correlation difference, and
  train-on-synthetic / test-on-real vs train-on-real (:mod:`gankit.metrics.tabular_metrics`);
* sequence (rgan): TimeGAN's discriminative and predictive scores and the autocorrelation
  match (:mod:`gankit.metrics.timeseries_metrics`);
* video (next-frame, next-frame-l1): PSNR, SSIM and sharpness per predicted frame of held-out
  rollouts (:mod:`gankit.metrics.video_metrics`).

``--real`` scores the dataset's training split as if it were generated (what a perfect model
would get, against the same held-out split). Seeded; single-threaded by default.
"""
from __future__ import annotations

import argparse
import json
import sys

import torch


def evaluate(model, n: int | None, seed: int, temperature: float) -> dict:
    from gankit.metrics.modality import evaluate_modality

    return evaluate_modality(model, n, seed, temperature)


def evaluate_real(data: str, n: int | None, seed: int) -> dict:
    from gankit.config import DataConfig
    from gankit.data import load_data
    from gankit.metrics.modality import evaluate_modality_real

    kind = load_data(DataConfig(name=data, limit=2), split="train").kind
    return evaluate_modality_real(data, kind, n, seed)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return " | ".join(_fmt(x) for x in v)
    return str(v)


def main(argv=None) -> int:
    import gankit
    from gankit.errors import UserError

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", nargs="+", help="run or checkpoint directories")
    p.add_argument("--real", action="store_true", help="score the training split of --data instead")
    p.add_argument("--data", help="with --real: a built-in dataset name")
    p.add_argument("--n", type=int, default=None, help="samples (default per kind)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=float, default=1.0, help="text: sampling temperature")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    try:
        if a.real:
            if not a.data:
                raise UserError("--real needs --data NAME")
            results = [evaluate_real(a.data, a.n, a.seed)]
        elif a.checkpoint:
            results = []
            for c in a.checkpoint:
                model = gankit.load(c)
                results.append({"checkpoint": str(model.path), **evaluate(model, a.n, a.seed, a.temperature)})
        else:
            raise UserError("give --checkpoint DIR ... or --real --data NAME")
    except UserError as e:
        print(f"beyond_images: error: {e}", file=sys.stderr)
        return 2
    for r in results:
        if a.json:
            print(json.dumps(r))
        else:
            print("\n".join(f"{k:<22} {_fmt(v)}" for k, v in r.items()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
