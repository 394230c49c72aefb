"""Network architectures, registered by name (``gankit.registry.NETS``)."""
from . import dcgan, layers, mlp, resnet  # noqa: F401  (registers built-ins)
