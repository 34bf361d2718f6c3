"""The shape of the core: settings declared once and reachable everywhere, dependencies
that point one way, a core that names no built-in plugin, recipes handed a context."""

import ast
import inspect
import json
from pathlib import Path

import pytest
import torch

import ganforge
from ganforge.training import config as cfg
from ganforge.contracts.context import TrainingContext
from ganforge.errors import GanforgeError, UnknownComponentError
from ganforge.training.planning import plan
from ganforge.training.settings import RESUMABLE, SETTINGS

from support.cli import cli
from support.sizes import TINY_DCGAN

CORE = Path(ganforge.__file__).parent


def example_value(setting):
    """A valid value of ``setting`` other than its default."""
    if setting.type is bool:
        return True
    if setting.choices:
        return setting.choices[-1]
    if setting.type is int:
        return (setting.default or 0) + 1
    if setting.type is float:
        return 0.5
    return {"datasets": "mnist-5k", "loggers": "tensorboard"}.get(setting.component, "somewhere")


# The core's layers, lowest first: a module imports only from its own layer or those below
# (docs/architecture.md draws the same). Built-ins (ganforge.builtins) sit above all of them.
LAYERS = [
    {"version", "errors", "_moved", "devices"},  # foundations
    {"hooks"},  # the plugin system: hook specs and the plugin manager
    {"data"},  # dataset helpers, image files, the bundled files
    {"contracts"},  # what plugins build on: base classes, the recipe's context, network helpers
    {"artifacts"},  # checkpoints, the run directory, loading and exporting generators
    {"evaluation"},  # FID/KID/IS, the digit classifier
    {"training"},  # settings, planning, the engine and its parts, distributed runs
    {"tools"},  # latent tools, reports, bench
    {"serving"},  # ganforge serve: the inference protocol, dynamic batching, the ASGI application
    {"testing", "plugin"},  # the conformance kit; the plugin authors' surface
    {"api"},
    {"cli", "__main__"},
]


