"""The image-to-image recipes (pix2pix, l1-only, cyclegan, stargan, srgan, srresnet, spade) and
their nets: a few loop steps on built-in data with tiny widths, checkpoint round trips, the
G-only path of the ablations, CycleGAN's history pool across --resume, and the user errors."""
from __future__ import annotations

import inspect
import json
import math

import pytest
import torch
import torch.nn.functional as F

import gankit
from gankit.config import apply_overrides
from gankit.data import load_data
from gankit.errors import UserError
from gankit.generate import sample as generate_sample
from gankit.presets import build_config
from gankit.recipes.translation import TranslationRecipe
from gankit.registry import NETS, RECIPES
from gankit.train import resolve_config, train
from gankit.train.log import read_metrics
from gankit.train.setup import data_meta
from gankit.train.trainer import Trainer

TINY = 8
# recipe -> (built-in data, extra overrides): tiny, 16 px, built-in data only
CASES = {
    "pix2pix": ("masked2photo", ["D.kwargs.n_layers=3"]),
    "l1-only": ("gray2color", []),
    "cyclegan": ("scenes-flat2shaded", ["G.kwargs.ngf=8", "options.pool=3"]),
    "stargan": ("digits", ["G.kwargs.n_blocks=2", "loop.d_steps=2"]),
    "srgan": ("lowres2highres", ["G.kwargs.n_blocks=2"]),
    "srresnet": ("lowres2highres", ["G.kwargs.n_blocks=2"]),
    "spade": ("scenes", []),
}
BASE = ["loop.progress=false", "loop.tensorboard=false", "data.batch_size=4", "data.resolution=16",
        "loop.log_every=1", "loop.n_samples=8", "loop.threads=1", "data.kwargs.n=64"]


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_config(recipe: str, data: str | None = None, steps: int = 2, extra=()):
    data = data or CASES[recipe][0]
    over = [o for o in BASE if not (o == "data.kwargs.n=64" and data == "digits")]  # digits has a fixed size
    cfg = build_config(recipe=recipe, data=data, steps=steps, overrides=over + CASES[recipe][1] + list(extra))
    widths = []
    for role in ("G", "D"):
        params = inspect.signature(NETS.get(getattr(cfg, role).name)).parameters
        widths += [f"{role}.kwargs.{k}={TINY}" for k in ("ngf", "ndf", "hidden") if k in params]
    return apply_overrides(cfg, widths)


def run(tmp_path, recipe, name="run", steps=2, extra=(), resume=False):
    keep = {}
    out = tmp_path / name
    train(tiny_config(recipe, steps=steps, extra=extra), out, resume=resume,
          hooks=[lambda st: keep.update(nets=st.nets, recipe=st.recipe)])
    return out, keep


# ------------------------------------------------------------------ every recipe


def test_all_registered():
    for name in CASES:
        cls = RECIPES.get(name)
        assert issubclass(cls, TranslationRecipe) and cls.description


@pytest.mark.parametrize("recipe", list(CASES))
def test_trains_and_round_trips(tmp_path, recipe):
    """A few loop steps, finite losses, a checkpoint that reloads to identical translations."""
    out, keep = run(tmp_path, recipe)
    rows = read_metrics(out)
    assert len(rows) == 2 and all(math.isfinite(r["loss/G"]) for r in rows)
    model = gankit.load(out)
    rec = model.recipe
    live = {k: v.eval().to(memory_format=torch.contiguous_format) for k, v in keep["nets"].items()}
    batch = rec.held_out_batch(3, seed=5)
    x = rec.sample_input(batch)
    domain = 1 if rec.domains() else None
    a = keep["recipe"].translate(live, x, domain=domain)
    b = rec.translate(model.nets, x, domain=domain)
    assert torch.equal(a, b)
    spec = rec.output_spec()
    assert a.shape == (3, spec["channels"], spec["resolution"], spec["resolution"])
    assert torch.equal(rec.sample(model.generator, 4, seed=1), keep["recipe"].sample(live[rec.sample_net], 4, seed=1))
    grid = rec.sample_grid(model.generator, 8, seed=0)  # (input, output) pairs, interleaved
    assert grid.shape == (8, spec["channels"], spec["resolution"], spec["resolution"])
    assert torch.equal(grid[1::2], rec.forward_sample(model.generator, rec.sample_input(rec.held_out_batch(4, 0)),
                                                      None, torch.Generator().manual_seed(1)))
    assert (out / "samples" / "latest.png").is_file()


