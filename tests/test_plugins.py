"""The plugin core: every hook, registry errors, broken plugins, entry points."""

import json
import textwrap

import pytest
import torch

import ganforge
from ganforge.plugin import hookimpl
from ganforge.hooks import manager as plugin_manager
from ganforge.errors import PluginError, UnknownComponentError

from support.cli import cli, run_cli
from support.plugins import CountLines, HalfLoss, InvertSome, TestPlugin, TinyGAN, TinyGenerator


@pytest.mark.e2e
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
    result = ganforge.train("tiny-gan", out=tmp_path / "run", quiet=True, loggers=["count-lines"],  # + logger
                            augment="invert-some")  # + augmentation
    assert result.step == 3 and (tmp_path / "run" / "G.ckpt").exists() and InvertSome.seen >= 3
    assert CountLines.made[-1].calls["metrics"] >= 1 and CountLines.made[-1].calls["image"] >= 1
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


def test_duplicate_name_drops_only_the_clashing_component(add_plugin, capsys):
    class Clash:
        @hookimpl
        def register_gans(self, register):
            register("dcgan", TinyGAN)
            register("clash-only", TinyGAN)

    system = add_plugin(Clash(), name="clashing")
    assert system.registry.component("gans", "dcgan").plugin == "ganforge.builtins.gans"  # the first keeps it
    assert system.registry.component("gans", "clash-only").plugin == "clashing"
    assert system.info["clashing"].registered["gans"] == ["clash-only"]
    err = capsys.readouterr().err
    assert err == ("ganforge: warning: plugin 'clashing' registered gan 'dcgan', which was skipped: "
                   "the name is taken by plugin 'ganforge.builtins.gans' (the first one keeps it)\n")
    assert system.info["clashing"].loaded and "'dcgan'" in system.info["clashing"].problems[0]


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
    assert not system.info["typo"].loaded and "register_model" in system.info["typo"].problems[0]
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


def test_strict_mode_resolves_every_import_string_when_listing(add_plugin, monkeypatch, capsys):
    class Typo:
        @hookimpl
        def register_losses(self, register):
            register("fine", "ganforge.builtins.losses.bce:MinimaxLoss")
            register("ghost", "ganforge.builtins.losses.bce:MinimaxLos")  # misspelled attribute

    system = add_plugin(Typo(), name="typo-target")
    assert "ghost" in system.registry.names("losses")  # lazy by default: found when used
    plugin_manager.reset_plugins()
    monkeypatch.setenv("GANFORGE_STRICT_PLUGINS", "1")
    system = add_plugin(Typo(), name="typo-target")
    with pytest.raises(PluginError, match="loss 'ghost'.*could not be loaded.*MinimaxLos"):
        system.registry


def test_lazy_target_that_fails_to_import_is_a_clear_error(add_plugin):
    class Lazy:
        @hookimpl
        def register_gans(self, register):
            register("ghost", "no_such_module_xyz:Recipe", "missing")

    system = add_plugin(Lazy(), name="lazy")
    with pytest.raises(PluginError, match="gan 'ghost' from plugin 'lazy' could not be loaded"):
        system.registry.get("gans", "ghost")


def _write_distribution(site, name, module_source, version="1.2.3", requires=(), entry=None):
    """A minimal installed distribution: what pip leaves in site-packages. Its entry point is
    ``entry`` (default: the distribution's own name)."""
    (site / f"{name}.py").write_text(textwrap.dedent(module_source))
    dist = site / f"{name}-{version}.dist-info"
    dist.mkdir()
    requires_lines = "".join(f"Requires-Dist: {r}\n" for r in requires)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requires_lines}")
    (dist / "entry_points.txt").write_text(f"[ganforge]\n{entry or name} = {name}\n")


GOOD_PLUGIN = """
    from ganforge.plugin import hookimpl

    @hookimpl
    def register_losses(register):
        register("hello-loss", "ganforge.builtins.losses.bce:MinimaxLoss", "says hello")
"""


@pytest.mark.system
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


