"""The Python API; every CLI command is a thin layer over one of these functions.

Heavy modules (torch) are imported inside the functions so that ``import
ganforge`` and ``ganforge --help`` stay fast.
"""

from __future__ import annotations

from pathlib import Path

from ganforge import serving
from ganforge.contracts.exporter import EXPORT_MAX_BATCH


def train(recipe_name: str | None = None, *, nproc: int | None = None, out=None, resume=None, overwrite: bool = False,
          params: dict | None = None, config=None, device: str | None = "auto", quiet: bool = False,
          started: float | None = None, **settings):
    """Train a GAN recipe and return its ``RunResult`` (``run_dir``, ``step``, ...).

    ``settings`` are the engine settings, one keyword each (``steps``, ``batch_size``,
    ``precision``, ... : ``ganforge.training.settings.SETTINGS``, also listed by ``ganforge show
    NAME``); ``params`` the recipe's hyperparameters; ``config`` a TOML or JSON file of
    either. ``resume=RUN_DIR`` continues a run (of the recipe it holds when ``recipe_name`` is
    left out). ``nproc=N`` trains in N processes on this
    machine through torchrun (DistributedDataParallel; ``batch_size`` stays the global
    batch) and returns rank 0's result. ``overwrite=True`` clears an ``out`` folder that
    holds anything else; without it such a folder is refused. A time budget (``minutes``)
    counts from this call, or from ``started`` (a ``time.time()`` value: the command line gives
    its own start, so that ``ganforge train --minutes`` counts the imports before the call).

    >>> run = ganforge.train("dcgan", steps=200, out="runs/demo")
    >>> run.run_dir / "G.ckpt"
    """
    if recipe_name is None:
        from ganforge.errors import GanforgeError

        if resume is None:
            raise GanforgeError("name the recipe to train (ganforge list gans), or the run to continue (resume=)")
        from ganforge.artifacts.rundir import read_run_config

        recipe_name = read_run_config(resume)["recipe"]
    options = dict(out=out, resume=resume, overwrite=overwrite, params=params, config=config, device=device,
                   quiet=quiet, started=started, **settings)
    if nproc is not None and nproc > 1:
        from ganforge.training.launcher import launch

        return launch(recipe_name, nproc, options)
    from ganforge.training.engine import train as _train

    return _train(recipe_name, **options)


def _settings_signature(function):
    """Name every engine setting as a keyword of ``function`` in its signature (``help()``,
    editors and documentation see them), from their single declaration."""
    import inspect

    from ganforge.training.settings import SETTINGS

    signature = inspect.signature(function)
    fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    declared = [inspect.Parameter(s.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                  annotation=f"{s.type.__name__} | None") for s in SETTINGS]
    function.__signature__ = signature.replace(parameters=fixed + declared)
    return function


_settings_signature(train)


def load_generator(path, device="cpu", trust: bool = False):
    """A callable generator from a ``G.ckpt`` file, a run directory or an exported artifact.
    A native-code artifact (``.pt2``, a TensorRT engine) that this ganforge did not export
    loads only with ``trust=True`` (or after ``ganforge.trust(path)``): it runs its own code."""
    from ganforge.artifacts.loading import load_generator as _load

    return _load(path, device=device, trust=trust)


def trust(*paths, forget: bool = False) -> list[dict]:
    """Record native-code artifacts (``.pt2``, TensorRT engines) as trusted, as they are now
    (their SHA-256), so that they load without ``trust=True``; ``forget=True`` removes them.
    Returns every trusted artifact (``path``, ``sha256``, ``how``, ``at``)."""
    from ganforge.artifacts import trust as store
    from ganforge.errors import GanforgeError

    for path in paths:
        if not forget and not Path(path).is_file():
            raise GanforgeError(f"no such file: '{path}'")
        store.forget(path) if forget else store.record(path, "trusted")
    return [{"sha256": sha, **entry} for sha, entry in sorted(store.records().items(), key=lambda i: i[1]["path"])]


def load_network(path, device="cpu"):
    """Any network of a run (``D.ckpt`` ...) as an ``nn.Module`` in eval mode."""
    from ganforge.artifacts.loading import load_network as _load

    return _load(path, device=device)


