"""Network architectures, registered by name (``gankit.registry.NETS``)."""
from . import dcgan, layers, mlp, resnet  # noqa: F401  (registers built-ins)
from . import patchgan, resnet_translator, spade, srresnet, unet  # noqa: F401  (image-to-image nets)
from . import biggan, progan, r3gan, stylegan2  # noqa: F401  (the GAN family catalog)
from . import musegan, tabular, text, timeseries  # noqa: F401  (beyond images)
from . import text_cond  # noqa: F401  (text-to-image)
