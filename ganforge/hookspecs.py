"""The hooks a ganforge plugin can implement.

Every hook receives one argument, ``register``, and calls it once per component:

    register(name, target, description=None)

``name`` is what users type (``ganforge train NAME``, ``--loss NAME``); ``target`` is
the object itself or an import string ``"module:attribute"`` that ganforge imports
only when the component is used, which keeps ``ganforge list`` fast; ``description``
is one line for listings (default: the first line of the target's docstring).
"""

import pluggy

hookspec = pluggy.HookspecMarker("ganforge")
hookimpl = pluggy.HookimplMarker("ganforge")


@hookspec
def register_networks(register):
    """Register network builders: callables ``(**kwargs) -> torch.nn.Module``.

    A generator exposes ``signature`` (its inputs) and ``output_range``; see
    ``ganforge.networks``. Example::

        @hookimpl
        def register_networks(register):
            register("tiny-generator", "ganforge_tiny.nets:TinyGenerator", "A 2-layer MLP")
    """


@hookspec
def register_losses(register):
    """Register adversarial losses: callables ``(**options) -> ganforge.losses.Loss``.

    A loss turns discriminator outputs into ``d_loss(real, fake)`` and ``g_loss(fake)``.
    Example: ``register("hinge", HingeLoss, "Hinge loss of SAGAN")``.
    """


@hookspec
def register_upsamplers(register):
    """Register upsamplers: callables ``(in_channels, out_channels, kernel_size) -> nn.Module``
    that double height and width. Example:
    ``register("pixel-shuffle", PixelShuffleUp, "Sub-pixel convolution")``.
    """


@hookspec
def register_datasets(register):
    """Register datasets: callables ``(root=None, image_size=None, split="train", **options)``
    returning a ``torch.utils.data.Dataset`` of ``(image in [-1, 1] as C x H x W, label)``
    items. Example: ``register("my-faces", "ganforge_faces:FacesDataset", "Faces, 64px")``.
    """


@hookspec
def register_gans(register):
    """Register GAN recipes: subclasses of ``ganforge.recipe.Recipe``, which declare
    networks, optimizers and one training step. Example:
    ``register("wgan", "ganforge_wgan.recipe:WGAN", "Wasserstein GAN")``.
    """


@hookspec
def register_exporters(register):
    """Register exporters: subclasses of ``ganforge.exporter.Exporter``, which write a
    trained generator to a deployable artifact and load it back for ``ganforge sample``.
    Example: ``register("coreml", "ganforge_coreml:CoreMLExporter", "Core ML package")``.
    """


@hookspec
def register_extractors(register):
    """Register feature extractors for evaluation: subclasses of ``ganforge.evaluation.Extractor``
    that map images to features (FID, KID, precision/recall) and class logits (Inception Score).
    Example: ``register("clip", "ganforge_clip:ClipExtractor", "CLIP image features")``.
    """


@hookspec
def register_loggers(register):
    """Register experiment loggers: subclasses of ``ganforge.loggers.Logger``. The training
    process that writes the run (rank 0) builds each chosen logger as ``(run_dir, config,
    start)`` when a run starts or resumes at step ``start``, then calls ``metrics(step,
    values, kind)`` at every logging step (``kind`` "train") and evaluation ("eval"),
    ``image(step, name, path)`` for every sample grid, ``saved(step)`` after every
    checkpoint, and ``close()`` at the end. A
    classmethod ``unavailable()`` says why the logger cannot run (a missing package).
    Example: ``register("wandb", "ganforge_wandb:WandbLogger", "Weights & Biases")``.
    """
