"""Which plugins a file is made of: the provenance a checkpoint records (each component's
plugin, distribution and version), and the one line that names a recorded component missing
here. A file is data, never a source of instructions: what it says is shown, quoted only
when it looks like a package name, and nothing is installed because of it."""

from __future__ import annotations

import re

from ganforge.hooks.manager import SINGULAR, load_plugins


def provenance(components) -> list[dict]:
    """Where each ``(kind, name)`` comes from: plugin, its distribution and version, for
    checkpoint metadata (so a missing plugin can be named with the package to install)."""
    system = load_plugins()
    out = []
    for kind, name in sorted(set(components)):
        plugin = system.registry.component(kind, name).plugin
        info = system.info.get(plugin)
        out.append({"kind": kind, "name": name, "plugin": plugin, "builtin": bool(info and info.builtin),
                    "distribution": info.distribution if info else "", "version": info.version if info else ""})
    return out


# What a distribution name and a version may look like (PEP 508 names, PEP 440 versions): a file
# naming anything else is not quoted at all.
_PACKAGE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$")
_VERSION = re.compile(r"^[0-9][0-9A-Za-z.+!-]{0,30}$")


def missing_plugin(components) -> str | None:
    """One line naming the first component a file records that is not registered now; None
    when all are there. It reports what the file says (plugin and distribution names, when they
    look like package names) and gives no instruction: a file is no source of what to install."""
    names = load_plugins().registry.components
    for c in components if isinstance(components, list) else []:
        if not isinstance(c, dict) or c.get("kind") not in names or c.get("name") in names[c["kind"]]:
            continue
        what = f"{SINGULAR[c['kind']]} '{_shown(c.get('name'))}'"
        plugin = c.get("plugin") if isinstance(c.get("plugin"), str) and _PACKAGE.match(c.get("plugin", "")) else None
        dist = c.get("distribution") if isinstance(c.get("distribution"), str) and _PACKAGE.match(
            c.get("distribution", "")) else None
        version = c.get("version") if isinstance(c.get("version"), str) and _VERSION.match(c.get("version", "")) else None
        origin = "".join([f" from plugin '{plugin}'" if plugin else "",
                          f" (distribution {dist}{' ' + version if version else ''})" if dist else ""])
        return (f"this file says it needs {what}{origin}, which is not installed here; install that plugin if you "
                "know and trust it")
    return None


def _shown(value) -> str:
    """A name read from a file, as safe to print in one line."""
    text = str(value)
    return text[:60] if _PACKAGE.match(text) else repr(text[:60])
