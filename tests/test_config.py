import pytest

from gankit.config import Config, apply_overrides
from gankit.errors import UserError
from gankit.presets import build_config


def test_yaml_round_trip(tmp_path):
    cfg = build_config(recipe="dcgan", overrides=["optim_g.lr=1e-4", "G.kwargs.ngf=32", "loop.steps=7"])
    cfg.save(tmp_path / "c.yaml")
    back = Config.load(tmp_path / "c.yaml")
    assert back == cfg
    assert back.optim_g.lr == pytest.approx(1e-4) and back.G.kwargs["ngf"] == 32 and back.loop.steps == 7


def test_override_types_are_checked():
    cfg = apply_overrides(Config(), ["loop.steps=12", "optim_d.betas=[0.0,0.9]", "loop.progress=false"])
    assert cfg.loop.steps == 12 and cfg.optim_d.betas == [0.0, 0.9] and cfg.loop.progress is False
    with pytest.raises(UserError, match="loop.steps must be an integer"):
        apply_overrides(Config(), ["loop.steps=many"])
    with pytest.raises(UserError, match="must be a number"):
        apply_overrides(Config(), ["optim_g.lr=fast"])


def test_unknown_keys_are_named_with_a_suggestion():
    with pytest.raises(UserError, match=r"unknown key 'loop.stepz'.*'steps'"):
        apply_overrides(Config(), ["loop.stepz=3"])
    with pytest.raises(UserError, match="unknown key 'nope'"):
        apply_overrides(Config(), ["nope=1"])
    with pytest.raises(UserError, match="expected key=value"):
        apply_overrides(Config(), ["loop.steps"])


def test_config_file_layers_and_errors(tmp_path):
    f = tmp_path / "run.yaml"
    f.write_text("recipe: gan\ndata: {name: grid25}\nloop: {steps: 11}\n")
    cfg = build_config(config_file=str(f), overrides=["loop.d_steps=2"])
    assert (cfg.recipe, cfg.data.name, cfg.loop.steps, cfg.loop.d_steps) == ("gan", "grid25", 11, 2)
    assert cfg.G.name == "mlp_g"  # from the recipe preset
    bad = tmp_path / "bad.yaml"
    bad.write_text("loop: {stepz: 3}\n")
    with pytest.raises(UserError, match="unknown key 'loop.stepz'"):
        build_config(config_file=str(bad))
    with pytest.raises(UserError, match="no such config file"):
        build_config(config_file=str(tmp_path / "missing.yaml"))


def test_one_flag_data_picks_recommended_recipe():
    assert build_config(data="grid25").recipe == "r3gan"
    assert build_config(data="digits").recipe == "cgan"
    assert build_config().recipe == "cgan" and build_config().data.name == "digits"
    d = build_config(data="digits")  # cgan.yaml + cgan-digits.yaml: the measured digits run
    assert (d.G.kwargs["ngf"], d.D.kwargs["ndf"], d.loop.ema, d.loop.steps) == (32, 32, 0.999, 6000)
    g = build_config(data="grid25")  # r3gan-grid25.yaml: lazy R1 / R2, a mixture-of-25 G + MGAN's head
    assert g.options["reg_interval"] == 4 and g.loop.steps == 28000
    assert (g.G.kwargs["mixture"], g.G.kwargs["z_dim"]) == (25, 41) and not g.sample.drs
    assert (g.options["mixture_weight"], g.options["mixture_until"], g.options["mixture_after"]) == (0.5, 0.25, 0.05)
    s = build_config(data="stacked-digits")  # r3gan-stacked-digits.yaml: r3gan's loss on DCGAN nets
    assert s.recipe == "r3gan" and (s.G.name, s.D.name) == ("dcgan_g", "dcgan_d")
    assert (s.options["reg_interval"], s.loop.ema, s.loop.steps) == (4, 0.999, 12000)


def test_a_layer_naming_another_net_replaces_its_kwargs(tmp_path):
    """cyclegan.yaml's ResNet translator is swapped for a U-Net by the data layer
    cyclegan-scenes-flat2shaded.yaml: the U-Net gets the layer's kwargs only (no
    ``n_blocks``/``n_down`` from cyclegan.yaml); a config file naming the same net merges into
    them, one naming the ResNet again gets its own kwargs only."""
    base = build_config(recipe="cyclegan", data="digits")  # no data layer: cyclegan.yaml alone
    assert base.G.name == "resnet_translator_g" and "n_blocks" in base.G.kwargs
    layered = build_config(recipe="cyclegan")  # its default data, scenes-flat2shaded
    assert layered.G.name == "unet_g" and layered.G.kwargs == {"ngf": 32, "dropout": 0.0, "norm": "instance"}
    f = tmp_path / "unet.yaml"
    f.write_text("G: {name: unet_g, kwargs: {ngf: 16}}\n")
    cfg = build_config(recipe="cyclegan", config_file=str(f))
    assert cfg.G.name == "unet_g" and cfg.G.kwargs == {"ngf": 16, "dropout": 0.0, "norm": "instance"}
    res = tmp_path / "resnet.yaml"
    res.write_text("G: {name: resnet_translator_g, kwargs: {ngf: 16}}\n")
    assert build_config(recipe="cyclegan", config_file=str(res)).G.kwargs == {"ngf": 16}
