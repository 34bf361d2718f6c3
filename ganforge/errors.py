"""Errors a user can act on. The CLI prints them as one line and exits non-zero."""


class GanforgeError(Exception):
    """A problem with the user's input or environment, not a bug in ganforge."""


class UnknownComponentError(GanforgeError, KeyError):
    def __str__(self):  # KeyError would otherwise wrap the message in quotes
        return self.args[0]


class DuplicateComponentError(GanforgeError):
    pass


class PluginError(GanforgeError):
    pass


class CheckpointError(GanforgeError):
    pass


def close_matches(word: str, choices, cutoff: float = 0.6) -> list[str]:
    """The names most like ``word``, for "did you mean": the one helper every suggestion uses."""
    import difflib

    return difflib.get_close_matches(str(word), [str(c) for c in choices], n=3, cutoff=cutoff)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none): what a
    one-line error shows of a library's multi-line failure."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
