"""ganforge-shapes: an example plugin package for the three contracts a plugin most often
needs beyond a recipe.

- ``ra-least-squares``: a relativistic loss (``ganforge train dcgan --loss ra-least-squares``),
  which needs D's scores on real images in G's step too.
- ``shapes-folder``: a dataset read from disk item by item (``--data-root``), with random
  flips that a resumed run repeats exactly; ``python -m ganforge_shapes FOLDER`` draws one.
- ``exported-program``: an exporter writing a ``torch.export`` program (``.ep``), verified,
  sampled and benchmarked by ganforge like the built-in formats.
"""

from ganforge.plugin import hookimpl


@hookimpl
def register_losses(register):
    register("ra-least-squares", "ganforge_shapes.loss:RelativisticLeastSquares",
             "Relativistic average least-squares loss (RaLSGAN, Jolicoeur-Martineau 2018)")


@hookimpl
def register_datasets(register):
    register("shapes-folder", "ganforge_shapes.dataset:ShapesFolder",
             "Coloured shapes read from PNG files in --data-root (python -m ganforge_shapes FOLDER draws them)")


@hookimpl
def register_exporters(register):
    register("exported-program", "ganforge_shapes.exporter:ExportedProgramExporter",
             "torch.export program (.ep), run by PyTorch without the generator's Python code")
