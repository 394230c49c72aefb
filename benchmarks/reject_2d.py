"""Would rejecting the samples D scores lowest fix a 2D run's off-mode mass? (a diagnostic)

For each checkpoint: 10,000 samples of G_ema (seed 123), scored by the checkpoint's D; the
PacGAN mode metrics (modes / high-quality % / reverse KL) of the top ``keep`` fraction by D
score, for each ``--keep``. A cheap stand-in for discriminator rejection sampling (DRS, Azadi
et al. 2019) that tells whether the between-mode samples are the ones D rates worst.

    python benchmarks/reject_2d.py RUN [RUN ...] [--keep 1,0.98,0.95,0.9] [--data grid25]
"""
from __future__ import annotations

import argparse

from gankit.checkpoint import load
from gankit.data import toy2d
from gankit.metrics.modes import mode_metrics_2d

MIXTURES = {"grid25": (toy2d.grid25_means, 0.05)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="run directories or checkpoints")
    ap.add_argument("--keep", default="1,0.98,0.95,0.9", help="fractions of samples kept, by D score")
    ap.add_argument("--data", default="grid25", choices=sorted(MIXTURES))
    ap.add_argument("--n", type=int, default=10_000)
    a = ap.parse_args()
    means_fn, std = MIXTURES[a.data]
    means = means_fn().numpy()
    keeps = [float(k) for k in a.keep.split(",")]
    print("| run | " + " | ".join(f"keep {k:g}" for k in keeps) + " |")
    print("|---|" + "---|" * len(keeps))
    for run in a.runs:
        m = load(run)
        x = m.sample(a.n, seed=123)
        score = m.d_score(x)
        cells = []
        for k in keeps:
            idx = score.topk(max(1, int(k * len(x)))).indices
            r = mode_metrics_2d(x[idx].numpy(), means, std)
            cells.append(f"{r['modes']:.0f} / {r['high_quality']:.1f} / {r['reverse_kl']:.3f}")
        print(f"| {run} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
