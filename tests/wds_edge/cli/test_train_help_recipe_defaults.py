"""'wds-edge train --help' gave the project recipe's defaults as the defaults (--amp "default
on", --dice binary "default", ...), though --recipe paper / official start from others: the
help of every option a recipe sets names each recipe's value."""

from __future__ import annotations

import pytest
import typer

from wds_edge.cli import app

#: The recipes' values (train/recipes.py; the desktop package is not imported here) as the
#: help words them.
RECIPE_VALUES = {
    "--dice": {"project": "binary", "paper": "binary", "official": "two-class"},
    "--activation": {"project": "leaky_relu", "paper": "leaky_relu", "official": "relu"},
    "--input-norm": {"project": "unit", "paper": "unit", "official": "centred"},
    "--amp": {"project": "on", "paper": "off", "official": "off"},
}


def _help(option: str) -> str:
    train = typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]
    (param,) = [p for p in train.params if option in p.opts]
    return " ".join(param.help.split())


@pytest.mark.parametrize("option", sorted(RECIPE_VALUES))
def test_recipe_dependent_defaults_name_each_recipe(option: str) -> None:
    text = _help(option)
    assert "Default: the recipe's" in text, text
    assert "default on" not in text and "; default)" not in text
    tail = text.split("Default: the recipe's")[1]
    for recipe in RECIPE_VALUES[option]:
        assert recipe in tail, (recipe, text)
    for value in set(RECIPE_VALUES[option].values()):
        assert value in tail, (value, text)


def test_the_recipes_are_what_the_help_says() -> None:
    recipes = pytest.importorskip("wds_edge_train.recipes").RECIPES
    for option, values in RECIPE_VALUES.items():
        key = option.lstrip("-").replace("-", "_")
        for recipe, value in values.items():
            have = recipes[recipe][key]
            assert {True: "on", False: "off"}.get(have, have) == value, (option, recipe)
