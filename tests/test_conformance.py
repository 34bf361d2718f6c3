"""The conformance kit, run over every built-in component, and shown to catch broken ones."""

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganforge import testing
from ganforge.contracts.loss import Loss
from ganforge.hooks.manager import get, registry

from support.sizes import TINY_DCGAN, TINY_R3GAN

GENERATORS = {
    "mlp-generator": dict(latent_dim=8, hidden=16),
    "dcgan-generator": dict(latent_dim=8, width=4),
    "dcgan-generator+classes": dict(latent_dim=8, width=4, num_classes=10),
    "resnet-generator": dict(channels=1, image_size=28, width=4, blocks=1),
    "encoder-decoder-generator": dict(channels=1, image_size=32, width=4),
    "unet-generator": dict(channels=3, image_size=32, width=4, norm="instance"),
    "stackgan-generator": dict(text_dim=12, latent_dim=8, condition_dim=4, width=8),
    "r3gan-generator": dict(latent_dim=8, width=4, max_width=8, group_size=4),
    "r3gan-generator+classes": dict(latent_dim=8, width=4, max_width=8, group_size=4, num_classes=10),
}
ONLINE_DATASETS = {"mnist", "fashion-mnist", "cifar10"}  # need a download; their offline error is tested elsewhere


@pytest.mark.e2e  # each exports to ONNX and runs it in ONNX Runtime
@pytest.mark.parametrize("name", list(GENERATORS))
def test_builtin_generators_conform(name, tmp_path):
    torch.manual_seed(0)
    testing.check_generator(get("networks", name.split("+")[0])(**GENERATORS[name]), workdir=tmp_path)


def test_every_builtin_generator_network_is_checked():
    builtin = {n for n in registry().names("networks") if registry().component("networks", n).plugin.startswith("ganforge.")}
    generators = {n for n in builtin if n.endswith("-generator")}
    assert generators == {n.split("+")[0] for n in GENERATORS}


@pytest.mark.parametrize("name", [n for n in registry().names("losses")
                                  if registry().component("losses", n).plugin.startswith("ganforge.")])
def test_builtin_losses_conform(name):
    testing.check_loss(get("losses", name)())


@pytest.mark.parametrize("name", [n for n in registry().names("upsamplers")
                                  if registry().component("upsamplers", n).plugin.startswith("ganforge.")])
def test_builtin_upsamplers_conform(name):
    testing.check_upsampler(get("upsamplers", name))


def _folder_data(root):
    for sub in ("trainA", "trainB", "testA", "testB", "cats", "pairs/train", "pairs/test"):
        (root / sub).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (20, 16), (i * 90, 50, 0)).save(root / sub / f"{i}.png")
            (root / sub / f"{i}.txt").write_text("a small red square\n")
    return root


@pytest.mark.parametrize("name", sorted({n for n in registry().names("datasets")
                                         if registry().component("datasets", n).plugin.startswith("ganforge.")}
                                        - ONLINE_DATASETS))
def test_builtin_offline_datasets_conform(name, tmp_path):
    root = _folder_data(tmp_path / "data")
    kwargs = {"root": root / "cats"} if name in ("image-folder", "caption-folder") else {}
    if name == "unpaired-folder":
        kwargs = {"root": root}
    if name == "paired-folder":
        kwargs = {"root": root / "pairs"}
    testing.check_dataset(get("datasets", name)(image_size=16, **kwargs))


class NoisyGenerator(torch.nn.Module):
    """Breaks the eval-mode contract: dropout stays on."""

    signature = [{"name": "z", "shape": [4], "dtype": "float32", "distribution": "normal"}]
    output_range = (-1.0, 1.0)

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 16)

    def forward(self, z):
        return torch.tanh(torch.nn.functional.dropout(self.fc(z), 0.5, training=True)).view(-1, 1, 4, 4)


class UnboundedGenerator(NoisyGenerator):
    def forward(self, z):
        return (self.fc(z) * 10).view(-1, 1, 4, 4)


class BackwardsLoss:
    def d_loss(self, real, fake):
        return real.mean() - fake.mean()  # rewards calling real images fake

    def g_loss(self, fake):
        return fake.mean()


class CachingLoss(Loss):
    """A relativistic loss written against hidden state: G's loss reads the real scores D's
    loss saw last, instead of taking them as an argument."""

    def d_loss(self, real, fake):
        self.last_real = real.detach()
        return F.softplus(fake.mean() - real).mean() + F.softplus(fake - real.mean()).mean()

    def g_loss(self, fake, real=None):
        return F.softplus(self.last_real.mean() - fake).mean()


class RememberingLoss(CachingLoss):
    """The same, with a starting value so that calling G's loss first does not fail."""

    last_real = torch.zeros(1)


def test_the_kit_catches_a_loss_that_keeps_state():
    with pytest.raises(AssertionError, match="g_loss failed when called before d_loss"):
        testing.check_loss(CachingLoss())
    with pytest.raises(AssertionError, match="keep no state between calls"):
        testing.check_loss(RememberingLoss())