@pytest.mark.e2e
def test_plugin_failing_at_import_warns_and_cli_keeps_working(tmp_path):
    _write_distribution(tmp_path, "ganforge_hello", GOOD_PLUGIN)
    _write_distribution(tmp_path, "ganforge_broken", "raise ImportError('needs libfoo')\n")
    result = cli("list", "losses", path=tmp_path)
    assert result.returncode == 0
    assert "hello-loss" in result.stdout and "non-saturating" in result.stdout
    warning = [line for line in result.stderr.splitlines() if line]
    assert warning == ["ganforge: warning: plugin 'ganforge_broken' failed to import: ImportError: needs libfoo"]
    strict = cli("list", path=tmp_path, env={"GANFORGE_STRICT_PLUGINS": "1"})
    assert strict.returncode == 1
    assert "Traceback" not in strict.stderr and "ganforge_broken" in strict.stderr


def test_list_and_plugins_commands_describe_builtins():
    listed = json.loads(cli("list", "--json").stdout)
    assert set(listed) == set(plugin_manager.KINDS)
    assert {c["name"] for c in listed["gans"]} >= {"gan", "dcgan"}
    assert all(c["description"] for kind in listed.values() for c in kind)
    plugins = {p["name"]: p for p in json.loads(cli("plugins", "--all", "--json").stdout)}
    assert plugins["ganforge.builtins.gans"]["registered"]["gans"] == [
        "gan", "dcgan", "lsgan", "cgan", "acgan", "sgan", "cyclegan", "pix2pix", "discogan", "r3gan",
        "r3gan-conditional", "stackgan"]
    assert plugins["ganforge.builtins.gans"]["builtin"] is True
    bad = cli("list", "gan")
    assert bad.returncode == 1 and "did you mean gans" in bad.stderr


@pytest.mark.system
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


@pytest.mark.e2e
def test_plugin_for_another_ganforge_version_is_skipped_naming_both_versions(tmp_path):
    _write_distribution(tmp_path, "ganforge_future", GOOD_PLUGIN, version="2.0", requires=["ganforge>=9.0"])
    _write_distribution(tmp_path, "ganforge_fits", GOOD_PLUGIN.replace("hello-loss", "fits-loss"),
                        requires=["ganforge>=0.1,<1", "numpy"])
    result = cli("list", "losses", "--json", path=tmp_path)
    assert result.returncode == 0
    names = {c["name"] for c in json.loads(result.stdout)["losses"]}
    assert "fits-loss" in names and "hello-loss" not in names
    from ganforge.version import __version__

    assert result.stderr.strip() == (f"ganforge: warning: plugin 'ganforge_future' 2.0 needs ganforge>=9.0 but this is "
                                     f"ganforge {__version__}; it was skipped (upgrade one of them)")


@pytest.mark.e2e
def test_allow_and_block_lists_choose_which_plugins_load(tmp_path):
    _write_distribution(tmp_path, "ganforge_hello", GOOD_PLUGIN)
    _write_distribution(tmp_path, "ganforge_other", GOOD_PLUGIN.replace("hello-loss", "other-loss"))

    def loaded(**env):
        result = cli("plugins", "--json", path=tmp_path, env={**env})
        assert result.returncode == 0, result.stderr
        return {p["name"] for p in json.loads(result.stdout)}

    already = {p["name"] for p in json.loads(cli("plugins", "--json").stdout)}  # e.g. the example package
    assert loaded() == {"ganforge_hello", "ganforge_other"} | already
    assert loaded(GANFORGE_LOAD_PLUGINS="ganforge_other") == {"ganforge_other"}
    assert loaded(GANFORGE_LOAD_PLUGINS="") == set()
    assert loaded(GANFORGE_DISABLE_PLUGINS="ganforge_hello") == {"ganforge_other"} | already
    all_plugins = json.loads(cli("plugins", "--all", "--json", env={"GANFORGE_LOAD_PLUGINS": ""}).stdout)
    assert all(p["builtin"] for p in all_plugins) and len(all_plugins) == len(plugin_manager.builtin_plugins())


@pytest.mark.e2e
def test_plugins_filters_by_hook_and_prints_requirements(tmp_path):
    _write_distribution(tmp_path, "ganforge_hello", GOOD_PLUGIN, version="1.2.3")
    env = {}
    by_hook = json.loads(cli("plugins", "--all", "--hook", "register_losses", "--json", path=tmp_path, env=env).stdout)
    assert {"ganforge.builtins.losses", "ganforge_hello"} <= {p["name"] for p in by_hook}
    assert all("register_losses" in p["hooks"] for p in by_hook) and "ganforge.builtins.gans" not in str(by_hook)
    assert cli("plugins", "--hook", "register_lossez").returncode == 1
    requirements = cli("plugins", "--requirements", path=tmp_path, env=env)
    assert requirements.returncode == 0 and "ganforge_hello==1.2.3" in requirements.stdout.splitlines()


