"""The plugin core: every hook, registry errors, broken plugins, entry points."""

import json
import textwrap

import pytest
import torch
from torch import nn

import ganforge
from ganforge import hookimpl, plugin_manager
from ganforge.errors import PluginError, UnknownComponentError
from ganforge.losses import Loss
from ganforge.networks import latent_input

from conftest import run_cli


class TinyGenerator(nn.Module):
    """A one-layer generator for tests."""

    def __init__(self, latent_dim=4, channels=1, image_size=28):
        super().__init__()
        self.signature = [latent_input(latent_dim)]
        self.output_range = (-1.0, 1.0)
        self.shape = (channels, image_size, image_size)
        self.fc = nn.Linear(latent_dim, channels * image_size * image_size)

    def forward(self, z):
        return torch.tanh(self.fc(z)).view(-1, *self.shape)


class HalfLoss(Loss):
    """Least squares, halved: a loss only this test plugin knows."""

    def __init__(self, real_label=1.0):
        self.real_label = real_label

    def d_loss(self, real, fake):
        return 0.5 * ((real - self.real_label) ** 2).mean() + 0.5 * (fake ** 2).mean()

    def g_loss(self, fake):
        return 0.5 * ((fake - 1) ** 2).mean()


class DoubleUp(nn.Sequential):
    """Pixel shuffle upsampler."""

    def __init__(self, in_channels, out_channels, kernel_size=3):
        super().__init__(nn.Conv2d(in_channels, out_channels * 4, kernel_size, padding="same"), nn.PixelShuffle(2))


class Blobs(torch.utils.data.Dataset):
    """Sixteen random 28x28 images."""

    def __init__(self, root=None, image_size=None, channels=None, split="train"):
        g = torch.Generator().manual_seed(0)
        self.images = torch.rand(16, 1, 28, 28, generator=g) * 2 - 1
        self.channels, self.image_size, self.num_classes = 1, 28, 1

    def __len__(self):
        return 16

    def __getitem__(self, i):
        return self.images[i], 0


class TestPlugin:
    @hookimpl
    def register_networks(self, register):
        register("tiny-generator", TinyGenerator)

    @hookimpl
    def register_losses(self, register):
        register("half-squares", HalfLoss)

    @hookimpl
    def register_upsamplers(self, register):
        register("double-up", DoubleUp, "pixel shuffle")

    @hookimpl
    def register_datasets(self, register):
        register("blobs", Blobs)

    @hookimpl
    def register_gans(self, register):
        register("tiny-gan", f"{__name__}:TinyGAN", "a GAN from a test plugin")

    @hookimpl
    def register_exporters(self, register):
        register("raw", f"{__name__}:RawExporter", "raw tensors")

    @hookimpl
    def register_extractors(self, register):
        register("row-means", RowMeans, "mean brightness of each image row")


class RowMeans:
    """A feature extractor any plugin could register: 28 row means; logits favour bright images."""

    name, num_features, num_classes, sha256 = "row-means", 28, 2, "none"

    def __init__(self, weights=None, device="cpu"):
        pass

    def __call__(self, images):
        rows = images.mean(dim=(1, 3))
        return rows, torch.stack([rows.mean(1), -rows.mean(1)], 1)


class RawExporter:
    """The generator's weights and metadata in a safetensors file of its own suffix: an
    exporter any plugin could register (written against ganforge.artifacts.Exporter)."""

    name, suffix, precisions, devices = "raw", ".rawgen", ("fp32",), ("cpu",)

    def unavailable(self, device="cpu"):
        return None

    def export(self, generator, path, **options):
        from ganforge import checkpoint

        meta = {**generator.meta, "format": "raw"}
        checkpoint.save(path, {k: v.clone() for k, v in generator.module.state_dict().items()}, meta)

    def load(self, path, device="cpu"):
        from ganforge import checkpoint
        from ganforge.generator import _rebuild

        tensors, meta = checkpoint.load(path)
        return _rebuild(path, tensors, meta).eval().to(device), meta


from ganforge.recipe import ADVERSARIAL_HPARAMS, AdversarialRecipe  # noqa: E402