def sample(path, n: int = 64, *, out=None, folder=None, npz=None, seed: int | None = None,
           device: str = "cpu", per_class: int | None = None, force: bool = False, scale: int | None = None,
           trust: bool = False, **fixed) -> dict:
    """Draw ``n`` images and write them as a grid PNG (``out``), one PNG each (``folder``)
    and/or an array file (``npz``, key ``x``: uint8 N x C x H x W). Returns the paths.

    Inputs given by name are fixed (``label=7`` draws sevens from a conditional GAN);
    ``per_class=N`` draws N of every class, one grid row per class. The grid is enlarged
    ``scale`` times (default: small images to at least 80 pixels). Existing files are
    replaced only with ``force``."""
    from ganforge.data import images as im
    from ganforge.errors import GanforgeError

    if n < 1:
        raise GanforgeError(f"the number of images must be at least 1, got {n}")
    if out is None and folder is None and npz is None:
        out = "samples.png"
    G = load_generator(path, device=device, trust=trust)
    columns, rows = None, None
    count = n if per_class is None else per_class * next(
        (s["num_classes"] for s in G.signature if s["distribution"] == "categorical"), 1)
    im.refuse_overwrite([p for p in (out, npz) if p is not None] +
                        (im.each_path(folder, count) if folder is not None else []), force)
    if per_class is not None:
        pictures = G.generate_per_class(per_class, seed=seed)
        columns, rows = per_class, [str(c) for c in range(count // per_class)]
    else:
        pictures = G.generate(n, seed=seed, **fixed)
    written = {}
    if out is not None:
        written["grid"] = im.save_grid(pictures, G.output_range, out, nrow=columns, scale=scale, row_labels=rows)
    if folder is not None:
        written["dir"] = Path(folder)
        im.save_each(pictures, G.output_range, folder)
    if npz is not None:
        written["npz"] = im.save_npz(pictures, G.output_range, npz)
    return written


def translate(path, source, out=None, *, direction: str = "AtoB", device: str = "cpu", batch_size: int = 16,
              force: bool = False, trust: bool = False, compare: bool = False, pairs: bool = False, targets=None,
              progress="auto"):
    """Translate an image file or a folder of images with an image-to-image generator (pix2pix,
    CycleGAN, DiscoGAN): ``path`` is a run directory, a checkpoint or an artifact;
    ``direction`` BtoA uses the run's ``G_BA.ckpt``. Fully convolutional generators translate
    each image at its own size. ``compare`` writes input | output (| target) pages with an
    index; the target is the other half of each file with ``pairs`` or the file of the same
    name in ``targets``. Returns a ``Translated`` (``written``, ``skipped``, ``summary()``);
    see ``ganforge.tools.translate``."""
    from ganforge.tools.translate import translate as _translate

    return _translate(path, source, out, direction=direction, device=device, batch_size=batch_size, force=force,
                      trust=trust, compare=compare, pairs=pairs, targets=targets, progress=progress)


def export(checkpoint, exporter: str = "onnx", out=None, *, precision: str = "fp32", device: str | None = None,
           max_batch: int = EXPORT_MAX_BATCH, verify: bool = True, triton=None, **options):
    """Export the generator in ``checkpoint`` (``G.ckpt`` or a run directory) with the exporter
    plugin ``exporter`` (onnx, tensorrt, aoti ...), verified against PyTorch; returns an
    ``ExportResult`` with the artifact's path and the measured errors.

    ``triton=REPO`` writes a Triton Inference Server model repository instead
    (``REPO/NAME/config.pbtxt`` with dynamic batching and ``REPO/NAME/1/model.onnx``, or
    ``model.plan`` for tensorrt; NAME is the recipe's) and returns the model's folder.

    >>> ganforge.export("runs/dcgan", "onnx").path
    PosixPath('runs/dcgan/G.onnx')
    >>> ganforge.export("runs/dcgan", triton="models")
    PosixPath('models/dcgan')
    """
    from ganforge.artifacts.export import export as _export
    from ganforge.contracts.exporter import get_exporter

    if triton is not None:
        from ganforge.serving.triton import export_repository

        return export_repository(checkpoint, triton, exporter=exporter, max_batch=max_batch, device=device)

    if device is None:
        device = "cpu" if "cpu" in get_exporter(exporter).devices else "cuda"
    return _export(checkpoint, exporter, out, precision=precision, device=device, max_batch=max_batch, verify=verify,
                   **options)


def prepare(folder, size: int = 64, *, channels: int = 3, background: str = "white", square: str = "crop",
            out=None, workers: int | None = None, force: bool = False, progress="auto") -> dict:
    """Decode and resize every image under ``folder`` once into a prepared store (in ganforge's
    cache unless ``out`` is given), which ``--dataset image-folder --data-root`` trains from
    without decoding again. Returns the store's ``store.json`` (images used, every file that
    cannot be used with the reason, conversions) with ``store`` (its folder) and ``summary``
    (one line) added. An unchanged folder is not prepared twice (``force`` does)."""
    from ganforge.data import prepared

    store = prepared.prepare_images(folder, size, channels=channels, background=background, square=square, out=out,
                             workers=workers, progress=progress, force=force)
    manifest = prepared.read_manifest(store)
    return {**manifest, "store": str(store), "summary": prepared.summary(manifest)}


def serve(path, *, name: str | None = None, host: str = "127.0.0.1", port: int = 8000, device: str = "cpu",
          max_batch: int = serving.MAX_BATCH, max_delay_ms: float = serving.MAX_DELAY_MS, trust: bool = False,
          limits=None, announce=print, backend: str = "given") -> None:
    """Serve the generator in ``path`` (a run, ``G.ckpt`` or an exported artifact) over HTTP until
    SIGTERM or Ctrl-C, which finish the requests in flight first: the Open Inference Protocol
    (``/v2/models/NAME/infer``, what Triton and KServe speak; ``tritonclient`` works against it)
    with concurrent requests batched into one forward pass of up to ``max_batch`` images
    (the first waiting at most ``max_delay_ms`` for others; 0: a batch is what queued during the
    previous forward pass), ``/api/generate`` for PNG or npz images, ``/api/interpolate`` for
    one image between two seeds' latent codes, ``/api/describe``, ``/metrics`` and the playground
    page at ``/``. It listens on 127.0.0.1 unless ``host`` says otherwise.
    ``backend="auto"`` serves the fastest of the checkpoint and the artifacts exported beside
    it, timed at ``max_batch`` images (``"given"``: the file ``path`` names)."""
    from ganforge.errors import GanforgeError
    from ganforge.serving.app import Limits, run

    if max_batch < 1 or max_delay_ms < 0:
        raise GanforgeError("max_batch must be at least 1 and max_delay_ms at least 0")
    if backend == "auto":
        from ganforge.tools.bench import fastest

        G, rows = fastest(path, max_batch, device=device, trust=trust)
        for row in rows:
            timed = (f"{row['p50_ms']:.1f} ms at batch {max_batch}" if "p50_ms" in row
                     else f"not used: {row['skipped']}")
            announce(f"backend auto: {row['backend']} ({Path(row['file']).name}) {timed}")
    elif backend == "given":
        G = load_generator(path, device=device, trust=trust)
    else:
        raise GanforgeError(f"backend '{backend}' is not auto or given")
    run(G, name or G.meta.get("recipe") or "generator", str(path), host=host, port=port, max_batch=max_batch,
        max_delay_ms=max_delay_ms, limits=limits or Limits(), announce=announce)


def bench(path, backends=None, batch_sizes=(1, 64, 256), *, device: str | None = None, repeats: int | None = None,
          progress=None, trust: bool = False) -> list[dict]:
    """Time the generator in ``path`` (a ``G.ckpt`` or an exported artifact) on each backend
    and batch size; one dict per row (latency p50/p95 in ms, images/s, speed-up over eager),
    with a ``skipped`` reason for backends that cannot run here."""
    from ganforge.tools.bench import bench as _bench

    return _bench(path, backends, batch_sizes, device=device, repeats=repeats, progress=progress, trust=trust)


def evaluate(path, *, extractor: str | None = None, weights=None, n: int = 5000, dataset: str | None = None,
             data_root=None, real_split: str = "train", seed: int = 0, device: str = "cpu", progress=None,
             save: bool = True, trust: bool = False) -> dict:
    """FID, KID, Inception Score and precision/recall of the generator in ``path`` (a run, a
    ``G.ckpt`` or an exported artifact) against a real dataset split, plus class accuracy for
    class-conditional generators; see ``ganforge.evaluation.evaluate``."""
    from ganforge.evaluation.metrics import evaluate as _evaluate
    from ganforge.training.settings import BY_NAME

    return _evaluate(path, extractor=extractor, weights=weights, n=n, dataset=dataset, data_root=data_root,
                     real_split=real_split, seed=seed, device=device, progress=progress, save=save,
                     default_dataset=BY_NAME["dataset"].default, trust=trust)


def interpolate(path, out="interpolation.png", **options):
    """Latent walks as a grid (and ``gif=PATH``); see ``ganforge.tools.latent.interpolate``."""
    from ganforge.tools.latent import interpolate as _interpolate

    return _interpolate(path, out, **options)


def arithmetic(path, expression: str, groups: dict[str, str], out="arithmetic.png", **options):
    """``A - B + C`` on average latent codes of groups (``label:7`` or ``images:FOLDER``);
    see ``ganforge.tools.latent.arithmetic``."""
    from ganforge.tools.latent import arithmetic as _arithmetic

    return _arithmetic(path, expression, groups, out, **options)


def invert(path, images=None, out="inversion.png", **options) -> dict:
    """Recover latent codes of images by optimizing z with G frozen; ``heldout=N`` compares
    training and held-out reconstruction error. See ``ganforge.tools.latent.invert``."""
    from ganforge.tools.latent import invert as _invert

    return _invert(path, images, out, **options)


def report(run_dir, out=None) -> Path:
    """A self-contained HTML page of a run (grids over time, curves, metrics, configuration,
    interpolation strip); returns its path (default ``RUN_DIR/report.html``)."""
    from ganforge.tools.report import report as _report

    return _report(run_dir, out)


def compare(run_dirs) -> list[dict]:
    """The final metrics of several runs, one dict per run."""
    from ganforge.tools.report import compare as _compare

    return _compare(run_dirs)


def show(recipe_name: str) -> dict:
    """A recipe's parameters (its default loss's included) and engine settings: ``{name:
    (default, help)}`` per section, ``types``: what each accepts ("int >= 1", "one of a, b"), and
    ``regularization``: what regularizes D by default (R1/R2, how often, whose weights)."""
    from ganforge.contracts.recipe import parameters, regularization
    from ganforge.hooks.manager import get
    from ganforge.training.settings import BY_NAME, defaults

    cls = get("gans", recipe_name)
    engine = defaults(cls.train_defaults)
    declared = parameters(cls)
    return {"params": {k: (p.default, p.help) for k, p in declared.items()},
            "engine": {k: (v, BY_NAME[k].help) for k, v in engine.items()},
            "regularization": regularization(cls, {k: p.default for k, p in declared.items()}, engine)
            + ("; --cfg auto may choose other values for the run (printed at its start)"
               if engine["cfg"] == "auto" else ""),
            "types": {"params": {k: p.describe() for k, p in declared.items()},
                      "engine": {k: BY_NAME[k].describe() for k in engine}}}


def components(kind: str | None = None) -> dict[str, list[dict]]:
    """Registered components by kind, each with its plugin and one-line description."""
    from ganforge.hooks.manager import KINDS, registry

    reg = registry()
    kinds = [kind] if kind else list(KINDS)
    out = {}
    for k in kinds:
        if k not in KINDS:
            from ganforge.errors import UnknownComponentError
            from ganforge.hooks.manager import unknown_name

            raise UnknownComponentError(unknown_name("kind", k, list(KINDS)))
        out[k] = [{"name": c.name, "plugin": c.plugin, "description": c.description}
                  for c in sorted(reg.components[k].values(), key=lambda c: c.name)]
    return out


def plugins(include_builtins: bool = False, hook: str | None = None) -> list[dict]:
    """Installed third-party plugins (``include_builtins``: built-ins too), optionally only those implementing
    ``hook``: entry-point name, distribution (what pip knows), version, built-in or not, hooks
    implemented, components registered, the file each component is defined in (``sources``), whether
    it loaded and its problems (a broken plugin is listed with ``loaded: False`` and why; every
    component is imported here, so a broken import string shows too)."""
    from ganforge.errors import UnknownComponentError
    from ganforge.hooks.manager import KINDS, load_plugins

    if hook is not None and hook not in KINDS.values():
        raise UnknownComponentError(f"unknown hook '{hook}'; hooks: {', '.join(KINDS.values())}")
    system = load_plugins()
    sources = system.resolve_all()  # every import string resolved: a broken one is listed as a problem
    return [{"name": p.name, "distribution": p.distribution, "version": p.version, "builtin": p.builtin,
             "hooks": p.hooks, "registered": p.registered, "loaded": p.loaded, "problems": p.problems,
             "sources": sources.get(p.name, {})}
            for p in system.info.values()
            if (include_builtins or not p.builtin) and (hook is None or hook in p.hooks)]


def plugin_requirements() -> list[str]:
    """``name==version`` of every installed third-party plugin distribution (for pip install -r)."""
    from ganforge.hooks.manager import entry_points

    found = {}
    for entry_point in entry_points():
        if entry_point.dist is not None:
            found[entry_point.dist.metadata["Name"]] = entry_point.dist.version
    return [f"{name}=={version}" for name, version in sorted(found.items())]


def pip(*args: str) -> int:
    """Run pip in ganforge's own environment (what ``ganforge install``/``uninstall`` use)."""
    import subprocess
    import sys

    return subprocess.call([sys.executable, "-m", "pip", *args])
