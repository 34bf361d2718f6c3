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

    A generator also has ``signature`` (its inputs: a list of dicts with ``name``, ``shape``,
    ``dtype`` and ``distribution``, one of ``normal``, ``categorical`` with ``num_classes``
    (an int64 tensor of shape ``(N,)``, whatever its name: ``--label`` fixes it), ``image`` or
    ``text``) and ``output_range``; helpers are in ``ganforge.plugin``. The
    keyword arguments must be JSON-serializable: ``G.ckpt`` keeps them, so the file alone
    rebuilds the network. A network that takes another plugin by name (an upsampler) looks it
    up with ``ganforge.plugin.get(kind, name)``, which also records it in the
    checkpoint, so that loading without that plugin names the package to install.
    Example: ``register("tiny-generator", "ganforge_tiny.nets:TinyGenerator", "A 2-layer MLP")``.
    """


@hookspec
def register_losses(register):
    """Register adversarial losses: callables ``(real_label=1.0, **options) -> ganforge.plugin.Loss``.

    A loss implements ``d_loss(real, fake)`` and ``g_loss(fake, real=None)`` on D's raw scores
    (higher means "more real"), each returning a scalar to minimize. A loss that compares fakes
    with reals in G's loss (relativistic) sets ``uses_real_scores = True`` and then gets ``real``,
    D's scores on the real batch without gradient; otherwise ``real`` is not passed. Every
    call depends on its arguments alone (no state kept between calls). A loss that regularizes
    D also implements ``penalty(critic, real_images, fake_images)``: every recipe adds it to D's
    loss (``Recipe.d_objective``, which the logged ``d_loss`` includes), with the fakes
    detached. ``bound`` (default 1e6) is the magnitude past which a logged loss means the run
    diverged: the engine stops it as it stops a run whose losses are NaN, keeping the last good
    checkpoint (a loss whose healthy values can be larger declares a larger bound). A loss's own
    options are declared in ``hparams`` (``{"gp_weight": Param(float,
    10.0, "...")}``): they become parameters of every recipe that uses the loss (``-p
    gp_weight=5``, ``--gp-weight 5``) and reach the constructor as keywords.
    Example: ``register("hinge", "ganforge_hinge:HingeLoss", "Hinge loss of SAGAN")``.
    """


@hookspec
def register_upsamplers(register):
    """Register upsamplers: callables ``(in_channels, out_channels, kernel_size) -> nn.Module``
    that double height and width. Every convolutional built-in generator takes one by name
    (``--upsampler NAME``).
    Example: ``register("pixel-shuffle", PixelShuffleUp, "Sub-pixel convolution")``.
    """


@hookspec
def register_datasets(register):
    """Register datasets: callables ``(root=None, image_size=None, split="train")`` returning a
    ``torch.utils.data.Dataset`` of ``(image, label)`` items: images ``C x H x W`` in [-1, 1],
    integer labels (0 when there are none), and attributes ``channels``, ``image_size`` and
    ``num_classes``.

    ``image_size=None`` asks for the data's own size, which is what a recipe trains at
    unless the user sets ``image_size``; a number asks for that size, and a dataset that
    cannot resize says so by keeping its own ``image_size`` (the run then stops with one
    line). ``split`` is ``"train"`` or ``"test"`` (held-out data for evaluation). ganforge
    passes these three keywords; options of a dataset's own take defaults (the built-in
    digit datasets take ``channels=None``, 3 for RGB copies). A dataset that reads image
    files may also take ``background`` and ``square`` (the ``--background`` and ``--square``
    settings, passed only to datasets that take them), and may return the
    ``PixelDataset`` that ``open_prepared(prepare_images(folder, size))`` gives: uint8 pixels
    decoded once, which train without a DataLoader, and a ``report`` of the files found,
    skipped and converted, which the run prints in one line and keeps as ``data.json``.
    A dataset of aligned pairs holds each pair stacked on the channel axis, A's channels then
    B's, marked by ``as_pairs(dataset, direction)`` (``paired``, ``direction``; ``channels``
    is one image's), and may take ``direction`` (the ``--direction`` setting).
    Example: ``register("my-faces", "ganforge_faces:faces", "Faces from --data-root")``.
    """


@hookspec
def register_gans(register):
    """Register GAN recipes: subclasses of ``ganforge.plugin.Recipe`` (or ``AdversarialRecipe``)
    built as ``Recipe(hp, data, context)``: ``hp`` a namespace of the run's parameters
    (``self.hp.lr``), ``data`` the dataset (``channels``, ``image_size``, ``num_classes``),
    ``context`` a ``TrainingContext``. A recipe declares ``hparams`` (``{name: Param(...)}``, or
    ``(default, help)``; a parameter named ``image_size`` is filled with the dataset's size) and
    ``train_defaults``, and implements ``build_networks() -> dict`` (the generator under ``"G"``,
    each network built with ``self.network(name, **kwargs)``, which records how ``G.ckpt``
    rebuilds it) and ``train_step(images, labels) -> dict`` (detached scalars to log), and may
    override ``build_optimizers()``, ``schedule(step, total)`` and ``ema_half_life(step, total)``
    (a scheduled moving average), and sets ``gradient_penalties = True`` when D's loss
    differentiates D's gradient (no DDP under ``--nproc``); a recipe that weighs R1/R2 itself
    overrides ``penalty_weights()`` and names the parameters in ``own_penalty_weights`` (with
    ``--r1``/``--r2`` too, the run is refused). D's step scores real and fake images prepared
    by ``with self.scoring(real, fake) as (real, fake)`` and passes them to ``d_objective``,
    so that R1/R2 share the loss's forward pass. A conditional
    ``AdversarialRecipe`` sets ``conditional = True`` and then calls ``G(z, labels)`` and
    ``D(images, labels)``. Bad input is reported by raising ``GanforgeError`` (one line for the
    user). ``ganforge.testing.check_recipe`` and ``check_resume`` check a recipe.
    Example: ``register("wgan", "ganforge_wgan.recipe:WGAN", "Wasserstein GAN")``.
    """


@hookspec
def register_exporters(register):
    """Register exporters: subclasses of ``ganforge.plugin.Exporter``, with ``name``,
    ``suffix`` (artifacts are matched to exporters by how their file name ends),
    ``precisions``, ``devices``, ``native_code`` (True unless loading an artifact can run no code
    from it: such artifacts load only when trusted), ``unavailable(device)``,
    ``export(generator, path, *, precision, max_batch, device, **options)`` and
    ``load(path, device) -> (forward, meta)``.

    ``generator`` is a ``ganforge.plugin.Generator`` (the torch module is
    ``generator.module``, its metadata ``generator.meta``). ``meta`` must hold what
    ``ganforge.plugin.artifact_meta(generator, exporter, precision)`` returned at export
    time (store it with ``dump_meta``): at least ``signature`` and ``output_range``.
    ``forward(*tensors)`` takes and returns torch tensors on ``device``.
    Example: ``register("coreml", "ganforge_coreml:CoreMLExporter", "Core ML package")``.
    """


@hookspec
def register_extractors(register):
    """Register feature extractors for ``ganforge eval``: subclasses of
    ``ganforge.plugin.Extractor``, built as ``(weights=None, device="cpu")``, with
    ``num_features``, ``num_classes``, ``sha256`` (of the weights), ``channels`` and
    ``domain`` (what images it was made for, shown when they do not fit the data) and
    ``__call__(images) -> (features, logits)``.
    Example: ``register("clip", "ganforge_clip:ClipExtractor", "CLIP image features")``.
    """


@hookspec
def register_loggers(register):
    """Register experiment loggers: subclasses of ``ganforge.plugin.Logger``. The training
    process that writes the run (rank 0) builds each chosen logger as ``(run_dir, config,
    start)`` when a run starts (``start`` 0) or resumes at step ``start``, then calls
    ``metrics(step, values, kind)`` at every logging step (``kind`` "train") and evaluation
    ("eval"), ``image(step, name, path)`` for every sample grid, ``saved(step)`` after every
    checkpoint, and ``close()`` at the end. A resumed logger receives only steps after
    ``start``; what an interrupted process logged past its last checkpoint is its own to drop. A classmethod ``unavailable()`` says why the
    logger cannot run (a missing package).
    Example: ``register("wandb", "ganforge_wandb:WandbLogger", "Weights & Biases")``.
    """


@hookspec
def register_augmentations(register):
    """Register augmentations: subclasses of ``ganforge.plugin.Augmentation``, built as
    ``(options="", strength=1.0)`` from ``--augment NAME[:OPTIONS]``, and called as
    ``augmentation(images, draw)`` on every batch D sees, real and fake alike, in D's step and
    in G's. It returns images of the same shape in [-1, 1], differentiable with respect to its
    input, unchanged at strength 0, and draws every random number through ``draw(n, fn)``
    (``fn(m)`` gives ``m`` rows; a distributed run draws the global batch, keeping its rows).
    An adaptive one also implements ``observe(real_scores, stats)`` (D's raw scores on the
    augmented real batch of each D step, and the run's statistics channel: ``stats.sum(tensor)``
    sums over every process of a distributed run, ``stats.report(name, value)`` logs a figure)
    and ``state_dict()`` / ``load_state_dict(tensors)`` (kept in ``state.ckpt``).
    Example: ``register("flip", "ganforge_flip:RandomFlip", "Horizontal flips before D")``.
    """
