"""Latent-space tools on trained noise-to-image generators: interpolation, inversion, directions
and edits (``gankit interpolate | invert | directions | edit``), and InfoGAN code grids.

Spaces (:data:`SPACES`):

* ``z``: the generator's input noise. For InfoGAN it is the whole input ``[noise, one-hot
  categorical codes, continuous codes]``; for class-conditional models the class ``y`` is kept
  apart (fixed by ``class_``, default 0).
* ``w``: the output of a style-based generator's mapping network (one w for every layer).
* ``w+``: one w per synthesis layer (``[num_ws, w_dim]``; inversion only: a seed's w+ is its w
  repeated).

**Seeds.** The latent of seed ``S`` is the first latent that ``model.recipe.sample(G, 1, S)``
draws (the convention of :func:`gankit.nets.stylegan2.seed_z`), so the frame of a seed is
exactly the image the recipe samples for that seed, truncation included.

**Truncation.** The same trick ``gankit sample --truncation`` uses: resampled (truncated
normal) z for z-space generators, ``w_avg + psi (w - w_avg)`` for style-based ones.

**Directions** (InterFaceGAN, Shen et al. 2020): N sampled latents are labelled from their
images by the shipped digits classifier (class) and by their mean ink (a stroke-thickness
proxy); a linear boundary is fitted in latent space and its unit normal saved. Every saved
direction is scaled so that the sampled latents' projections onto it have standard deviation
1: ``strength 2`` moves a latent two standard deviations along it, in any space.
"""
from __future__ import annotations

from .codes import code_grids, write_code_grids  # noqa: F401
from .directions import (  # noqa: F401
    _fit_normal_classifier,
    _fit_normal_regression,
    apply_direction,
    attributes,
    compute_directions,
    edit_effect,
    load_directions,
    write_directions,
    write_edit,
)
from .interpolate import interpolate_codes, save_gif, slerp, write_interpolation  # noqa: F401
from .invert import (  # noqa: F401
    _digits_net,
    _to_digits_input,
    invert,
    read_targets,
    recon_error,
    write_inversion,
)
from .space import (  # noqa: F401
    CHUNK,
    SPACES,
    LatentSpace,
    _Capture,
    check_model,
    check_space,
    check_truncation,
    is_style_based,
    parse_seeds,
)