def test_the_kit_catches_broken_components():
    with pytest.raises(AssertionError, match="deterministic"):
        testing.check_generator(NoisyGenerator(), onnx=False)
    with pytest.raises(AssertionError, match="output_range"):
        testing.check_generator(UnboundedGenerator(), onnx=False)
    with pytest.raises(AssertionError, match="d_loss must be lower"):
        testing.check_loss(BackwardsLoss())
    with pytest.raises(AssertionError, match="an upsampler maps"):
        testing.check_upsampler(lambda i, o, k: torch.nn.Conv2d(i, o, 3, padding=1))
    with pytest.raises(AssertionError, match=r"\[-1, 1\]"):
        testing.check_dataset([(torch.full((1, 4, 4), 255.0), 0)])


def test_fixtures_are_offered_to_plugin_tests(check_generator, check_loss, check_upsampler, check_dataset):
    """The pytest plugin ganforge installs (entry point pytest11) provides the checks as fixtures."""
    check_loss(get("losses", "hinge")())
    check_upsampler(get("upsamplers", "pixel-shuffle"))
    assert check_generator(get("networks", "mlp-generator")(latent_dim=4, hidden=8), onnx=False).shape == (3, 1, 28, 28)


RECIPE_SIZES = {"gan": {"hidden": 16, "latent_dim": 8}, "cyclegan": {"g_width": 4, "d_width": 4},
                "pix2pix": {"g_width": 4, "d_width": 4},
                "discogan": {"g_width": 4, "d_width": 4}, "stackgan": {"g_width": 8, "d_width": 8, "latent_dim": 8},
                "r3gan": TINY_R3GAN, "r3gan-conditional": TINY_R3GAN}


@pytest.mark.parametrize("name", [n for n in registry().names("gans")
                                  if registry().component("gans", n).plugin.startswith("ganforge.builtins")])
def test_builtin_recipes_conform(name):
    from ganforge.hooks.manager import get

    params = RECIPE_SIZES.get(name, TINY_DCGAN)
    if name == "sgan":
        params = {**params, "labeled": 20}
    values = testing.check_recipe(get("gans", name), params)
    assert values


def test_the_kit_catches_a_recipe_without_a_generator_named_G():
    from ganforge.hooks.manager import get

    class NoG(get("gans", "dcgan")):
        def build_networks(self):
            nets = super().build_networks()
            return {"generator": nets["G"], "D": nets["D"]}

        @property
        def generator(self):
            return self.networks["generator"]

    with pytest.raises((AssertionError, KeyError), match="G"):
        testing.check_recipe(NoG, TINY_DCGAN)


@pytest.mark.parametrize("name", ["jsonl", "tensorboard", "mlflow"])
def test_builtin_loggers_conform(name, tmp_path):
    from ganforge.hooks.manager import get

    testing.check_logger(get("loggers", name), workdir=tmp_path)


@pytest.mark.e2e  # trains, exports or evaluates for real
def test_builtin_onnx_exporter_conforms(tmp_path):
    from ganforge.hooks.manager import get

    testing.check_exporter(get("exporters", "onnx"), workdir=tmp_path)


@pytest.mark.system
@pytest.mark.parametrize("name", ["aoti", "tensorrt"])
def test_builtin_native_exporters_conform(name, tmp_path):
    from ganforge.hooks.manager import get

    exporter = get("exporters", name)
    reason = exporter().unavailable("cpu") if "cpu" in exporter.devices else "runs on CUDA only"
    if reason:
        pytest.skip(f"{name}: {reason}")
    # R3GAN's generator: grouped convolutions and low-pass resampling through the C++ build too
    module = get("networks", "r3gan-generator")(**GENERATORS["r3gan-generator+classes"])
    testing.check_exporter(exporter, module.eval(), workdir=tmp_path)


def test_builtin_digit_extractor_conforms():
    from ganforge.hooks.manager import get

    testing.check_extractor(get("extractors", "digits"))


@pytest.mark.e2e
def test_a_builtin_recipe_resumes_exactly_by_the_kits_check(tmp_path):
    testing.check_resume("dcgan", TINY_DCGAN, workdir=tmp_path)


@pytest.mark.e2e
def test_the_resume_check_catches_a_recipe_that_draws_outside_the_engine(tmp_path, add_plugin):
    import random

    from ganforge.plugin import hookimpl
    from ganforge.hooks.manager import get

    class Drifting(get("gans", "dcgan")):
        """Changes its learning rate by a Python RNG nobody saves: not resumable."""

        def schedule(self, step, total):
            for opt in self.optimizers.values():
                for group in opt.param_groups:
                    group["lr"] = random.uniform(1e-4, 1e-2)

    class Plugin:
        @hookimpl
        def register_gans(self, register):
            register("drifting", Drifting)

    add_plugin(Plugin(), name="drifting-plugin")
    random.seed(0)
    with pytest.raises(AssertionError, match="resume is not exact"):
        testing.check_resume("drifting", TINY_DCGAN, workdir=tmp_path)
