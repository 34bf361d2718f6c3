"""Declaring a parameter once: its type, default, help, the values it allows and whether
``--resume`` may change it.

The engine's settings (``ganforge.training.settings``) and every recipe's and loss's
parameters (``hparams``) are ``Param`` declarations; the command line's flags, the Python
API's keywords, config files, ``ganforge show`` and the resume rules are derived from them,
and a wrong value is one line naming what is allowed, when the run is planned.

    hparams = {
        "distance": Param(str, "l1", "cycle distance", choices=("l1", "l2")),
        "lambda_cycle": Param(float, 10.0, "weight of the cycle loss", minimum=0),
    }

A bare ``(default, help)`` tuple still declares a parameter of its default's type.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from ganforge.errors import GanforgeError, close_matches


@dataclass(frozen=True)
class Param:
    type: type  # int, float, str or bool; object: any value, unchecked
    default: object
    help: str
    resumable: bool = False  # may a resumed run change it? (only if it does not alter what is computed)
    minimum: float | None = None
    below: float | None = None  # an exclusive upper bound
    maximum: float | None = None  # an inclusive upper bound
    above: float | None = None  # an exclusive lower bound (the value must also be finite)
    choices: tuple[str, ...] | None = None
    component: str | None = None  # the plugin kind its value names ("datasets")
    flag: str | None = None  # the command-line flag, when not --name-with-dashes
    short: str | None = None  # a one-letter alias ("-b")
    aliases: tuple[str, ...] = ()  # earlier names, still read from config files and saved runs
    optional: bool = False  # may be None ("not used"), although its default is not
    many: bool = False  # a list of values (a repeatable flag; a list or "a,b" in a file)
    adds_to_default: bool = False  # with many: what is given comes on top of the default
    name: str = ""  # a recipe parameter's is its key in ``hparams``
    # another setting this one gives in another form (--ema for --ema-images): giving both is
    # refused, and giving this one counts as choosing that one (``--cfg auto`` leaves it)
    alternative_to: str | None = None

    def __iter__(self):
        """``default, help = param``: what recipe parameters were before they were declared
        (``(default, help)`` tuples), so code that unpacks them keeps working, with a warning."""
        from ganforge._moved import deprecated

        deprecated("unpacking a Param as (default, help)", "read param.default and param.help")
        return iter((self.default, self.help))

    def named(self, name: str) -> "Param":
        return self if self.name == name else dataclasses.replace(self, name=name)

    def describe(self) -> str:
        """Its type and what it allows, for ``ganforge show``: "int >= 1", "one of a, b"."""
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        kind = "any" if self.type is object else self.type.__name__
        bounds = [f">= {self.minimum:g}" if self.minimum is not None else "", f"> {self.above:g}" if self.above is not None else "",
                  f"< {self.below:g}" if self.below is not None else "",
                  f"<= {self.maximum:g}" if self.maximum is not None else ""]
        text = " ".join([kind, *filter(None, bounds)])
        return text + (" (plugin)" if self.component else "") + (", repeatable" if self.many else "")

    @property
    def option(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def check(self, value):
        """``value`` in this setting's type (strings from a command line or a file included),
        or a one-line error saying what is allowed."""
        if value is None:
            if self.default is None or self.optional:
                return None
            raise GanforgeError(f"'{self.name}' needs a value")
        if self.many:
            return self._check_many(value)
        value = value if self.type is object else coerce(self.name, value, self.type)
        if self.choices is not None and value not in self.choices:
            raise GanforgeError(f"'{self.name}' must be one of {', '.join(self.choices)}, got '{value}'")
        if self.minimum is not None and value < self.minimum:
            raise GanforgeError(f"'{self.name}' must be at least {self.minimum:g}, got {value}")
        if self.below is not None and value >= self.below:
            raise GanforgeError(f"'{self.name}' must be below {self.below:g}, got {value}")
        if self.maximum is not None and value > self.maximum:
            raise GanforgeError(f"'{self.name}' must be at most {self.maximum:g}, got {value}")
        if self.above is not None and not (self.above < value < float("inf")):  # NaN and infinity fail too
            raise GanforgeError(f"'{self.name}' must be a number above {self.above:g}, got {value}")
        return value

    def _check_many(self, value) -> list:
        items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else list(value)
        single = Param(self.type, None, self.help, choices=self.choices, minimum=self.minimum, below=self.below,
                       maximum=self.maximum, above=self.above, name=self.name)
        items = [single.check(v) for v in items]
        if self.adds_to_default:
            items = [*self.default, *items]
        return list(dict.fromkeys(items))  # in order, once each


def declared(hparams: dict) -> dict[str, Param]:
    """A recipe's or loss's ``hparams`` as named declarations (``(default, help)`` tuples read
    as parameters of their default's type; a ``None`` default takes any value)."""
    out = {}
    for key, value in hparams.items():
        if not isinstance(value, Param):
            default, text = value
            kind = object if default is None else type(default)
            value = Param(kind, default, text, optional=default is None)
        out[key] = value.named(key)
    return out


def unknown_setting(key: str, choices, where: str) -> str:
    close = close_matches(key, choices)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown setting '{key}' in {where}{hint}"


def coerce(key: str, value, kind: type):
    """``value`` as a ``kind`` (bool, int, float or str), accepting the strings a command
    line or a file gives; a one-line error otherwise."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
    else:
        try:
            if kind is int and isinstance(value, float) and not value.is_integer():
                raise ValueError
            if kind is int and isinstance(value, bool):
                raise ValueError
            if kind is int and isinstance(value, str):
                return int(value)
            if kind is str and isinstance(value, os.PathLike):  # a folder given as a Path
                return os.fspath(value)
            if kind is str and not isinstance(value, str):
                raise ValueError
            return kind(value)
        except (TypeError, ValueError):
            pass
    raise GanforgeError(f"'{key}' must be a {kind.__name__}, got {value!r}")
