"""Data: helpers for dataset plugins (``datasets``), reading and writing image files
(``images``), and the files that ship with ganforge (``files/``: 5,000 MNIST digits and the
digit classifier's weights)."""

from importlib import resources

from ganforge._moved import package_getattr


def bundled_file(name: str):
    """A file that ships with ganforge, in ``ganforge/data/files/`` (an importlib resource)."""
    return resources.files(__name__).joinpath("files", name)


__getattr__ = package_getattr(__name__)  # names of the module ganforge.data was before core v3
