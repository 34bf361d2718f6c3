"""Plugin manager and component registry.

Built-in plugins and third-party packages (entry-point group ``ganforge``) go
through the same hooks. A plugin that fails to import, implements a hook that
does not exist, or raises inside a hook is reported as one warning line and
skipped; ``GANFORGE_STRICT_PLUGINS=1`` turns such warnings into errors.

A plugin package declares the ganforge versions it supports as an ordinary
dependency (``dependencies = ["ganforge>=0.1,<0.2"]``); an installed plugin whose
range excludes this ganforge is skipped with both versions named.
``GANFORGE_LOAD_PLUGINS=a,b`` loads only those third-party plugins (empty: none),
``GANFORGE_DISABLE_PLUGINS=c`` never loads ``c``; each name may be the entry-point
name or the distribution's (``ganforge-wgan``). Built-ins always load.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import pkgutil
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field

import pluggy

from ganforge.hooks import specs as hookspecs
from ganforge.errors import DuplicateComponentError, GanforgeError, PluginError, UnknownComponentError, close_matches

# Each kind of component and the hook that registers it, read from the hook specifications
# (``register_KIND``): a new hook spec is a new kind everywhere.
KINDS = {name[len("register_"):]: name for name, hook in vars(hookspecs).items()
         if name.startswith("register_") and hasattr(hook, "ganforge_spec")}


def singular(kind: str) -> str:
    """``losses`` -> ``loss``, ``gans`` -> ``gan``: a kind's name for one component, in messages."""
    return kind[:-2] if kind.endswith("sses") else kind[:-1]


SINGULAR = {kind: singular(kind) for kind in KINDS}


def builtin_plugins() -> list[str]:
    """The built-in plugin modules, one per kind that has built-ins: ``ganforge.builtins.KIND``
    (``plugins/KIND`` and ``exporters/`` in the source tree), each registering through the hooks."""
    return [f"ganforge.builtins.{kind}" for kind in KINDS if importlib.util.find_spec(f"ganforge.builtins.{kind}")]


@dataclass
class Component:
    kind: str
    name: str
    target: object  # the object, or "module:attribute" imported on first use
    plugin: str
    description: str = ""

    def load(self):
        """The registered object, importing it if it was registered as a string."""
        if isinstance(self.target, str):
            try:
                obj = pkgutil.resolve_name(self.target)
            except Exception as exc:  # a broken plugin must not look like a ganforge bug
                raise PluginError(
                    f"{SINGULAR[self.kind]} '{self.name}' from plugin '{self.plugin}' "
                    f"could not be loaded from {self.target!r}: {type(exc).__name__}: {exc}"
                ) from exc
            self.target = obj
        return self.target


@dataclass
class PluginInfo:
    """A plugin as ``ganforge plugins`` shows it, including one that failed to load."""

    name: str  # the entry-point name (or the module, for built-ins)
    version: str
    builtin: bool
    distribution: str = ""  # what pip knows it as, e.g. ganforge-wgan
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)
    loaded: bool = True  # False: skipped whole (import error, wrong ganforge version, unknown hook)
    problems: list[str] = field(default_factory=list)  # why it was skipped, or what of it was


class Registry:
    """Components by kind and name, with the plugin that registered each."""

    def __init__(self):
        self.components: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}

    def add(self, component: Component) -> None:
        existing = self.components[component.kind].get(component.name)
        if existing is not None:
            raise DuplicateComponentError(f"the name is taken by plugin '{existing.plugin}' (the first one keeps it)")
        self.components[component.kind][component.name] = component

    def names(self, kind: str) -> list[str]:
        return sorted(self.components[kind])

    def component(self, kind: str, name: str) -> Component:
        if kind not in self.components:
            raise UnknownComponentError(unknown_name("kind", kind, list(self.components)))
        try:
            return self.components[kind][name]
        except KeyError:
            raise UnknownComponentError(unknown_name(SINGULAR[kind], name, self.names(kind))) from None

    def get(self, kind: str, name: str):
        """The registered object (class or function) for ``name``."""
        return self.component(kind, name).load()


def source_file(obj) -> str:
    """The file a component is defined in, or "" when it has none."""
    import inspect

    try:
        return inspect.getsourcefile(obj) or ""
    except TypeError:
        return ""


