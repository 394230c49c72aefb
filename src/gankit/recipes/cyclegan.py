"""CycleGAN (Zhu et al. 2017): unpaired translation between domains A and B with two
translators tied by cycle consistency."""
from __future__ import annotations

from ..errors import UserError
from ..losses import d_accuracy
from ..registry import RECIPES
from .base import Phase, StepContext, fill_kwargs
from .translation import TranslationRecipe


@RECIPES.register("cyclegan")
class CycleGAN(TranslationRecipe):
    """Zhu et al. 2017, eq. 3: ``L = L_GAN(G, D_Y) + L_GAN(F, D_X) + lambda L_cyc(G, F)``.

    Nets (paper names in brackets): ``G`` translates A -> B [G: X -> Y], ``F`` B -> A [F],
    ``D`` judges domain B [D_Y], ``D_A`` judges domain A [D_X]; ``pool_B`` / ``pool_A`` are
    the 50-image histories D and D_A are trained on (sec. 4, after Shrivastava et al. 2017),
    held in checkpointed buffers, so ``--resume`` is exact (under DDP each rank keeps its own
    pool and a checkpoint holds rank 0's). ``G`` keeps the name the loop's EMA
    and samplers know; ``gankit translate --direction BtoA`` uses ``F``.

    * ``L_GAN`` (eq. 1) is least squares (sec. 4, ``loss.name: lsgan``): D minimises
      ``1/2 [(D(y) - 1)^2 + D(G(x))^2]`` ("we divide the objective by 2 while optimizing D");
      G minimises ``(D(G(x)) - 1)^2``, i.e. ``options.adv_weight = 2`` times the registry's
      halved LSGAN G loss.
    * ``L_cyc`` (eq. 2): ``E ||F(G(x)) - x||_1 + E ||G(F(y)) - y||_1``, ``lambda = options.cycle = 10``.
    * identity loss (sec. 5.2, from Taigman et al. 2017): ``E ||G(y) - y||_1 + E ||F(x) - x||_1``
      weighted ``options.identity * lambda`` (0.5 x lambda, as the authors' code does); it needs
      A and B with the same channels.
    """

    name = "cyclegan"
    kinds = ("unpaired", "paired")
    data_hint = "e.g. scenes-flat2shaded"
    description = "Zhu et al. 2017: unpaired A<->B, two ResNet translators, LSGAN, cycle x10, identity, 50-image pools"
    options = {"cycle": 10.0, "identity": 0.5, "adv_weight": 2.0, "pool": 50}
    groups = {"G": ("G", "F"), "D": ("D", "D_A")}
    directions = ("AtoB", "BtoA")

    @classmethod
    def resolve(cls, cfg, meta):
        o = cls.read_options(cfg)
        a, b = meta["a_shape"], meta["shape"]
        if a[-1] != b[-1]:
            raise UserError(f"recipe 'cyclegan': domains A {a} and B {b} must have the same size")
        if o["identity"] > 0 and a[0] != b[0]:
            raise UserError(f"options.identity: A has {a[0]} channels and B {b[0]}; the identity loss "
                            f"needs equal channels (set options.identity=0)")
        if o["pool"] < 0:
            raise UserError(f"options.pool must be >= 0, got {o['pool']}")
        fill_kwargs(cfg.G, {"in_channels": a[0], "channels": b[0], "resolution": b[-1]})
        fill_kwargs(cfg.D, {"in_channels": b[0], "resolution": b[-1]})
        return cfg

    def _swapped(self, net_cfg, c_in: int, c_out: int):
        """The B -> A twin of a net config: the same kwargs with channels swapped."""
        import copy

        nc = copy.deepcopy(net_cfg)
        for k, v in (("in_channels", c_in), ("channels", c_out)):
            if k in nc.kwargs:
                nc.kwargs[k] = v
        return nc

    def net_configs(self):
        from ..config import NetConfig

        a, b = self.meta["a_shape"], self.meta["shape"]

        def pool(c: int) -> NetConfig:
            return NetConfig("image_pool", {"size": self.opts["pool"], "channels": c, "resolution": b[-1]})

        return {"G": self.cfg.G, "F": self._swapped(self.cfg.G, b[0], a[0]), "D": self.cfg.D,
                "D_A": self._swapped(self.cfg.D, a[0], a[0]), "pool_B": pool(b[0]), "pool_A": pool(a[0])}

    def build_nets(self):
        return {k: self.build(v) for k, v in self.net_configs().items()}

    def phases(self):
        return [Phase("D", "D", self.d_step), Phase("G", "G", self.g_step)]

    def generate(self, ctx: StepContext) -> dict:
        a, b = ctx.batch["A"], ctx.batch["B"]
        return {"fake_B": ctx.nets["G"](a), "fake_A": ctx.nets["F"](b)}  # [N, C_B, R, R], [N, C_A, R, R]

    def d_step(self, ctx: StepContext) -> dict:
        f = ctx.fake()
        logs, total = {}, 0.0
        for d_name, pool, real, fake in (("D", "pool_B", ctx.batch["B"], f["fake_B"]),
                                         ("D_A", "pool_A", ctx.batch["A"], f["fake_A"])):
            fake = ctx.nets[pool].query(fake.detach(), ctx.rng)  # the history, not only the newest
            d_real = ctx.nets[d_name](ctx.augment(real))
            d_fake = ctx.nets[d_name](ctx.augment(fake))
            loss, _ = self.loss_fn(d_real, d_fake)
            total = total + loss
            logs[f"{d_name}/accuracy"] = d_accuracy(d_real.detach(), d_fake.detach())
            logs[f"{d_name}/loss"] = loss.detach()
        return {"loss": total, **logs}

    def g_step(self, ctx: StepContext) -> dict:
        a, b = ctx.batch["A"], ctx.batch["B"]
        f = ctx.fresh_fake_with_graph()
        G, F_, o = ctx.nets["G"], ctx.nets["F"], self.opts
        _, adv_b = self.loss_fn(None, ctx.nets["D"](ctx.augment(f["fake_B"])))
        _, adv_a = self.loss_fn(None, ctx.nets["D_A"](ctx.augment(f["fake_A"])))
        cyc = (F_(f["fake_B"]) - a).abs().mean() + (G(f["fake_A"]) - b).abs().mean()  # eq. 2
        loss = o["adv_weight"] * (adv_a + adv_b) + o["cycle"] * cyc
        logs = {"G/adv": (adv_a + adv_b).detach(), "G/cycle": cyc.detach()}
        if o["identity"] > 0:
            idt = (G(b) - b).abs().mean() + (F_(a) - a).abs().mean()
            loss = loss + o["identity"] * o["cycle"] * idt
            logs["G/identity"] = idt.detach()
        return {"loss": loss, **logs}

    # ------------------------------------------------------------- translation
    def sample_input(self, batch):
        return batch["A"]

    def translator(self, nets, direction="AtoB"):
        if direction == "BtoA":
            return nets["F"]
        return super().translator(nets, direction)
