"""``gankit bench``: gankit's loop vs a tutorial-style loop on the same architectures, and one
training step per architecture family against the hardware's peak."""
from .throughput import GROUPS, WORKLOADS, format_table, run_bench

__all__ = ["GROUPS", "WORKLOADS", "format_table", "run_bench"]