def _modules() -> dict[str, Path]:
    """Every core module by its dotted name below ganforge ("training.engine"); a package by
    its own name ("artifacts" is artifacts/__init__.py)."""
    found = {}
    for path in CORE.rglob("*.py"):
        parts = path.relative_to(CORE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            found[".".join(parts)] = path
    return found


def _target(imported: str, modules) -> str | None:
    """The core module an import names: the longest dotted prefix that is a module."""
    parts = imported.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in modules:
            return ".".join(parts[:n])
    return None


def _core_imports() -> dict[str, set[str]]:
    """Each core module and the core modules it imports (inside functions too)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("ganforge"):
                base = node.module[len("ganforge."):] if node.module != "ganforge" else ""
                for alias in node.names:  # `from ganforge.training import engine` names a module
                    candidate = f"{base}.{alias.name}" if base else alias.name
                    found.add(_target(candidate, modules) or _target(base, modules) or "<root>")
            elif isinstance(node, ast.ImportFrom) and node.level > 0:
                found.add("<relative>")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "ganforge":
                        found.add("<root>")
                    elif alias.name.startswith("ganforge."):
                        found.add(_target(alias.name[len("ganforge."):], modules) or "<root>")
        graph[name] = found - {name, None}
    return graph


def _layer(module: str) -> int:
    top = module.split(".")[0]
    return next(i for i, layer in enumerate(LAYERS) if top in layer)


def test_every_core_module_has_a_layer():
    assert all(isinstance(_layer(m), int) for m in _modules())


def test_layers_point_one_way_function_level_imports_included():
    wrong = [f"{a} imports {b}" for a, targets in _core_imports().items() for b in targets
             if not b.startswith("<") and _layer(b) > _layer(a)]
    assert not wrong


def test_no_import_circle_among_core_modules_of_any_length():
    graph = _core_imports()

    def reaches(start, goal, seen):
        for nxt in graph.get(start, ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                if reaches(nxt, goal, seen):
                    return True
        return False

    assert not [m for m in graph if reaches(m, m, set())]


def test_nobody_inside_the_package_imports_its_root_and_nothing_is_relative():
    offenders = {m: sorted(t & {"<root>", "<relative>"}) for m, t in _core_imports().items()
                 if t & {"<root>", "<relative>"}}
    assert not offenders


def test_every_core_module_is_named_on_the_architecture_page():
    page = (CORE.parent / "docs" / "architecture.md").read_text()
    missing = [m for m in _modules() if m != "_moved" and f"{m.split('.')[-1]}" not in page]
    assert not missing


def test_the_core_names_no_builtin_plugin_module():
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
            elif isinstance(node, ast.Import):
                module = " ".join(a.name for a in node.names)
            else:
                continue
            assert "builtins." not in module and module != "builtins", f"{path.name} imports {module}"


def test_launcher_sits_above_the_engine_and_devices_below_both():
    graph = _core_imports()
    assert "training.engine" in graph["training.launcher"] or "training.planning" in graph["training.launcher"]
    assert "training.launcher" not in graph["training.engine"] | graph["training.distributed"]
    assert "training.engine" not in graph["training.distributed"] and "devices" in graph["training.distributed"]
    assert "artifacts.export" not in graph["artifacts.loading"]
    assert "artifacts.loading" not in graph["contracts.exporter"]
    assert not any(m.startswith("training") for m in graph["artifacts.loading"])  # inference needs no training code


def test_builtins_import_from_the_public_surface_alone():
    """Built-in plugins are ordinary plugins: what they use of ganforge comes from
    ganforge.plugin (their own modules they import relatively)."""
    import ganforge.plugin as surface

    repo = CORE.parent
    wrong = []
    for path in [*(repo / "plugins").rglob("*.py"), *(repo / "exporters").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("ganforge"):
                if node.module != "ganforge.plugin":
                    wrong.append(f"{path.relative_to(repo)}: from {node.module}")
                else:
                    wrong += [f"{path.relative_to(repo)}: {a.name} is not in ganforge.plugin"
                              for a in node.names if a.name not in surface.NAMES]
            elif isinstance(node, ast.Import):
                wrong += [f"{path.relative_to(repo)}: import {a.name}" for a in node.names
                          if a.name.startswith("ganforge")]
    assert not wrong


def test_every_public_name_resolves():
    import ganforge.plugin as surface

    for name in surface.NAMES:
        assert getattr(surface, name) is not None, name


def test_every_setting_is_a_train_option_an_api_keyword_and_shown():
    from ganforge.cli import train

    options = {p.name: p for p in train.params}
    keywords = inspect.signature(ganforge.train).parameters
    shown = ganforge.show("gan")["engine"]
    for setting in SETTINGS:
        assert setting.option in options[setting.name].opts, setting.name
        assert keywords[setting.name].kind is inspect.Parameter.KEYWORD_ONLY, setting.name
        assert shown[setting.name] == (ganforge.show("gan")["engine"][setting.name][0], setting.help)


def test_every_setting_is_a_config_file_key_checked_against_its_declaration(tmp_path):
    from ganforge.hooks.manager import get

    recipe_cls = get("gans", "gan")
    for setting in SETTINGS:
        value = example_value(setting)
        path = tmp_path / f"{setting.name}.json"
        path.write_text(json.dumps({setting.name: value, **({"steps": None} if setting.name == "epochs" else {})}))
        assert cfg.resolve(recipe_cls, {}, {}, path)["engine"][setting.name] == setting.check(value), setting.name
    bad = tmp_path / "bad.toml"
    bad.write_text('precision = "fp8"\n')
    with pytest.raises(GanforgeError, match="'precision' must be one of fp32, fp16, bf16"):
        cfg.resolve(recipe_cls, {}, {}, bad)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_resume_rules_come_from_each_declaration(tmp_path, setting):
    from ganforge.hooks.manager import get

    (tmp_path / "state.ckpt").write_bytes(b"")  # planning only looks for it
    saved = cfg.resolve(get("gans", "gan"), {}, {})
    (tmp_path / "config.json").write_text(json.dumps({"recipe": "gan", **saved}))
    given = {setting.name: example_value(setting)}
    if setting.resumable:
        planned = plan("gan", given, resume=tmp_path)
        assert planned.resuming and planned.engine[setting.name] == setting.check(given[setting.name])
    else:
        with pytest.raises(GanforgeError, match="a resumed run keeps its configuration"):
            plan("gan", given, resume=tmp_path)
    assert setting.resumable == (setting.name in RESUMABLE)


def test_a_run_saved_under_a_settings_earlier_name_resumes(tmp_path):
    from ganforge.hooks.manager import get

    (tmp_path / "state.ckpt").write_bytes(b"")
    saved = cfg.resolve(get("gans", "gan"), {}, {})
    saved["engine"]["compile"] = saved["engine"].pop("compile_networks")  # as ganforge 0.1 wrote it
    (tmp_path / "config.json").write_text(json.dumps({"recipe": "gan", **saved}))
    assert plan("gan", {"steps": 5}, resume=tmp_path).engine["compile_networks"] is False


def test_settings_are_checked_when_the_run_is_planned(tmp_path):
    with pytest.raises(GanforgeError, match="'ema' must be below 1"):
        plan("dcgan", {"ema": 1.5}, out=tmp_path)
    with pytest.raises(GanforgeError, match="unknown setting 'stepz' in the training settings; did you mean steps"):
        plan("dcgan", {"stepz": 3}, out=tmp_path)
    with pytest.raises(UnknownComponentError, match="unknown upsampler 'nope'"):
        plan("dcgan", {}, out=tmp_path, params={"upsampler": "nope"})
    with pytest.raises(UnknownComponentError, match="unknown dataset 'digitz'"):
        plan("dcgan", {"dataset": "digitz"}, out=tmp_path)
    with pytest.raises(UnknownComponentError, match="unknown network 'no-encoder'"):
        plan("stackgan", {}, out=tmp_path, params={"text_encoder": "no-encoder"})
    assert not list(tmp_path.iterdir())  # nothing was written or loaded


@pytest.mark.e2e
def test_a_typo_in_a_plugin_name_fails_before_any_process_starts(tmp_path):
    result = cli("train", "dcgan", "--nproc", "2", "--upsampler", "resize-convv", "--out", tmp_path / "run")
    assert result.returncode == 1 and "unknown upsampler 'resize-convv'; did you mean resize-conv" in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.e2e
def test_recipe_parameters_are_flags_of_their_own(tmp_path):
    result = cli("train", "sgan", "--labeled", "20", "--g-objective", "class", "--steps", "0", "-b", "4",
                 "-p", "g_width=4", "-p", "d_width=4", "--out", tmp_path / "run", "-q")
    assert result.returncode == 0, result.stderr
    params = json.loads((tmp_path / "run" / "config.json").read_text())["params"]
    assert params["labeled"] == 20 and params["g_objective"] == "class"
    unknown = cli("train", "dcgan", "--labeled", "20", "--out", tmp_path / "other")
    assert unknown.returncode == 1 and "unknown setting 'labeled' in recipe parameters" in unknown.stderr
    assert "--labeled" not in cli("train", "--help").stdout.split("Options:")[1].split("Every parameter")[0]


def test_a_recipe_built_by_hand_takes_a_bare_device():
    from ganforge.hooks.manager import get

    recipe_cls, data = get("gans", "dcgan"), get("datasets", "mnist-5k")(split="test")
    from ganforge.contracts.params import declared

    hp = {k: p.default for k, p in declared(recipe_cls.hparams).items()} | TINY_DCGAN
    recipe = recipe_cls(hp, data, torch.device("cpu"))
    assert isinstance(recipe.context, TrainingContext) and recipe.networks is recipe.built
    with pytest.raises(GanforgeError, match="without held-out data"):
        recipe.held_out()


@pytest.mark.e2e
def test_the_engine_shows_recipes_views_without_replacing_their_networks(tmp_path, add_plugin):
    """While training, a recipe calls the networks it built; while drawing grids, the moving
    average of G. Its own networks are never swapped out."""
    from ganforge.plugin import hookimpl
    from ganforge.builtins.gans.dcgan import DCGAN

    seen = {"train": set(), "grid": set()}

    class Watched(DCGAN):
        def train_step(self, images, labels):
            seen["train"].add(id(self.networks["G"]))
            return super().train_step(images, labels)

        def generate(self, inputs):
            seen["grid"].add(id(self.networks["G"]))
            return super().generate(inputs)

    class Plugin:
        @hookimpl
        def register_gans(self, register):
            register("watched-dcgan", Watched)

    add_plugin(Plugin())
    built = {}
    original = Watched.__init__

    def init(self, *args):
        original(self, *args)
        built["G"] = self.built["G"]

    Watched.__init__ = init
    ganforge.train("watched-dcgan", steps=2, batch_size=4, ema=0.9, params=TINY_DCGAN, out=tmp_path, quiet=True)
    assert seen["train"] == {id(built["G"])}
    assert len(seen["grid"]) == 1 and seen["grid"] != seen["train"]


@pytest.mark.e2e
def test_the_guides_recipe_example_runs_as_written(tmp_path, add_plugin):
    import re
    import types

    guide = (CORE.parent / "docs" / "plugins.md").read_text()
    code = next(block for block in re.findall(r"```python\n(.*?)```", guide, re.S) if "class HingeCGAN" in block)
    module = types.ModuleType("guide_example")
    exec(compile(code, "docs/plugins.md", "exec"), module.__dict__)
    add_plugin(module, name="guide-example")
    run = ganforge.train("hinge-cgan", steps=2, batch_size=8, out=tmp_path / "run", quiet=True,
                         params={"width": 4, "latent_dim": 8})
    assert run.step == 2
    assert ganforge.load_generator(tmp_path / "run").generate(2, seed=0, label=3).shape == (2, 1, 28, 28)
    assert "one of" not in ganforge.show("hinge-cgan")["types"]["params"]["width"]


def test_a_recipe_parameter_declared_resumable_may_change_on_resume_and_others_may_not(tmp_path, add_plugin):
    from ganforge.plugin import hookimpl
    from ganforge.contracts.params import Param
    from ganforge.hooks.manager import get

    class Noted(get("gans", "dcgan")):
        hparams = {**get("gans", "dcgan").hparams, "note": Param(str, "a", "a label for the run", resumable=True)}

    class Plugin:
        @hookimpl
        def register_gans(self, register):
            register("noted", Noted)

    add_plugin(Plugin(), name="noted-plugin")
    ganforge.train("noted", steps=1, batch_size=4, out=tmp_path / "run", quiet=True, params=TINY_DCGAN)
    planned = plan("noted", {"steps": 2}, resume=tmp_path / "run", params={"note": "b"})
    assert planned.params["note"] == "b"
    with pytest.raises(GanforgeError, match=r"only .*note.* can change \(got g_width\)"):
        plan("noted", {"steps": 2}, resume=tmp_path / "run", params={"g_width": 16})


def test_a_parameter_declared_as_naming_a_plugin_is_checked_when_the_run_is_planned(tmp_path, add_plugin):
    from ganforge.plugin import hookimpl
    from ganforge.contracts.params import Param
    from ganforge.hooks.manager import get

    class Encoded(get("gans", "dcgan")):
        components = {}  # nothing listed the old way: the declaration alone says it names a plugin
        hparams = {**get("gans", "dcgan").hparams,
                   "encoder": Param(str, "bag-of-words-text-encoder", "a network plugin", component="networks")}

    class Plugin:
        @hookimpl
        def register_gans(self, register):
            register("encoded", Encoded)

    add_plugin(Plugin(), name="encoded-plugin")
    with pytest.raises(UnknownComponentError, match="unknown network 'bag-of-words'"):
        plan("encoded", {}, out=tmp_path / "run", params={"encoder": "bag-of-words"})


def test_the_run_options_are_the_keywords_of_both_train_functions_that_are_not_settings():
    from ganforge.training import engine
    from ganforge.training.settings import BY_NAME, RUN_OPTIONS

    for function, extra in ((ganforge.train, {"nproc"}), (engine.train, set())):
        keywords = {name for name, p in inspect.signature(function).parameters.items()
                    if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in BY_NAME}
        assert keywords == set(RUN_OPTIONS) | extra, function


def test_no_docstring_or_page_names_a_module_path_that_moved():
    """Old paths import with a warning (ganforge/_moved.py); the code and docs name the new ones.
    docs/plugins.md names a few old ones on purpose, as what still works."""
    import re

    from ganforge._moved import MODULES

    root = Path(__file__).resolve().parents[1]
    files = [p.relative_to(root).as_posix() for folder in ("ganforge", "plugins", "exporters", "benchmarks", "docs")
             for p in (root / folder).rglob("*") if p.suffix in (".py", ".md")] + ["README.md"]
    stale = []
    for name in files:
        if name in ("ganforge/_moved.py", "docs/plugins.md"):
            continue
        for number, line in enumerate((root / name).read_text().splitlines(), 1):
            if re.search(r"^\s*(from|import)\s", line):
                continue
            stale += [f"{name}:{number}: {m.group(0)}" for m in re.finditer(r"ganforge\.[a-z_]+\b", line)
                      if m.group(0) in MODULES]
    assert not stale, stale


def test_every_benchmark_prints_the_machine_it_ran_on():
    """Processors differ in speed and in floating-point results: a figure without its machine
    (ganforge.devices.describe: the processor and the instruction sets PyTorch uses) could be
    compared with one from another machine by mistake."""
    root = Path(__file__).resolve().parents[1] / "benchmarks"
    silent = [p.name for p in root.glob("*.py") if "print(f\"machine: {describe()}" not in p.read_text()
              and "describe(args.device)" not in p.read_text()]
    assert not silent
    assert "describe(" in (root / "gpu.sh").read_text()


def test_the_machine_line_names_the_processor_and_the_kernels_pytorch_uses():
    from ganforge.devices import describe

    line = describe()
    assert f"CPU kernels: {torch.backends.cpu.get_cpu_capability()}" in line and torch.__version__ in line