@pytest.mark.system
def test_uninstall_and_plugins_work_with_a_broken_plugin_installed(tmp_path):
    _write_distribution(tmp_path, "ganforge_broken", "raise ImportError('needs libfoo')\n")
    env = {}
    assert cli("plugins", path=tmp_path, env=env).returncode == 0
    result = run_cli("uninstall", "-y", "ganforge-no-such-plugin-xyz", env={"PYTHONPATH": str(tmp_path)})
    assert "Traceback" not in result.stderr and "not installed" in (result.stdout + result.stderr)
    installed = cli("install", "--help")
    assert installed.returncode == 0 and "pip" in installed.stdout


def test_builtins_live_under_a_package_name_that_clashes_with_nothing():
    """The built-in plugins are ganforge.builtins (from the top-level plugins/ and exporters/
    folders), so ganforge.plugins is only ever the documented function."""
    import importlib.metadata

    first = ganforge.plugins(include_builtins=True)
    sgan = importlib.import_module("ganforge.builtins.gans.sgan")
    import ganforge.builtins.gans as gans  # a plain import of a subpackage works

    assert callable(ganforge.plugins) and ganforge.plugins(include_builtins=True) == first
    assert any(p["name"] == "ganforge.builtins.gans" for p in first)
    assert gans.__name__ == "ganforge.builtins.gans" and callable(sgan.classify)
    installed = importlib.metadata.distribution("ganforge").read_text("top_level.txt").split()
    assert installed == ["ganforge"]  # nothing called plugins or exporters at the top of site-packages


@pytest.mark.e2e
def test_broken_plugins_are_listed_with_their_error_and_distribution(tmp_path):
    _write_distribution(tmp_path, "ganforge_hello", GOOD_PLUGIN, entry="hello")
    _write_distribution(tmp_path, "ganforge_broken", "raise ImportError('needs libfoo')\n", entry="broken")
    env = {"COLUMNS": "200"}
    found = {p["name"]: p for p in json.loads(cli("plugins", "--json", path=tmp_path, env=env).stdout)}
    assert found["hello"]["distribution"] == "ganforge_hello" and found["hello"]["loaded"] is True
    assert found["broken"]["loaded"] is False and found["broken"]["distribution"] == "ganforge_broken"
    assert found["broken"]["problems"] == ["failed to import: ImportError: needs libfoo"]
    table = cli("plugins", path=tmp_path, env=env)
    assert table.returncode == 0 and "no third-party plugins" not in table.stdout
    row = next(line for line in table.stdout.splitlines() if "broken" in line)
    assert "ganforge_broken" in row and "not loaded" in row and "needs libfoo" in row
    # Allow and block lists take the distribution's name as pip spells it, as well as the entry point's.
    loaded = json.loads(cli("plugins", "--json", path=tmp_path, env={**env, "GANFORGE_LOAD_PLUGINS": "ganforge-hello"}).stdout)
    assert [p["name"] for p in loaded] == ["hello"]
    blocked = json.loads(cli("plugins", "--json", path=tmp_path, env={**env, "GANFORGE_DISABLE_PLUGINS": "Ganforge-Broken"}).stdout)
    assert "broken" not in {p["name"] for p in blocked} and "hello" in {p["name"] for p in blocked}


@pytest.mark.e2e
def test_checkpoints_name_every_plugin_they_are_made_of(add_plugin, tmp_path):
    """A dcgan whose upsampler comes from a plugin: G.ckpt records that plugin and its package,
    and without the plugin loading it names what to install."""
    from ganforge.artifacts.checkpoint import read_meta
    from ganforge.errors import CheckpointError

    from support.sizes import TINY_DCGAN

    add_plugin(TestPlugin(), name="hidden", version="0.3.1", distribution="ganforge-hidden")
    ganforge.train("dcgan", steps=1, batch_size=4, out=tmp_path / "run", quiet=True,
                   params={**TINY_DCGAN, "upsampler": "double-up"})
    made_of = {(c["kind"], c["name"]): c for c in read_meta(tmp_path / "run" / "G.ckpt")["components"]}
    assert made_of[("upsamplers", "double-up")]["distribution"] == "ganforge-hidden"
    assert made_of[("gans", "dcgan")]["plugin"] == "ganforge.builtins.gans"
    plugin_manager.reset_plugins()  # the plugin is gone
    with pytest.raises(CheckpointError, match=r"this file says it needs upsampler 'double-up' from plugin 'hidden' "
                                              r"\(distribution ganforge-hidden 0.3.1\), which is not installed"):
        ganforge.load_generator(tmp_path / "run" / "G.ckpt")
    result = cli("sample", str(tmp_path / "run"), "-o", str(tmp_path / "g.png"))
    assert result.returncode == 1 and "distribution ganforge-hidden 0.3.1" in result.stderr
    assert "pip install" not in result.stderr  # a file is no source of what to install


