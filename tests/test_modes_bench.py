"""The 2D mode-collapse benchmark (issue #5, measurement 1): presets and the table machinery."""

import pytest

from gankit.presets import build_config

RECOMMENDED = "r3gan"  # what `gankit train --data grid25` / `--data ring8` must pick


@pytest.mark.parametrize("data", ["grid25", "ring8"])
def test_one_flag_run_picks_the_recommended_recipe_and_its_preset(data):
    one_flag = build_config(data=data)
    explicit = build_config(recipe=RECOMMENDED, data=data)
    assert one_flag.recipe == RECOMMENDED
    assert one_flag.to_dict() == explicit.to_dict()
    assert one_flag.data.name == data and one_flag.G.name == "mlp_g" and one_flag.D.name == "mlp_d"
    # the tuned preset, not the generic pacgan.yaml: G_ema on, and its own length
    assert one_flag.loop.ema > 0
    assert one_flag.loop.steps != build_config(recipe=RECOMMENDED, data="spiral").loop.steps


def test_baselines_stay_plain():
    gan = build_config(recipe="gan", data="grid25")
    assert gan.loss.name == "nonsaturating" and not gan.options and gan.loop.ema == 0
    assert gan.G.name == "mlp_g" and gan.D.name == "mlp_d" and gan.D.kwargs.get("pack", 1) == 1
    assert build_config(recipe="wgan-gp", data="grid25").loss.name == "wasserstein"
    assert build_config(recipe="pacgan", data="stacked-digits").D.name == "dcgan_d"


def test_spec_parsing(bench):
    m = bench("modes2d")
    assert m.parse_spec("gan") == ("gan", "gan", [])
    assert m.parse_spec("recommended") == ("recommended", None, [])
    assert m.parse_spec("p2=pacgan+options.pack=2+loop.ema=0") == ("p2", "pacgan", ["options.pack=2", "loop.ema=0"])


def test_short_sweep_gives_the_table(tmp_path, bench):
    m = bench("modes2d")
    rows = m.sweep(["gan", "recommended"], ["grid25"], [0], tmp_path, steps=30, n=500, log=lambda s: None)
    assert set(rows) == {("grid25", "gan"), ("grid25", "recommended")}
    s = rows[("grid25", "recommended")]
    assert s["recipe"] == RECOMMENDED and s["steps"] == 30 and s["runs"] == 1 and s["modes_total"] == 25
    for k in m.KEYS:
        assert k in s and k + "_std" in s
    assert 0 <= s["modes"] <= 25 and 0 <= s["high_quality"] <= 100 and s["cpu_s"] > 0
    text = m.table(rows)
    assert f"| grid25 | recommended | {RECOMMENDED} | 30 | 1 |" in text and "/ 25" in text
    assert (tmp_path / "modes-grid25.png").stat().st_size > 1000
    # finished runs are reused, not retrained
    again = m.run_one("gan", "gan", "grid25", 0, [], tmp_path, steps=30, n=500)
    assert again["wall_s"] == pytest.approx(m.run_one("gan", "gan", "grid25", 0, [], tmp_path, 30, 500)["wall_s"])
