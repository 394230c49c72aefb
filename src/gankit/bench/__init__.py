"""``gankit bench``: gankit's loop vs a tutorial-style loop on the same architectures."""
from .throughput import WORKLOADS, run_bench

__all__ = ["WORKLOADS", "run_bench"]
