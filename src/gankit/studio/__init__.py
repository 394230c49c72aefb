"""``gankit studio``: a local web app for a checkpoint or a folder of runs.

One page with tabs: Generate (sample grids, PNG download with provenance), Explore
(interpolation, latent directions, style mixing), Translate (image-to-image models, a mask
canvas for inpainting), Monitor (live curves and samples of runs, side-by-side comparison),
Playground (a 2D GAN trained live, the adversarial game made visible) and Detect (real vs
generated, when a detector is available).

It is Python's standard ``http.server`` with a JSON API (:mod:`.api`) and a static page
(``static/``): nothing to build, nothing extra to install. Start it with::

    gankit studio --runs runs/            # every run under runs/ (pick one in the page)
    gankit studio --checkpoint runs/demo  # one checkpoint

or from Python: ``gankit.studio.serve(runs="runs")``; tests use :func:`make_server` with port 0.
"""
from .api import LIMITS, Studio
from .server import make_server, serve, start_in_thread

__all__ = ["LIMITS", "Studio", "make_server", "serve", "start_in_thread"]
