"""R3GAN (Huang et al. 2024, "The GAN is dead; long live the GAN! A Modern GAN Baseline")."""
from __future__ import annotations

from ..config import NetConfig
from ..errors import UserError
from ..losses import categorical_code_loss
from ..modality import modality
from ..nets.layers import mixture_onehot
from ..registry import RECIPES
from .adversarial import AdversarialRecipe, set_net_kwargs

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
      the authors' [1, 3, 3, 1] low-pass resampling; residual MLPs for points: the point nets replace the image nets
      when the data is 2D points). Any other G / D a config names is kept: the stacked-digits
      preset runs this loss on the half-width DCGAN nets, ~14x cheaper a step on a CPU than
      the grouped-conv ResNets, and R1 / R2 differentiate through their batch norm; the grid25
      and ring8 presets use plain ``mlp_g`` / ``mlp_d``, grid25's G a mixture of 25 generators
      sharing all but the first layer (``mlp_g`` ``mixture``) with the classifier term below
      (neither is in R3GAN: they put one component on each of the separated modes instead of
      stringing samples between them, docs/results/quality.md).
    * Optimisation as the authors' code: Adam with beta1 = 0, lr and gamma decayed by a cosine
      schedule (``schedule.lr``, ``schedule.reg``: 2e-4 -> 5e-5 and gamma -> gamma / 10 there),
      G_ema for sampling (``loop.ema``), Adam's beta2 ramped 0.9 -> 0.99 (``schedule.beta2``) and,
      on digits, their augmentation probability ramped 0 -> 0.55 (``schedule.augment`` on ADA).
      Still different: all ramps end with the run (theirs at 20M images), the EMA length is not
      ramped (the loop's warm-up ``min(ema, (1+t)/(10+t))`` instead), one block per stage (two),
      narrower stages (presets), our ADA transforms for their AugmentPipe; the grid25, ring8 and
      stacked-digits presets hold beta2 at 0.99 and have no augmentation (measured so).
    * ``options.mixture_weight`` (beta, default 0 = off; not in R3GAN): with a mixture G
      (``mlp_g`` ``mixture: K``), MGAN's classifier term (Hoang et al. 2018, eq. 4): a K-way head
      on D's last hidden layer (``mlp_d`` ``q_cat``) learns which component made each fake, and
      both D and G add ``beta * cross-entropy`` of it, so the components separate and none
      straddles two modes (a component's share of z is 1 / K by construction). The term holds
      for the first ``options.mixture_until`` of ``loop.steps`` (a fraction; 1 = the whole run),
      then weighs ``options.mixture_after`` (default 0 = off): it separates the components
      early, then the game sets each component's spread (kept at full weight, it shrinks every
      mode towards a point: docs/results/quality.md).
    """

    name = "r3gan"
    description = ("Huang et al. 2024: RpGAN loss + zero-centred R1 and R2, modern grouped-conv ResNets "
                   "without normalisation (residual MLPs for 2D)")
    options = {"gamma": 0.05, "reg_interval": 1, "mixture_weight": 0.0, "mixture_until": 1.0,
               "mixture_after": 0.0}
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
        beta, after, until = opts["mixture_weight"], opts["mixture_after"], opts["mixture_until"]  # floats
        if beta < 0 or after < 0:
            raise UserError(f"options.mixture_weight and options.mixture_after must be >= 0, got {beta!r}, {after!r}")
        if not 0 <= until <= 1:
            raise UserError(f"options.mixture_until must be a fraction of loop.steps in [0, 1], got {until!r}")
        if beta:
            k = cfg.G.kwargs.get("mixture", 0)
            if not k:
                raise UserError("options.mixture_weight needs a mixture G (G.kwargs.mixture=K or [K1, K2, ...] "
                                "on mlp_g or dcgan_g); G has no mixture")
            set_net_kwargs(cfg.D, {"q_cat": list(k) if isinstance(k, (list, tuple)) else [k]}, cfg.recipe, "D")
        return super().resolve(cfg, meta)

    def __init__(self, cfg, meta):
        super().__init__(cfg, meta)
        self.beta = self.opts["mixture_weight"]  # the classifier term's weight until mix_end ...
        self.beta_after = self.opts["mixture_after"] if self.beta else 0.0  # ... and after it
        self.mix_end = self.opts["mixture_until"] * cfg.loop.steps
        self.d_heads = bool(self.beta)
        self.mix_groups = list(cfg.D.kwargs.get("q_cat", [])) if self.beta else []  # = G's mixture groups

    def generate(self, ctx):
        if not self.beta:
            return super().generate(ctx)
        G = ctx.nets["G"]
        n = len(ctx.batch["real"])
        y = self.labels(ctx, n)
        z = ctx.randn(n, G.z_dim)
        _, cat = mixture_onehot(z, self.mix_groups)  # the components G picks [N, groups]
        return {"fake": G(z, y), "y": y, "cat": cat}

    def _mixture_loss(self, ctx, o_fake, f):
        """beta * the classifier head's cross-entropy (mean over the groups), and its accuracy."""
        beta = self.beta if ctx.step < self.mix_end else self.beta_after
        if not beta:
            return None, {}
        ce, acc = categorical_code_loss(o_fake["q_cat"], f["cat"], self.mix_groups)
        ce = ce / len(self.mix_groups)
        return beta * ce, {"mixture/ce": ce.detach(), "mixture/acc": acc}

    def d_extra_loss(self, ctx, o_real, o_fake, f):
        return self._mixture_loss(ctx, o_fake, f)

    def g_extra_loss(self, ctx, o_fake, f):
        return self._mixture_loss(ctx, o_fake, f)