# ------------------------------------------------------------------ pix2pix / l1-only


def test_pix2pix_d_is_conditioned_on_the_input(tmp_path):
    cfg = tiny_config("pix2pix", extra=["data.resolution=32"])
    data = load_data(cfg.data)
    rec = RECIPES.get("pix2pix")
    cfg = rec.resolve(cfg, data_meta(data))
    assert cfg.D.kwargs["in_channels"] == 4 + 3  # masked input (RGB + mask) + RGB output
    r = rec(cfg, data_meta(data))
    nets = r.build_nets()
    assert nets["D"].n_layers == 3  # 70x70 receptive field; map of 32/8 - 2 = 2 x 2 patches
    assert nets["D"](torch.zeros(2, 7, 32, 32)).shape == (2, 1, 2, 2)
    assert r.opts["l1_weight"] == 100.0 and r.d_scale == 0.5


@pytest.mark.parametrize("res, depth", [(16, 0), (32, 3), (8, 1)])
def test_unet_skips(res, depth):
    G = NETS.build("unet_g", in_channels=1, channels=3, resolution=res, ngf=4, depth=depth).eval()
    assert G(torch.zeros(2, 1, res, res)).shape == (2, 3, res, res)
    assert len(G.down) == (depth or int(math.log2(res)))


@pytest.mark.parametrize("res, levels", [(256, [1, 2, 3]), (64, [1]), (32, [])])
def test_unet_dropout_where_the_authors_put_it(res, levels):
    """pix2pix's code puts dropout on the num_downs - 5 decoder levels above the innermost (which
    has none): the paper's CD512 x 3 at 256 px, one level at 64 px, none at 32 px."""
    G = NETS.build("unet_g", in_channels=1, channels=3, resolution=res, ngf=2)
    has = [j for j, u in enumerate(G.up) if any(isinstance(m, torch.nn.Dropout) for m in u)]
    assert has == levels
    forced = NETS.build("unet_g", in_channels=1, channels=3, resolution=res, ngf=2, dropout_levels=2)
    assert sum(isinstance(m, torch.nn.Dropout) for m in forced.modules()) == 2


def test_pix2pix_on_label_maps_preset_and_label_inputs():
    """SPADE's baseline: `--data scenes-labels2photo` picks pix2pix and its preset (spade.yaml's
    size and length, no flips); the resolved U-Net takes the 4 one-hot channels; the model takes
    class ids like spade (translated as their one-hot) and pictures its inputs as label maps."""
    from gankit.recipes.translation import labels_picture

    assert build_config(data="scenes-labels2photo").recipe == "pix2pix"
    cfg = build_config(recipe="pix2pix", data="scenes-labels2photo")
    assert (cfg.data.resolution, cfg.data.batch_size, cfg.data.flip, cfg.loop.steps) == (32, 16, False, 3000)
    assert (cfg.G.name, cfg.G.kwargs["ngf"], cfg.D.kwargs["ndf"], cfg.D.kwargs["n_layers"]) == ("unet_g", 32, 32, 2)
    cfg = apply_overrides(cfg, ["data.kwargs.n=16", "data.resolution=16", "G.kwargs.ngf=4", "D.kwargs.ndf=4"])
    data = load_data(cfg.data)
    meta = data_meta(data)
    cfg = resolve_config(cfg, meta)
    assert cfg.G.kwargs["in_channels"] == 4 and cfg.G.kwargs["channels"] == 3 and cfg.D.kwargs["in_channels"] == 7
    rec = RECIPES.get("pix2pix")(cfg, meta)
    nets = {k: v.eval() for k, v in rec.build_nets().items()}
    spec = rec.input_spec()
    assert spec == {"kind": "labels", "channels": 1, "resolution": 16, "num_labels": 4,
                    "label_names": ["background", "circle", "square", "triangle"]}
    seg = data.seg[:3, 0].long()
    y = rec.translate(nets, seg)
    assert y.shape == (3, 3, 16, 16) and torch.equal(y, rec.translate(nets, data.to_float(data.a[:3])))
    assert torch.equal(rec.picture(seg), labels_picture(seg))
    assert torch.equal(rec.picture(data.to_float(data.a[:3])), labels_picture(seg))
    with pytest.raises(UserError, match="label ids"):
        rec.translate(nets, torch.full((1, 16, 16), 4))
    plain = RECIPES.get("pix2pix")(*_resolved("masked2photo"))  # a 4-channel input that is not labels
    assert plain.input_spec()["kind"] == "masked"


