"""R3GAN (Huang et al. 2024, "The GAN is dead; long live the GAN! A Modern GAN Baseline")."""
from __future__ import annotations

from ..config import NetConfig
from ..errors import UserError
from ..modality import modality
from ..registry import RECIPES
from .adversarial import AdversarialRecipe

IMAGE_NETS = {"G": "r3gan_g", "D": "r3gan_d"}
POINT_NETS = {"G": "r3gan_mlp_g", "D": "r3gan_mlp_d"}


@RECIPES.register("r3gan")
class R3GAN(AdversarialRecipe):
    """The modern baseline: a well-behaved loss, and no tricks beyond it.

    * Loss: relativistic pairing, RpGAN (``loss.name=rpgan``, :func:`gankit.losses.rpgan`).
    * Zero-centred gradient penalties R1 on reals and R2 on fakes, both with weight
      ``options.gamma`` (``gamma / 2 * E||grad D||^2`` each), every D step, computed from the D
      phase's own forward pass; or lazily (StyleGAN2) every ``options.reg_interval`` steps in
      their own phase, weighted ``gamma * reg_interval`` (the grid25 preset: 4, which measured
      better than every step). Set in ``loss.kwargs`` as ``r1`` / ``r2`` unless the config sets
      them itself.
    * Nets: :mod:`gankit.nets.r3gan` (grouped-conv ResNets without normalisation, fix-up init,
      bilinear resampling; residual MLPs for points: the point nets replace the image nets
      when the data is 2D points). Any other G / D a config names is kept: the stacked-digits
      preset runs this loss on the half-width DCGAN nets, ~14x cheaper a step on a CPU than
      the grouped-conv ResNets, and R1 / R2 differentiate through their batch norm; the grid25
      and ring8 presets use plain ``mlp_g`` / ``mlp_d``, grid25's G a mixture of 50 generators
      sharing all but the first layer (``mlp_g`` ``mixture``; not in R3GAN: it keeps G from
      stringing samples between the separated modes, docs/results/quality.md).
    * Optimisation as the authors' code: Adam with beta1 = 0, lr and gamma decayed by a cosine
      schedule (``schedule.lr``, ``schedule.reg``: 2e-4 -> 5e-5 and gamma -> gamma / 10 there),
      G_ema for sampling (``loop.ema``). The authors also ramp Adam's beta2 0.9 -> 0.99 and the
      EMA length; here beta2 is fixed (the presets) and the EMA ramp is the loop's.
    """

    name = "r3gan"
    description = ("Huang et al. 2024: RpGAN loss + zero-centred R1 and R2, modern grouped-conv ResNets "
                   "without normalisation (residual MLPs for 2D)")
    options = {"gamma": 0.05, "reg_interval": 1}
    d_input_grads = True

    @classmethod
    def resolve(cls, cfg, meta):
        kind = modality(meta)
        points = kind.points
        if not (points or (kind.images and not kind.translation)):
            raise UserError(f"recipe 'r3gan' needs image or 2D point data; {cfg.data.name!r} is {kind.what} data")
        for role in ("G", "D"):
            net = getattr(cfg, role)
            if points and net.name == IMAGE_NETS[role]:  # the recipe preset's image nets -> their MLP twins
                setattr(cfg, role, NetConfig(POINT_NETS[role], {}))
        opts = cls.read_options(cfg)
        gamma, every = opts["gamma"], opts["reg_interval"]
        if gamma < 0:
            raise UserError(f"options.gamma must be >= 0, got {gamma}")
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise UserError(f"options.reg_interval must be an integer >= 1, got {every!r}")
        kw = dict(cfg.loss.kwargs)
        for key in ("r1", "r2"):
            kw.setdefault(key, {"weight": gamma, "interval": every})
        cfg.loss.kwargs = kw
        return super().resolve(cfg, meta)
