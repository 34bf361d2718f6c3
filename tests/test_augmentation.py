"""Augmentations (--augment), spectral normalization of D and the R1 penalty."""

import json

import pytest
import torch

import ganforge
from ganforge import testing
from ganforge.errors import GanforgeError
from ganforge.hooks.manager import get

from support.sizes import TINY_DCGAN


@pytest.mark.parametrize("name,options", [("diffaug", ""), ("diffaug", "translation"), ("diffaug", "cutout"),
                                          ("diffaug", "color"), ("ada", "")])
def test_builtin_augmentations_conform(name, options):
    testing.check_augmentation(get("augmentations", name), options)


def test_the_kit_catches_an_augmentation_that_breaks_the_contract():
    class Brighten:
        def __init__(self, options="", strength=1.0):
            self.strength = strength

        def __call__(self, images, draw):
            return images + 0.5 * self.strength  # leaves [-1, 1]

    with pytest.raises(AssertionError, match=r"stay in \[-1, 1\]"):
        testing.check_augmentation(Brighten)


def test_translation_moves_the_picture_and_cutout_blanks_half_of_it():
    from ganforge.builtins.augmentations.diffaug import cutout, translation

    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 8, 8] = 1.0
    moved = translation(x, lambda n, fn: torch.tensor([[2, -1]]))
    assert moved[0, 0, 10, 7] == 1.0 and moved.sum() == 1.0
    blank = cutout(torch.ones(1, 1, 16, 16), lambda n, fn: torch.tensor([[0.5, 0.5]]))
    assert blank.sum() == 16 * 16 - 8 * 8


def test_ada_raises_p_when_d_is_sure_of_reals_and_lowers_it_otherwise():
    from ganforge.contracts.context import Statistics

    ada, stats = get("augmentations", "ada")(options="speed=640"), Statistics()
    for _ in range(10):
        ada.observe(torch.ones(64), stats)  # r_t = 1 > 0.6: D overfits
    assert ada.p.item() == pytest.approx(1.0)
    for _ in range(5):
        ada.observe(-torch.ones(64), stats)
    assert ada.p.item() == pytest.approx(0.5)
    assert stats.take() == {"aug_p": pytest.approx(torch.tensor(0.5))}  # reported through the channel


def test_ada_takes_its_statistic_over_the_global_batch_through_the_channel():
    from ganforge.contracts.context import Statistics

    seen = []

    def everywhere(tensor):  # what a second process with the opposite scores would add
        seen.append(tensor)
        return tensor + torch.tensor([-64.0, 64.0])

    ada = get("augmentations", "ada")(options="speed=640")
    ada.observe(torch.ones(64), Statistics(everywhere))
    assert seen and ada.p.item() == 0.0  # r_t = 0 over both: below the target, p stays at 0


@pytest.mark.e2e  # trains, exports or evaluates for real
def test_an_adaptive_augmentation_written_before_the_channel_still_logs(add_plugin, tmp_path):
    import ganforge
    from ganforge.plugin import hookimpl

    class OldStyle:
        """observe(real_scores) and metrics(), as the guide described them before core v3."""

        def __init__(self, options="", strength=1.0):
            self.n = 0

        def __call__(self, images, draw):
            return images

        def observe(self, real_scores):
            self.n += 1

        def metrics(self):
            return {"old_n": torch.tensor(float(self.n))}

    class Plugin:
        @hookimpl
        def register_augmentations(self, register):
            register("old-style", OldStyle)

    add_plugin(Plugin(), name="old-style-plugin")
    with pytest.warns(DeprecationWarning, match=r"OldStyle.observe\(real_scores\) .* removed in ganforge 0\.3"):
        run = ganforge.train("dcgan", steps=2, batch_size=4, log_every=2, out=tmp_path / "run", quiet=True,
                             augment="old-style", params={"g_width": 4, "d_width": 4, "latent_dim": 8})
    assert run.last_metrics["old_n"] == 1.5  # the mean of 1 and 2 over the logging interval


def test_unknown_options_are_one_line_before_anything_loads(tmp_path):
    from support.cli import cli

    result = cli("train", "dcgan", "--augment", "diffaug:rotation", "--out", str(tmp_path / "x"))
    assert result.returncode == 1 and "unknown augmentation rotation" in result.stderr
    assert not (tmp_path / "x").exists()
    assert "did you mean" in cli("train", "dcgan", "--augment", "diffaugg").stderr


