import pytest

from gankit.errors import UserError
from gankit.registry import DATASETS, NETS, RECIPES, Registry


def test_register_get_build_and_errors():
    reg = Registry("thing")

    @reg.register("double")
    def double(x: int = 1):
        return 2 * x

    assert reg.build("double", x=4) == 8
    assert list(reg) == ["double"]
    with pytest.raises(UserError, match=r"unknown thing 'doubel' \(did you mean 'double'\?\)"):
        reg.get("doubel")
    with pytest.raises(UserError, match="has no argument 'y'"):
        reg.build("double", y=1)
    with pytest.raises(ValueError):
        reg.register("double", lambda: 0)


def test_builtins_are_registered():
    assert {"gan", "dcgan", "cgan"} <= set(RECIPES)
    assert {"ring8", "grid25", "digits"} <= set(DATASETS)
    assert {"mlp_g", "mlp_d", "dcgan_g", "dcgan_d"} <= set(NETS)
    for name, cls in RECIPES.items():
        assert cls.description, f"recipe {name} needs a one-line description"