def unknown_name(what: str, name: str, choices: list[str]) -> str:
    """"unknown gan 'dcgn'; did you mean dcgan?": one line, with the close matches or the choices."""
    close = close_matches(name, choices)
    hint = f"did you mean {', '.join(close)}?" if close else f"choose from: {', '.join(sorted(choices)) or 'none registered'}"
    return f"unknown {what} '{name}'; {hint}"


def strict() -> bool:
    return os.environ.get("GANFORGE_STRICT_PLUGINS", "") not in ("", "0", "false", "no")


def warn(message: str) -> None:
    """Report a broken plugin as one line, or fail in strict mode."""
    if strict():
        raise PluginError(message)
    print(f"ganforge: warning: {message}", file=sys.stderr)


class PluginSystem:
    """The pluggy manager plus the registry built from its hooks."""

    def __init__(self):
        self.pm = pluggy.PluginManager("ganforge")
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self._registry: Registry | None = None
        self._unloadable: set[tuple[str, str]] = set()

    def add(self, module, name: str, version: str, builtin: bool, distribution: str = "") -> None:
        """Register one plugin module; a plugin with unknown hooks is skipped with a warning."""
        try:
            self.pm.register(module, name=name)
            self._check_pending(name)
        except Exception as exc:
            if self.pm.is_registered(module):
                self.pm.unregister(module)
            self.skipped(PluginInfo(name, version, builtin, distribution), f"was skipped: {_one_line(exc)}")
            return
        hooks = sorted(impl_name for impl_name in KINDS.values() if _implements(module, impl_name, self.pm))
        self.info[name] = PluginInfo(name, version, builtin, distribution, hooks)
        self._registry = None

    def skipped(self, info: PluginInfo, why: str) -> None:
        """Keep a plugin that could not load in the listing, with why, and warn once."""
        info.loaded = False
        info.problems.append(why)
        self.info[info.name] = info
        warn(f"plugin '{info.name}' {why}")

    def problem(self, plugin: str, what: str) -> None:
        """Part of a loaded plugin was skipped: warn, and show it in the listing."""
        if plugin in self.info:
            self.info[plugin].problems.append(what)
        warn(f"plugin '{plugin}' {what}")

    def _check_pending(self, name: str) -> None:
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"{exc} (is a hook name misspelled? hooks: {', '.join(KINDS.values())})") from None

    def loaded(self, kind: str) -> list[tuple[str, object]]:
        """Every component of ``kind`` that imports, by name. One that does not (a broken plugin)
        is reported once, shown by ``ganforge plugins``, and left out: it breaks nothing else."""
        found = []
        for name in self.registry.names(kind):
            component = self.registry.component(kind, name)
            try:
                found.append((name, component.load()))
            except PluginError as exc:
                self.unloadable(component, exc)
        return found

    def unloadable(self, component: Component, exc: Exception) -> None:
        key = (component.kind, component.name)
        if key not in self._unloadable:
            self._unloadable.add(key)
            self.problem(component.plugin, _one_line(exc))

    def resolve_all(self) -> dict[str, dict[str, str]]:
        """Import every registered component (``ganforge plugins`` does, so that a broken import
        string shows there, not later in a command that happens to need it); returns each
        plugin's components' source files, ``{plugin: {"kind/name": file}}``."""
        sources: dict[str, dict[str, str]] = {}
        for kind in KINDS:
            for name, obj in self.loaded(kind):
                component = self.registry.component(kind, name)
                sources.setdefault(component.plugin, {})[f"{kind}/{name}"] = source_file(obj)
        return sources

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = self._build_registry()
        return self._registry

    def _build_registry(self) -> Registry:
        registry = Registry()
        for info in self.info.values():
            info.registered = {}
        for kind, hook_name in KINDS.items():
            caller = getattr(self.pm.hook, hook_name)
            # In registration order (built-ins first), so their names win over duplicates.
            for impl in caller.get_hookimpls():
                plugin = impl.plugin_name
                staged: list[Component] = []

                def register(name, target, description=None, _plugin=plugin, _staged=staged, _kind=kind):
                    if not isinstance(name, str) or not name:
                        raise PluginError(f"component names must be non-empty strings, got {name!r}")
                    _staged.append(Component(_kind, name, target, _plugin, description or _doc_line(target)))

                try:
                    impl.function(register=register)
                except Exception as exc:  # nothing this hook call registered is kept
                    self.problem(plugin, f"failed in {hook_name}: {_one_line(exc)}")
                    continue
                added = []
                for component in staged:  # a clash drops that one component, not the others
                    try:
                        if strict():
                            component.load()  # strict mode: every import string must resolve now
                        registry.add(component)
                    except GanforgeError as exc:
                        self.problem(plugin, f"registered {SINGULAR[kind]} '{component.name}', which was skipped: "
                                             f"{_one_line(exc)}")
                        continue
                    added.append(component.name)
                if plugin in self.info:
                    self.info[plugin].registered[kind] = added
        return registry