def test_a_files_plugin_names_are_quoted_only_when_they_look_like_package_names():
    from ganforge.hooks.provenance import missing_plugin

    said = missing_plugin([{"kind": "upsamplers", "name": "x-up", "plugin": "p",
                            "distribution": "evil; rm -rf ~ #", "version": "1.0 && curl"}])
    assert "evil" not in said and "curl" not in said and "from plugin 'p'" in said


def test_an_artifact_whose_exporter_plugin_is_missing_says_so(tmp_path):
    artifact = tmp_path / "G.pt"
    artifact.write_bytes(b"PK\x03\x04 a TorchScript archive, say")
    result = cli("sample", str(artifact), "-o", str(tmp_path / "g.png"))
    assert result.returncode == 1 and "header" not in result.stderr
    assert "no installed exporter reads '.pt' files" in result.stderr and "onnx (.onnx)" in result.stderr


@pytest.mark.e2e
def test_bench_times_plugin_exporters_like_builtins(add_plugin, tmp_path):
    from ganforge.tools.bench import default_backends

    add_plugin(TestPlugin())
    assert "raw" in default_backends() and "onnxruntime" in default_backends()
    ganforge.train("tiny-gan", out=tmp_path / "run", quiet=True)
    ganforge.export(tmp_path / "run", "raw")
    rows = ganforge.bench(tmp_path / "run" / "G.rawgen", batch_sizes=[2], repeats=2)  # no --backends needed
    assert [r["backend"] for r in rows] == ["torch", "raw"] and all("p50_ms" in r for r in rows), rows


EXPORTER_PLUGIN = """
    from ganforge.plugin import hookimpl

    @hookimpl
    def register_exporters(register):
        register("flatbuf", "ganforge.builtins.exporters.onnx_exporter:OnnxExporter", "an exporter plugin")
"""


@pytest.mark.e2e
def test_bench_help_names_the_backends_installed_here(tmp_path):
    _write_distribution(tmp_path, "ganforge_flat", EXPORTER_PLUGIN)
    shown = cli("bench", "--help", path=tmp_path).stdout
    assert "flatbuf" in " ".join(shown.split()) and "onnxruntime" in shown


@pytest.mark.e2e  # trains, exports or evaluates for real
def test_a_broken_exporter_plugin_breaks_no_other_exporter_and_is_reported(add_plugin, tmp_path, tiny_dcgan_run):
    """An exporter whose module fails to import: ganforge plugins reports it, and exporting,
    loading and listing another plugin's artifacts works as before."""

    class Broken:
        @hookimpl
        def register_exporters(self, register):
            register("broken-format", "ganforge_no_such_module.exporter:Exporter", "an exporter that cannot import")

    add_plugin(Broken(), name="broken-exporters")
    result = ganforge.export(tiny_dcgan_run, "onnx", tmp_path / "G.onnx")
    assert result.verified
    assert ganforge.load_generator(tmp_path / "G.onnx").generate(2, seed=0).shape[0] == 2
    listed = {p["name"]: p for p in ganforge.plugins()}
    assert any("ganforge_no_such_module" in problem for problem in listed["broken-exporters"]["problems"])


def test_plugins_all_shows_where_each_builtin_component_lives():
    found = {p["name"]: p for p in ganforge.plugins(include_builtins=True)}
    sources = found["ganforge.builtins.gans"]["sources"]
    assert sources["gans/dcgan"].replace("\\", "/").endswith("plugins/gans/dcgan.py")
    result = cli("plugins", "--all")
    assert "plugins/gans/" in result.stdout.replace("\\", "/")
