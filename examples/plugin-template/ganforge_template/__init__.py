"""ganforge-template: registers one loss. Replace it with your components (see docs/plugins.md)."""

from ganforge.plugin import hookimpl


@hookimpl
def register_losses(register):
    # An import string keeps `ganforge list` fast: the module is imported on first use.
    register("squared-hinge", "ganforge_template.losses:SquaredHingeLoss", "Hinge loss with squared margins")