def _resolved(data):
    cfg = tiny_config("pix2pix", data=data)
    meta = data_meta(load_data(cfg.data))
    return resolve_config(cfg, meta), meta


def test_patchgan_receptive_field_is_capped_for_small_images():
    assert NETS.build("patchgan_d", in_channels=3, resolution=16, ndf=4, n_layers=3).n_layers == 2
    assert NETS.build("patchgan_d", in_channels=3, resolution=256, ndf=4, n_layers=4).n_layers == 4


def test_l1_only_critic_is_optional_and_never_touches_g(tmp_path):
    """critic=false: one G phase, one optimizer, no D in the checkpoint; and G's training is
    bit-identical with or without the critic (G never sees it)."""
    cls = RECIPES.get("l1-only")
    cfg = tiny_config("l1-only", extra=["options.critic=false"])
    data = load_data(cfg.data)
    rec = cls(cls.resolve(cfg, data_meta(data)), data_meta(data))
    assert [p.name for p in rec.phases()] == ["G"] and rec.groups == {"G": ("G",)}
    out_g, keep_g = run(tmp_path, "l1-only", "g_only", steps=3, extra=["options.critic=false"])
    out_c, keep_c = run(tmp_path, "l1-only", "critic", steps=3)
    assert set(gankit.load(out_g).nets) == {"G"}
    assert {"loss/G"} == {k for k in read_metrics(out_g)[0] if k.startswith("loss/")}
    assert "D/accuracy" in read_metrics(out_c)[0]
    for p, q in zip(keep_g["nets"]["G"].parameters(), keep_c["nets"]["G"].parameters()):
        assert torch.equal(p, q)
    # and it resumes
    train(tiny_config("l1-only", steps=4, extra=["options.critic=false"]), out_g, resume=True)
    assert gankit.load(out_g).step == 4


# ------------------------------------------------------------------ cyclegan


def test_image_pool_history():
    pool = NETS.build("image_pool", size=3, channels=1, resolution=2)
    g = torch.Generator().manual_seed(0)
    x = torch.arange(3.0).view(3, 1, 1, 1).expand(3, 1, 2, 2)
    assert torch.equal(pool.query(x, g), x) and int(pool.count) == 3  # filling: returned as is
    y = torch.full((64, 1, 2, 2), 9.0)
    out = pool.query(y, g)
    swapped = (out[:, 0, 0, 0] != 9).sum()
    assert 0 < swapped < 64  # about half come from the history
    assert int(pool.count) == 3 and (pool.images == 9).all()  # every slot replaced by now


def test_cyclegan_resume_is_exact_including_the_pools(tmp_path):
    _, keep_a = run(tmp_path, "cyclegan", "straight", steps=4)
    run(tmp_path, "cyclegan", "resumed", steps=2)
    _, keep_b = run(tmp_path, "cyclegan", "resumed", steps=4, resume=True)
    assert set(keep_a["nets"]) == {"G", "F", "D", "D_A", "pool_A", "pool_B"}
    assert int(keep_a["nets"]["pool_B"].count) == 3
    for name in keep_a["nets"]:
        sa, sb = keep_a["nets"][name].state_dict(), keep_b["nets"][name].state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa), name


def test_cyclegan_user_errors():
    with pytest.raises(UserError, match="options.identity"):  # 1-channel edges vs RGB photos
        cfg = tiny_config("cyclegan", data="edges2photo")
        resolve_config(cfg, data_meta(load_data(cfg.data)))
    with pytest.raises(UserError, match="unpaired or paired"):
        cfg = tiny_config("cyclegan", data="digits")
        resolve_config(cfg, data_meta(load_data(cfg.data)))