class TinyGAN(AdversarialRecipe):
    hparams = {"latent_dim": (4, "z size"), **ADVERSARIAL_HPARAMS, "loss": ("half-squares", "loss")}
    train_defaults = {"dataset": "blobs", "batch_size": 4, "steps": 3}

    def build_networks(self):
        return {"G": self.network("tiny-generator", latent_dim=self.hp.latent_dim),
                "D": self.network("mlp-discriminator", hidden=8, layers=1)}


def test_every_hook_registers_components_that_ganforge_uses(add_plugin, tmp_path):
    system = add_plugin(TestPlugin())
    info = system.info["test-plugin"]
    assert info.hooks == sorted(plugin_manager.KINDS.values())
    reg = system.registry
    assert info.registered["upsamplers"] == ["double-up"]
    # Each registered component works where ganforge uses that kind.
    up = reg.get("upsamplers", "double-up")(4, 2)
    assert up(torch.zeros(1, 4, 7, 7)).shape == (1, 2, 14, 14)
    assert reg.component("networks", "tiny-generator").description == "A one-layer generator for tests."
    result = ganforge.train("tiny-gan", out=tmp_path / "run", quiet=True)  # network, loss, dataset, gan
    assert result.step == 3 and (tmp_path / "run" / "G.ckpt").exists()
    exported = ganforge.export(tmp_path / "run", "raw")  # verified against PyTorch like a built-in
    assert exported.path == tmp_path / "run" / "G.rawgen" and exported.max_abs_error == 0
    G = ganforge.load_generator(exported.path)
    assert G.backend == "raw" and G.generate(2).shape == (2, 1, 28, 28)
    scored = ganforge.evaluate(tmp_path / "run", extractor="row-means", n=16, dataset="mnist-5k", real_split="test")
    assert scored["config"]["num_features"] == 28 and scored["metrics"]["fid"] > 0
    # A built-in recipe accepts the plugin's loss and upsampler by name.
    ganforge.train("dcgan", steps=1, batch_size=4, out=tmp_path / "dc", quiet=True,
                   params={"g_width": 4, "d_width": 4, "upsampler": "double-up", "loss": "half-squares"})


def test_unknown_name_lists_close_matches():
    with pytest.raises(UnknownComponentError, match=r"unknown gan 'dcgn'; did you mean dcgan"):
        plugin_manager.get("gans", "dcgn")
    with pytest.raises(UnknownComponentError, match="unknown kind 'gan'; did you mean gans"):
        plugin_manager.registry().component("gan", "dcgan")


def test_duplicate_name_names_both_plugins(add_plugin, capsys):
    class Clash:
        @hookimpl
        def register_gans(self, register):
            register("dcgan", TinyGAN)
            register("clash-only", TinyGAN)

    system = add_plugin(Clash(), name="clashing")
    assert system.registry.component("gans", "dcgan").plugin == "ganforge.plugins.gans"
    assert "clash-only" not in system.registry.names("gans")  # the whole hook call is rolled back
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "'dcgan' is registered twice" in err and "ganforge.plugins.gans" in err and "clashing" in err


def test_plugin_raising_in_a_hook_is_a_warning_and_the_rest_works(add_plugin, capsys):
    class Broken:
        @hookimpl
        def register_losses(self, register):
            register("half-squares", HalfLoss)
            raise RuntimeError("boom")

    system = add_plugin(Broken(), name="broken")
    assert "half-squares" not in system.registry.names("losses")
    assert "non-saturating" in system.registry.names("losses")
    err = capsys.readouterr().err.strip()
    assert err == "ganforge: warning: plugin 'broken' failed in register_losses: RuntimeError: boom"


def test_misspelled_hook_fails_loudly_and_plugin_is_skipped(add_plugin, capsys):
    class Misspelled:
        @hookimpl
        def register_model(self, register):  # no such hook
            register("x", TinyGenerator)

    system = add_plugin(Misspelled(), name="typo")
    assert "typo" not in system.info
    err = capsys.readouterr().err
    assert "plugin 'typo' was skipped" in err and "register_model" in err


def test_strict_mode_turns_warnings_into_errors(add_plugin, monkeypatch):
    class Broken:
        @hookimpl
        def register_gans(self, register):
            raise RuntimeError("boom")

    monkeypatch.setenv("GANFORGE_STRICT_PLUGINS", "1")
    system = add_plugin(Broken(), name="broken")
    with pytest.raises(PluginError, match="plugin 'broken' failed in register_gans"):
        system.registry


