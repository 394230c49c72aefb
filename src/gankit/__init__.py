"""gankit: a toolkit for generative adversarial networks.

Train, sample, evaluate and serve GANs with one loop and one CLI::

    import gankit
    model = gankit.load("runs/demo")          # a run directory or a checkpoint directory
    x = model.sample(16, seed=0)               # [16, C, H, W] in [-1, 1]
"""
__version__ = "0.1.0"


def load(path, nets=None, device="cpu"):
    """Load a checkpoint (or a run's newest) for sampling, evaluation or serving."""
    from .checkpoint import load as _load

    return _load(path, nets=nets, device=device)


__all__ = ["load", "__version__"]