def _implements(module, hook_name: str, pm: pluggy.PluginManager) -> bool:
    return any(impl.plugin is module for impl in getattr(pm.hook, hook_name).get_hookimpls())


def _doc_line(target) -> str:
    doc = "" if isinstance(target, str) else (getattr(target, "__doc__", None) or "")
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, GanforgeError) else text


def entry_points():
    """The installed entry points of the ``ganforge`` group (third-party plugins)."""
    return importlib.metadata.entry_points(group="ganforge")


def _names_from_env(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {_normalized(name.strip()) for name in value.split(",") if name.strip()}


def required_ganforge(dist):
    """The ganforge version range a plugin's distribution requires, or None if it names none."""
    from packaging.requirements import InvalidRequirement, Requirement

    for line in (dist.requires or []) if dist is not None else []:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.name.lower() == "ganforge" and not requirement.marker:
            return requirement.specifier
    return None


_SYSTEM: PluginSystem | None = None


def load_plugins() -> PluginSystem:
    """Load built-in plugins and every installed ``ganforge`` entry point, once."""
    global _SYSTEM
    if _SYSTEM is not None:
        return _SYSTEM
    system = PluginSystem()
    from ganforge.version import __version__

    for module_name in builtin_plugins():
        system.add(importlib.import_module(module_name), module_name, __version__, builtin=True)
    allowed = _names_from_env("GANFORGE_LOAD_PLUGINS")
    blocked = _names_from_env("GANFORGE_DISABLE_PLUGINS") or set()
    for entry_point in entry_points():
        version = entry_point.dist.version if entry_point.dist else "unknown"
        distribution = distribution_name(entry_point.dist)
        known_as = {_normalized(entry_point.name), _normalized(distribution)} - {""}
        if (allowed is not None and not known_as & allowed) or known_as & blocked:
            continue
        info = PluginInfo(entry_point.name, version, False, distribution)
        needed = required_ganforge(entry_point.dist)
        if needed is not None and not needed.contains(__version__, prereleases=True):
            system.skipped(info, f"{version} needs ganforge{needed} but this is ganforge {__version__}; "
                                 "it was skipped (upgrade one of them)")
            continue
        try:
            module = entry_point.load()
        except Exception as exc:
            system.skipped(info, f"failed to import: {_one_line(exc)}")
            continue
        system.add(module, entry_point.name, version, builtin=False, distribution=distribution)
    _SYSTEM = system
    return system


def distribution_name(dist) -> str:
    """The name pip knows a plugin's distribution by (``ganforge-wgan``), or "" if unknown."""
    return (dist.metadata["Name"] or "") if dist is not None else ""


def _normalized(name: str) -> str:
    """Package names compare as pip compares them: case, '-', '_' and '.' do not matter."""
    return name.lower().replace("_", "-").replace(".", "-")


def reset_plugins() -> None:
    """Forget loaded plugins (tests use it after installing one)."""
    global _SYSTEM
    _SYSTEM = None


def registry() -> Registry:
    return load_plugins().registry


def loaded(kind: str) -> list[tuple[str, object]]:
    """Every installed component of ``kind`` that imports (see ``PluginSystem.loaded``)."""
    return load_plugins().loaded(kind)


# Sets that record every component looked up while they are open (see ``recording``).
_RECORDERS: list[set] = []


def get(kind: str, name: str):
    """The component ``name`` of ``kind`` (e.g. ``get("upsamplers", "resize-conv")``): how a
    plugin's network finds another plugin's component by the name a user gave."""
    found = registry().get(kind, name)
    for used in _RECORDERS:
        used.add((kind, name))
    return found


@contextmanager
def recording():
    """Collect the ``(kind, name)`` of every component looked up inside the block, so that a
    checkpoint can name each plugin its network was built from (an upsampler inside a network)."""
    used: set = set()
    _RECORDERS.append(used)
    try:
        yield used
    finally:
        _RECORDERS.remove(used)
