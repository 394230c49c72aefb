"""Metrics (registered by name; the same functions serve training callbacks and ``gankit eval``)."""
