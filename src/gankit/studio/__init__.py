"""``gankit studio``: a local web app for a checkpoint or a folder of runs.

One page with tabs: Generate (sample grids, PNG download with provenance), Explore
(interpolation, latent directions, style mixing), Translate (image-to-image models, a mask
canvas for inpainting), Monitor (live curves and samples of runs, side-by-side comparison),
Playground (a 2D GAN trained live, the adversarial game made visible) and Detect (real vs
generated, when a detector is available).

It is a FastAPI app (:mod:`.app`) over a JSON API (:mod:`.api`) served by uvicorn
(:mod:`.server`), and a static page (``static/``): nothing to build. Install it with the
``studio`` extra (``pip install 'gankit[studio]'``; ``make`` does). Start it with::

    gankit studio --runs runs/            # every run under runs/ (pick one in the page)
    gankit studio --checkpoint runs/demo  # one checkpoint
    gankit studio --runs runs/ --host 0.0.0.0   # from the network: prints a URL with a token

or from Python: ``gankit.studio.serve(runs="runs")``; tests use :func:`make_server` with port 0
or :func:`create_app` with a test client. Who may connect is :mod:`.security`.
"""
from .api import LIMITS, Studio
from .app import create_app
from .server import make_server, serve, start_in_thread

__all__ = ["LIMITS", "Studio", "create_app", "make_server", "serve", "start_in_thread"]
