"""The recipes' paper presets in examples/ stay loadable, and differ from the defaults
where the defaults were changed by measurement."""

from pathlib import Path

import pytest

from ganforge.training.config import resolve
from ganforge.hooks.manager import get

PRESETS = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*-paper.toml"))


def test_every_recipe_whose_learning_rate_was_tuned_has_a_paper_preset():
    named = {p.name.removesuffix("-paper.toml") for p in PRESETS}
    assert {"gan", "dcgan", "cgan", "acgan", "lsgan", "sgan", "stackgan"} <= named


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_a_paper_preset_resolves_to_the_papers_optimizer(preset):
    recipe = get("gans", preset.name.removesuffix("-paper.toml"))
    config = resolve(recipe, {}, {}, preset)
    assert config["params"]["lr"] == 2e-4 and config["params"]["beta1"] == 0.5
    if preset.name != "pix2pix-paper.toml":  # pix2pix keeps the paper's optimizer; its preset sets the widths
        assert resolve(recipe, {}, {})["params"]["lr"] != 2e-4  # the default is the measured one
    else:
        assert config["params"]["g_width"] == 64 and config["engine"]["batch_size"] == 1
        assert config["engine"]["cfg"] == "recipe" and config["params"]["adversarial_from"] == 0  # the paper's


@pytest.mark.parametrize("preset, recipe", [("r3gan-cifar10.toml", "r3gan-conditional"), ("r3gan-ffhq64.toml", "r3gan")])
def test_the_r3gan_presets_resolve_to_the_papers_configuration(preset, recipe):
    config = resolve(get("gans", recipe), {}, {}, Path(__file__).resolve().parents[1] / "examples" / preset)
    params, engine = config["params"], config["engine"]
    assert params["lr"] == 2e-4 and params["lr_end"] == 5e-5 and params["beta1"] == 0.0 and params["beta2"] == 0.99
    assert params["blocks"] == 2 and params["group_size"] == 16 and params["max_width"] == 768
    assert engine["mirror"] is True and engine["batch_size"] * params["decay_steps"] >= 20_000_000 - 512