def test_lazy_target_that_fails_to_import_is_a_clear_error(add_plugin):
    class Lazy:
        @hookimpl
        def register_gans(self, register):
            register("ghost", "no_such_module_xyz:Recipe", "missing")

    system = add_plugin(Lazy(), name="lazy")
    with pytest.raises(PluginError, match="gan 'ghost' from plugin 'lazy' could not be loaded"):
        system.registry.get("gans", "ghost")


def _write_distribution(site, name, module_source, version="1.2.3", requires=()):
    """A minimal installed distribution: what pip leaves in site-packages."""
    (site / f"{name}.py").write_text(textwrap.dedent(module_source))
    dist = site / f"{name}-{version}.dist-info"
    dist.mkdir()
    requires_lines = "".join(f"Requires-Dist: {r}\n" for r in requires)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requires_lines}")
    (dist / "entry_points.txt").write_text(f"[ganforge]\n{name} = {name}\n")


GOOD_PLUGIN = """
    from ganforge import hookimpl

    @hookimpl
    def register_losses(register):
        register("hello-loss", "ganforge.plugins.losses.bce:MinimaxLoss", "says hello")
"""


def test_entry_point_plugins_are_discovered(tmp_path):
    _write_distribution(tmp_path, "ganforge_hello", GOOD_PLUGIN)
    result = run_cli("plugins", "--json", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    found = {p["name"]: p for p in json.loads(result.stdout)}
    assert found["ganforge_hello"]["version"] == "1.2.3"
    assert found["ganforge_hello"]["builtin"] is False
    assert found["ganforge_hello"]["hooks"] == ["register_losses"]
    assert found["ganforge_hello"]["registered"] == {"losses": ["hello-loss"]}
    listed = json.loads(run_cli("list", "losses", "--json", env={"PYTHONPATH": str(tmp_path)}).stdout)
    assert {"name": "hello-loss", "plugin": "ganforge_hello", "description": "says hello"} in listed["losses"]


def test_plugin_failing_at_import_warns_and_cli_keeps_working(tmp_path):
    _write_distribution(tmp_path, "ganforge_hello", GOOD_PLUGIN)
    _write_distribution(tmp_path, "ganforge_broken", "raise ImportError('needs libfoo')\n")
    result = run_cli("list", "losses", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0
    assert "hello-loss" in result.stdout and "non-saturating" in result.stdout
    warning = [line for line in result.stderr.splitlines() if line]
    assert warning == ["ganforge: warning: plugin 'ganforge_broken' failed to import: ImportError: needs libfoo"]
    strict = run_cli("list", env={"PYTHONPATH": str(tmp_path), "GANFORGE_STRICT_PLUGINS": "1"})
    assert strict.returncode == 1
    assert "Traceback" not in strict.stderr and "ganforge_broken" in strict.stderr


def test_list_and_plugins_commands_describe_builtins():
    listed = json.loads(run_cli("list", "--json").stdout)
    assert set(listed) == set(plugin_manager.KINDS)
    assert {c["name"] for c in listed["gans"]} >= {"gan", "dcgan"}
    assert all(c["description"] for kind in listed.values() for c in kind)
    plugins = {p["name"]: p for p in json.loads(run_cli("plugins", "--all", "--json").stdout)}
    assert plugins["ganforge.plugins.gans"]["registered"]["gans"] == [
        "gan", "dcgan", "lsgan", "cgan", "acgan", "sgan", "cyclegan", "discogan", "stackgan"]
    assert plugins["ganforge.plugins.gans"]["builtin"] is True
    bad = run_cli("list", "gan")
    assert bad.returncode == 1 and "did you mean gans" in bad.stderr


def test_help_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys\nfrom ganforge.cli import cli\ntry:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip().endswith("False"), out.stdout + out.stderr
    assert "ganforge train dcgan" in out.stdout
    listing = subprocess.run([sys.executable, "-c", "import sys, ganforge\nganforge.components()\n"
                              "print('torch' in sys.modules)"], capture_output=True, text=True)
    assert listing.stdout.strip() == "False"


def test_plugin_for_another_ganforge_version_is_skipped_naming_both_versions(tmp_path):
    _write_distribution(tmp_path, "ganforge_future", GOOD_PLUGIN, version="2.0", requires=["ganforge>=9.0"])
    _write_distribution(tmp_path, "ganforge_fits", GOOD_PLUGIN.replace("hello-loss", "fits-loss"),
                        requires=["ganforge>=0.1,<1", "numpy"])
    result = run_cli("list", "losses", "--json", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0
    names = {c["name"] for c in json.loads(result.stdout)["losses"]}
    assert "fits-loss" in names and "hello-loss" not in names
    from ganforge import __version__

    assert result.stderr.strip() == (f"ganforge: warning: plugin 'ganforge_future' 2.0 needs ganforge>=9.0 but this is "
                                     f"ganforge {__version__}; it was skipped (upgrade one of them)")


def test_allow_and_block_lists_choose_which_plugins_load(tmp_path):
    _write_distribution(tmp_path, "ganforge_hello", GOOD_PLUGIN)
    _write_distribution(tmp_path, "ganforge_other", GOOD_PLUGIN.replace("hello-loss", "other-loss"))

    def loaded(**env):
        result = run_cli("plugins", "--json", env={"PYTHONPATH": str(tmp_path), **env})
        assert result.returncode == 0, result.stderr
        return {p["name"] for p in json.loads(result.stdout)}

    already = {p["name"] for p in json.loads(run_cli("plugins", "--json").stdout)}  # e.g. the example package
    assert loaded() == {"ganforge_hello", "ganforge_other"} | already
    assert loaded(GANFORGE_LOAD_PLUGINS="ganforge_other") == {"ganforge_other"}
    assert loaded(GANFORGE_LOAD_PLUGINS="") == set()
    assert loaded(GANFORGE_DISABLE_PLUGINS="ganforge_hello") == {"ganforge_other"} | already
    all_plugins = json.loads(run_cli("plugins", "--all", "--json", env={"GANFORGE_LOAD_PLUGINS": ""}).stdout)
    assert all(p["builtin"] for p in all_plugins) and len(all_plugins) == len(plugin_manager.BUILTIN_PLUGINS)


def test_plugins_filters_by_hook_and_prints_requirements(tmp_path):
    _write_distribution(tmp_path, "ganforge_hello", GOOD_PLUGIN, version="1.2.3")
    env = {"PYTHONPATH": str(tmp_path)}
    by_hook = json.loads(run_cli("plugins", "--all", "--hook", "register_losses", "--json", env=env).stdout)
    assert {"ganforge.plugins.losses", "ganforge_hello"} <= {p["name"] for p in by_hook}
    assert all("register_losses" in p["hooks"] for p in by_hook) and "ganforge.plugins.gans" not in str(by_hook)
    assert run_cli("plugins", "--hook", "register_lossez").returncode == 1
    requirements = run_cli("plugins", "--requirements", env=env)
    assert requirements.returncode == 0 and "ganforge_hello==1.2.3" in requirements.stdout.splitlines()


def test_uninstall_and_plugins_work_with_a_broken_plugin_installed(tmp_path):
    _write_distribution(tmp_path, "ganforge_broken", "raise ImportError('needs libfoo')\n")
    env = {"PYTHONPATH": str(tmp_path)}
    assert run_cli("plugins", env=env).returncode == 0
    result = run_cli("uninstall", "-y", "ganforge-no-such-plugin-xyz", env=env)
    assert "Traceback" not in result.stderr and "not installed" in (result.stdout + result.stderr)
    installed = run_cli("install", "--help")
    assert installed.returncode == 0 and "pip" in installed.stdout


def test_ganforge_plugins_stays_the_function_after_the_builtin_plugins_are_imported():
    """The built-in plugins are the subpackage ganforge.plugins; importing it must not
    replace the documented ganforge.plugins() function."""
    import importlib

    first = ganforge.plugins(all=True)
    importlib.import_module("ganforge.plugins.gans.sgan")
    assert callable(ganforge.plugins) and ganforge.plugins(all=True) == first
    assert any(p["name"] == "ganforge.plugins.gans" for p in first)
    from ganforge.plugins.gans.sgan import classify  # the documented import of a built-in's helper
    assert callable(classify)
