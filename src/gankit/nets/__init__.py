"""Network architectures, registered by name (``gankit.registry.NETS``)."""
from . import dcgan, mlp  # noqa: F401  (registers built-ins)