@pytest.mark.e2e
@pytest.mark.parametrize("recipe,params", [("dcgan", TINY_DCGAN), ("cgan", TINY_DCGAN), ("acgan", TINY_DCGAN),
                                           ("sgan", TINY_DCGAN), ("cyclegan", {"g_width": 4, "d_width": 4}),
                                           ("stackgan", {"g_width": 8, "d_width": 8, "latent_dim": 8})])
def test_every_adversarial_recipe_trains_with_ada_r1_and_resumes_exactly(recipe, params, tmp_path):
    settings = dict(batch_size=8, quiet=True, augment="ada:speed=200", r1=1.0, r1_every=2, log_every=2)
    ganforge.train(recipe, steps=4, out=tmp_path / "whole", params=params, **settings)
    ganforge.train(recipe, steps=2, out=tmp_path / "parts", params=params, **settings)
    ganforge.train(recipe, steps=4, resume=tmp_path / "parts", quiet=True)
    logged = [json.loads(line) for line in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    assert all("aug_p" in line for line in logged if "d_loss" in line or "g_loss" in line or "g_adv" in line)
    for name in ("G.ckpt", "D.ckpt" if recipe not in ("cyclegan", "stackgan") else "state.ckpt"):
        whole, parts = (ganforge.artifacts.checkpoint.load(tmp_path / run / name)[0] for run in ("whole", "parts"))
        assert all(torch.equal(whole[k], parts[k]) for k in whole if not k.startswith("rng")), \
            f"{name}: a resumed run (ADA's p included) ends where an uninterrupted one does"


@pytest.mark.e2e
def test_spectral_norm_option_and_the_r1_penalty_change_training(tmp_path):
    runs = {}
    for name, extra in (("plain", {}), ("spectral", {"params": {**TINY_DCGAN, "d_norm": "spectral"}}),
                        ("r1", {"r1": 10.0, "r1_every": 1})):
        ganforge.train("dcgan", steps=3, batch_size=8, out=tmp_path / name, quiet=True,
                       **{"params": TINY_DCGAN, **extra})
        runs[name] = ganforge.load_network(tmp_path / name / "D.ckpt")
    assert any("parametrizations" in k for k in runs["spectral"].state_dict())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in runs["spectral"].modules())
    plain, r1 = runs["plain"].state_dict(), runs["r1"].state_dict()
    assert any(not torch.equal(plain[k], r1[k]) for k in plain), "the R1 penalty must change D's update"


@pytest.mark.e2e
def test_diffaug_from_the_command_line_and_show_lists_the_options(tmp_path):
    from support.cli import cli

    result = cli("train", "dcgan", "--augment", "diffaug:translation,cutout", "--r1", "0.1", "--steps", "2", "-b", "8",
                 "-p", "g_width=8", "-p", "d_width=8", "-p", "d_norm=spectral", "--out", str(tmp_path / "run"), "-q")
    assert result.returncode == 0, result.stderr
    engine = json.loads((tmp_path / "run" / "config.json").read_text())["engine"]
    assert engine["augment"] == "diffaug:translation,cutout" and engine["r1"] == 0.1
    shown = cli("show", "dcgan").stdout
    assert all(word in shown for word in ("--augment", "--r1", "d_norm", "spectral"))


@pytest.mark.e2e
@pytest.mark.parametrize("recipe,params,discriminators", [
    ("cyclegan", {"g_width": 4, "d_width": 4}, ("D_A", "D_B")),
    ("discogan", {"g_width": 4, "d_width": 4}, ("D_A", "D_B")),
    ("stackgan", {"g_width": 8, "d_width": 8, "latent_dim": 8}, ("D1", "D2"))])
def test_spectral_norm_is_an_option_of_every_convolutional_recipe(recipe, params, discriminators, tmp_path):
    run = tmp_path / "run"
    ganforge.train(recipe, steps=2, batch_size=8, out=run, quiet=True, params={**params, "d_norm": "spectral"})
    ganforge.train(recipe, steps=3, resume=run, quiet=True)
    state = ganforge.artifacts.checkpoint.load(run / "state.ckpt")[0]
    for name in discriminators:
        keys = [k for k in state if f"{name}." in k or f"/{name}/" in k]
        assert keys and any("parametrizations" in k for k in keys), f"{name} is spectrally normalized"
        assert not any("running_mean" in k for k in keys), f"{name} has no batch norm left"