# ------------------------------------------------------------------ stargan / srgan / spade


def test_stargan_domains(tmp_path):
    out, _ = run(tmp_path, "stargan", steps=1)
    model = gankit.load(out)
    assert model.recipe.domains() == [str(i) for i in range(10)]
    x = model.recipe.sample_input(model.recipe.held_out_batch(2, 0))
    y3, y7 = (model.recipe.translate(model.nets, x, domain=k) for k in (3, 7))
    assert not torch.equal(y3, y7)  # the domain code matters
    assert generate_sample(model, 2, class_=3).shape == (2, 1, 16, 16)  # gankit sample --class
    with pytest.raises(UserError, match="--domain"):
        model.recipe.translate(model.nets, x, domain=10)


def test_icnr_sub_pixel_filters_are_equal_at_step_0():
    """ICNR: every PixelShuffle conv's r^2 sub-pixel filters per channel are equal, so the
    untrained upsampler's output is constant on each 2x2 cell (no initial checkerboard)."""
    torch.manual_seed(0)
    G = NETS.build("srresnet_g", in_channels=3, channels=3, resolution=32, scale=4, ngf=8, n_blocks=1)
    convs = [m for m in G.up if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 2
    for c in convs:
        w = c.weight.view(c.out_channels // 4, 4, *c.weight.shape[1:])
        assert torch.equal(w, w[:, :1].expand_as(w)) and w.abs().sum() > 0
    shuffled = G.up[:2](torch.randn(1, 8, 5, 5))  # conv + PixelShuffle: [1, 8, 10, 10]
    cells = shuffled.view(1, 8, 5, 2, 5, 2)
    assert torch.allclose(cells, cells[:, :, :, :1, :, :1].expand_as(cells))


def test_srgan_starts_from_the_trained_srresnet(tmp_path):
    """loop.init_from (the CLI's --init-from): SRGAN's G starts from SRResNet's trained G (the
    paper's protocol), G_ema too; a net built differently is a one-line UserError naming the kwarg."""
    pre, _ = run(tmp_path, "srresnet", name="pre", steps=3)
    trained = gankit.load(pre, nets=("G",)).nets["G"].state_dict()
    cfg = tiny_config("srgan", steps=1, extra=[f"loop.init_from={pre}", "loop.ema=0.9"])
    nets = Trainer(cfg, tmp_path / "gan").setup().nets  # before any step
    for net in ("G", "G_ema"):
        assert all(torch.equal(nets[net].state_dict()[k], v) for k, v in trained.items())
    bad = tiny_config("srgan", steps=1, extra=[f"loop.init_from={pre}", "G.kwargs.n_blocks=3"])
    with pytest.raises(UserError, match="n_blocks"):
        train(bad, tmp_path / "bad")


def test_srgan_content_has_a_full_resolution_level():
    """The content features' first level is at the image's own resolution (then the three
    strided stages), and a period-2 pattern (PixelShuffle's checkerboard) moves it."""
    from gankit.nets.srresnet import RandomFeatures

    x = 0.1 * torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    checker = x + 0.2 * ((torch.arange(32)[:, None] + torch.arange(32)[None]) % 2 * 2 - 1).float()
    levels = RandomFeatures(3, full_res=True)(x)
    assert [f.shape[-1] for f in levels] == [32, 16, 8, 4]
    assert [f.shape[-1] for f in RandomFeatures(3)(x)] == [16, 8, 4]
    assert F.mse_loss(RandomFeatures(3, full_res=True)(checker)[0], levels[0]) > 0.01


def test_bicubic_skip_starts_at_bicubic():
    """srresnet_g(bicubic_skip=True) adds its output to the bicubic upsampling of the input; its
    last conv starts small, so the untrained net is within a few levels of bicubic."""
    torch.manual_seed(0)
    G = NETS.build("srresnet_g", resolution=32, scale=4, ngf=8, n_blocks=1, bicubic_skip=True).eval()
    x = torch.rand(2, 3, 8, 8) * 1.6 - 0.8
    bic = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False).clamp(-1, 1)
    y = G(x)
    assert y.shape == (2, 3, 32, 32) and (y - bic).abs().mean() < 0.05
    assert build_config(recipe="srresnet", data="lowres2highres").G.kwargs["bicubic_skip"] is True
    with pytest.raises(ValueError, match="bicubic_skip"):
        NETS.build("srresnet_g", in_channels=1, channels=3, bicubic_skip=True)


def test_srresnet_without_batch_norm_and_with_l1(tmp_path):
    """norm="none" (EDSR) builds the same net without a single BatchNorm, whose output does
    not depend on the rest of the batch; options.pixel=l1 trains on L1 and still logs the MSE;
    a bad norm or pixel loss is refused by name."""
    torch.manual_seed(0)
    G = NETS.build("srresnet_g", resolution=32, scale=4, ngf=8, n_blocks=2, norm="none", res_scale=0.1)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in NETS.build("srresnet_g", ngf=8, n_blocks=1).modules())
    x = torch.rand(4, 3, 8, 8)
    assert torch.allclose(G.train()(x)[:1], G(x[:1]), atol=1e-6)
    with pytest.raises(ValueError, match="norm"):
        NETS.build("srresnet_g", ngf=8, n_blocks=1, norm="group")
    out, _ = run(tmp_path, "srresnet", extra=["options.pixel=l1", "G.kwargs.norm=none"])
    logged = [r for line in (out / "metrics.jsonl").read_text().splitlines() if "loss/G" in (r := json.loads(line))]
    assert logged and all(r["loss/G"] == pytest.approx(r["G/l1"]) != pytest.approx(r["G/mse"]) for r in logged)
    with pytest.raises(UserError, match="options.pixel"):
        train(tiny_config("srresnet", extra=["options.pixel=huber"]), tmp_path / "bad")


