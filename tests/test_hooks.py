"""One test per hook (a plugin implementing only that hook, used where ganforge uses it), and
the guide (docs/plugins.md) checked against the hook specifications."""

import pytest
import inspect
import re
from pathlib import Path

import torch

import ganforge
from ganforge.plugin import hookimpl
from ganforge.hooks import specs as hookspecs
from ganforge.hooks.manager import KINDS

from support.sizes import TINY_DCGAN

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "plugins.md").read_text()


def test_hook_register_networks(add_plugin, tmp_path):
    class Plugin:
        @hookimpl
        def register_networks(self, register):
            register("wide-mlp-generator", "ganforge.builtins.networks.mlp:MLPGenerator", "an MLP by another name")

    add_plugin(Plugin())
    G = ganforge.components("networks")["networks"]
    assert {"name": "wide-mlp-generator", "plugin": "test-plugin", "description": "an MLP by another name"} in G
    from ganforge.hooks.manager import get

    assert get("networks", "wide-mlp-generator")(latent_dim=4, hidden=8)(torch.zeros(2, 4)).shape == (2, 1, 28, 28)


@pytest.mark.e2e
def test_hook_register_losses(add_plugin, tmp_path):
    from ganforge.builtins.losses.bce import NonSaturatingLoss

    class Doubled(NonSaturatingLoss):
        def g_loss(self, fake):
            return 2 * super().g_loss(fake)

    class Plugin:
        @hookimpl
        def register_losses(self, register):
            register("doubled", Doubled)

    add_plugin(Plugin())
    run = ganforge.train("dcgan", steps=1, batch_size=4, out=tmp_path, params={**TINY_DCGAN, "loss": "doubled"},
                         quiet=True)
    assert run.step == 1


@pytest.mark.e2e
def test_hook_register_upsamplers(add_plugin, tmp_path):
    calls = []

    class Plugin:
        @hookimpl
        def register_upsamplers(self, register):
            def nearest(i, o, k):
                calls.append((i, o))
                return torch.nn.Sequential(torch.nn.Upsample(scale_factor=2), torch.nn.Conv2d(i, o, 3, padding=1))
            register("nearest-up", nearest, "nearest neighbour then conv")

    add_plugin(Plugin())
    ganforge.train("dcgan", steps=1, batch_size=4, out=tmp_path, params={**TINY_DCGAN, "upsampler": "nearest-up"},
                   quiet=True)
    assert calls  # the generator was built from the plugin's layers


@pytest.mark.e2e
def test_hook_register_augmentations(add_plugin, tmp_path):
    seen = []

    class Flip:
        """Horizontal flips of half the images before D."""

        def __init__(self, options="", strength=1.0):
            self.strength = strength

        def __call__(self, images, draw):
            seen.append(images.shape[0])
            chosen = draw(images.shape[0], lambda m: torch.rand(m)) < 0.5 * self.strength
            return torch.where(chosen.view(-1, 1, 1, 1), images.flip(-1), images)

    class Plugin:
        @hookimpl
        def register_augmentations(self, register):
            register("flip", Flip)

    add_plugin(Plugin())
    from ganforge import testing

    testing.check_augmentation(Flip)
    seen.clear()
    ganforge.train("dcgan", steps=1, batch_size=4, out=tmp_path, params=TINY_DCGAN, quiet=True, augment="flip", r1=0)
    assert len(seen) == 3  # D's step: real and fake; G's step: fake (no lazy R1 update: r1=0)


@pytest.mark.e2e
def test_hook_register_datasets(add_plugin, tmp_path):
    class Plugin:
        @hookimpl
        def register_datasets(self, register):
            def squares(root=None, image_size=None, channels=None, split="train"):
                from ganforge.data.datasets import InMemoryDataset

                images = -torch.ones(16, 1, 28, 28)
                images[:, :, 8:20, 8:20] = 1
                return InMemoryDataset(images, torch.zeros(16, dtype=torch.long), 1)
            register("squares", squares)

    add_plugin(Plugin())
    run = ganforge.train("dcgan", dataset="squares", steps=1, batch_size=4, out=tmp_path, params=TINY_DCGAN, quiet=True)
    assert run.step == 1


@pytest.mark.e2e
def test_hook_register_gans(add_plugin, tmp_path):
    from ganforge.builtins.gans.dcgan import DCGAN

    class Quick(DCGAN):
        """DCGAN with other defaults."""
        train_defaults = {**DCGAN.train_defaults, "steps": 2, "batch_size": 4}

    class Plugin:
        @hookimpl
        def register_gans(self, register):
            register("quick", Quick)

    add_plugin(Plugin())
    assert ganforge.train("quick", out=tmp_path, params=TINY_DCGAN, quiet=True).step == 2
    assert ganforge.load_generator(tmp_path).meta["recipe"] == "quick"