def test_srgan_content_options():
    cfg = tiny_config("srgan", extra=["options.content=vgg"])
    meta = data_meta(load_data(cfg.data))
    try:
        import torchvision  # noqa: F401
    except ImportError:
        with pytest.raises(UserError, match="torchvision"):
            RECIPES.get("srgan").resolve(cfg, meta)
    with pytest.raises(UserError, match="options.content"):
        RECIPES.get("srgan").resolve(tiny_config("srgan", extra=["options.content=lpips"]), meta)
    cfg = RECIPES.get("srgan").resolve(tiny_config("srgan"), meta)
    assert cfg.G.kwargs["scale"] == 4 and meta["a_shape"][-1] == 4
    G = NETS.build(cfg.G.name, **cfg.G.kwargs).eval()
    assert G(torch.zeros(1, 3, 4, 4)).shape == (1, 3, 16, 16)
    with pytest.raises(UserError, match="integer factor"):
        RECIPES.get("srgan").resolve(tiny_config("srgan", data="edges2photo"), data_meta(
            load_data(tiny_config("srgan", data="edges2photo").data)))


def test_spade_needs_label_maps_and_uses_noise():
    with pytest.raises(UserError, match="label maps"):
        cfg = tiny_config("spade", data="digits")
        resolve_config(cfg, data_meta(load_data(cfg.data)))
    G = NETS.build("spade_g", num_labels=4, resolution=16, ngf=4, hidden=8, z_dim=8).eval()
    m = torch.nn.functional.one_hot(torch.randint(4, (2, 16, 16)), 4).permute(0, 3, 1, 2).float()
    a, b = G(m, torch.randn(2, 8)), G(m, torch.randn(2, 8))
    assert a.shape == (2, 3, 16, 16) and not torch.equal(a, b)
    G0 = NETS.build("spade_g", num_labels=4, resolution=16, ngf=4, hidden=8, z_dim=0).eval()
    assert G0(m).shape == (2, 3, 16, 16)


@pytest.mark.parametrize("recipe, data", [("pix2pix", "digits"), ("srgan", "photos"), ("stargan", "edges2photo")])
def test_wrong_data_kind(recipe, data):
    cfg = tiny_config(recipe, data=data)
    with pytest.raises(UserError, match="needs"):
        resolve_config(cfg, data_meta(load_data(cfg.data)))