@pytest.mark.e2e
def test_hook_register_exporters(add_plugin, tmp_path):
    from support.plugins import RawExporter

    class Plugin:
        @hookimpl
        def register_exporters(self, register):
            register("raw", RawExporter)

    add_plugin(Plugin())
    ganforge.train("dcgan", steps=1, batch_size=4, out=tmp_path, params=TINY_DCGAN, quiet=True)
    result = ganforge.export(tmp_path, "raw")
    assert result.verified and ganforge.load_generator(result.path).backend == "raw"


@pytest.mark.e2e
def test_hook_register_extractors(add_plugin, tmp_path):
    from support.plugins import RowMeans

    class Plugin:
        @hookimpl
        def register_extractors(self, register):
            register("row-means", RowMeans)

    add_plugin(Plugin())
    ganforge.train("dcgan", steps=1, batch_size=4, out=tmp_path, params=TINY_DCGAN, quiet=True)
    result = ganforge.evaluate(tmp_path, extractor="row-means", n=20, real_split="test", save=False)
    assert result["config"]["extractor"] == "row-means" and result["metrics"]["fid"] > 0


@pytest.mark.e2e
def test_hook_register_loggers(add_plugin, tmp_path):
    from ganforge.contracts.logger import Logger

    seen = []

    class Remember(Logger):
        def metrics(self, step, values, kind="train"):
            seen.append((kind, step, sorted(values)))

        def image(self, step, name, path):
            seen.append(("image", step, path.name))

    class Plugin:
        @hookimpl
        def register_loggers(self, register):
            register("remember", Remember, "keeps what it is told")

    add_plugin(Plugin())
    ganforge.train("dcgan", steps=2, batch_size=4, out=tmp_path, params=TINY_DCGAN, quiet=True, log_every=2,
                   sample_every=2, loggers=["remember"])
    assert ("image", 0, "step_0000000.png") in seen and ("image", 2, "step_0000002.png") in seen
    train = [entry for entry in seen if entry[0] == "train"]
    assert train[0][1] == 2 and {"d_loss", "g_loss", "lr_G", "lr_D", "images_per_sec"} <= set(train[0][2])
    assert (tmp_path / "metrics.jsonl").exists()  # jsonl is always written besides


def test_every_hook_has_a_test_of_its_own():
    source = Path(__file__).read_text()
    for hook in KINDS.values():
        assert re.search(rf"^def test_hook_{hook}\(", source, re.M), f"no test_hook_{hook} in {__file__}"


def test_guide_documents_every_hook_with_its_real_signature():
    documented = dict(re.findall(r"^### `(register_\w+)(\([^)]*\))`", GUIDE, re.M))
    assert set(documented) == set(KINDS.values()), "docs/plugins.md and the hook specs list different hooks"
    for hook, signature in documented.items():
        assert signature == str(inspect.signature(getattr(hookspecs, hook))), f"{hook}: guide says {signature}"
    assert "register(name, target, description=None)" in GUIDE
    for variable in ("GANFORGE_LOAD_PLUGINS", "GANFORGE_DISABLE_PLUGINS", "GANFORGE_STRICT_PLUGINS",
                     "[project.entry-points.ganforge]", "ganforge-NAME", "ganforge_NAME"):
        assert variable in GUIDE


def _guide_section(hook: str) -> str:
    start = GUIDE.index(f"### `{hook}(")
    end = GUIDE.find("\n## ", start)
    following = GUIDE.find("\n### ", start + 1)
    return GUIDE[start:min(e for e in (end, following, len(GUIDE)) if e != -1)]


def test_guide_states_every_signature_of_each_hooks_contract():
    """The contract lives in the hook's docstring; the guide's section for the hook repeats
    every signature it gives (methods, constructors, helpers), word for word."""
    for hook in KINDS.values():
        doc = inspect.getdoc(getattr(hookspecs, hook))
        signatures = [" ".join(s.split()) for s in re.findall(r"``([^`]+)``", doc)
                      if "(" in s and not s.startswith("register(")]
        assert signatures, f"{hook}'s docstring gives no signature"
        section = " ".join(_guide_section(hook).split())  # line breaks do not matter
        missing = [s for s in signatures if f"`{s}`" not in section]
        assert not missing, f"docs/plugins.md's {hook} section lacks {missing}"


def test_every_registered_dataset_takes_the_contracts_keywords():
    from ganforge.hooks.manager import get, registry

    for name in registry().names("datasets"):
        signature = inspect.signature(get("datasets", name))
        signature.bind(root=None, image_size=None, split="train")  # raises TypeError otherwise
        required = [p for p in signature.parameters.values() if p.default is p.empty
                    and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name not in ("root", "image_size", "split")]
        assert not required, f"dataset '{name}' needs {required}, which ganforge never passes"
