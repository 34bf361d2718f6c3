"""Conformance kit: the contracts ganforge relies on, as checks a plugin's tests can call.

Each ``check_*`` raises ``AssertionError`` with a plain explanation when a component
breaks a contract, so a third-party package tests its components with one line
each; the built-in plugins pass the same checks (tests/test_conformance.py).
With ganforge installed, pytest also offers them as fixtures (``check_generator``
and friends; see ``ganforge.testing.pytest_plugin``).

    from ganforge.testing.checks import check_generator, check_loss
    check_generator(MyGenerator(latent_dim=8))
    check_loss(MyLoss())
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

__all__ = ["check_augmentation", "check_dataset", "check_exporter", "check_extractor", "check_generator", "check_logger",
           "check_loss", "check_recipe", "check_resume", "check_signature", "check_upsampler"]

DISTRIBUTIONS = {"normal", "categorical", "image", "text"}


def check_signature(module) -> None:
    signature = getattr(module, "signature", None)
    assert isinstance(signature, list) and signature, "a generator needs `signature`: a non-empty list of inputs"
    for spec in signature:
        assert {"name", "shape", "dtype", "distribution"} <= set(spec), f"input spec {spec} lacks a required key"
        assert spec["distribution"] in DISTRIBUTIONS, f"unknown distribution {spec['distribution']!r}"
        if spec["distribution"] == "categorical":
            assert spec.get("num_classes", 0) > 0, "a categorical input needs num_classes"
    names = [s["name"] for s in signature]
    assert len(set(names)) == len(names), f"input names must be unique, got {names}"
    low, high = getattr(module, "output_range", (None, None))
    assert low is not None and low < high, "a generator needs `output_range` = (low, high) with low < high"


def check_generator(module, *, batch: int = 3, onnx: bool = True, workdir=None) -> torch.Tensor:
    """Signature and output range declared; N x C x H x W output inside the range; deterministic
    and batch-independent in eval mode; a safetensors round trip gives the same outputs; exports
    to ONNX and ONNX Runtime agrees within 1e-4. Returns the outputs of one batch."""
    from ganforge.contracts.networks import random_inputs

    check_signature(module)
    module = module.eval()
    inputs = random_inputs(module.signature, batch, torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = module(*inputs)
        again = module(*inputs)
        first = module(*(x[:1] for x in inputs))
    assert isinstance(out, torch.Tensor) and out.dim() == 4 and len(out) == batch, \
        f"a generator returns N x C x H x W images; got {getattr(out, 'shape', type(out))}"
    assert torch.isfinite(out).all(), "the generator returned NaN or inf"
    low, high = module.output_range
    assert out.min() >= low - 1e-5 and out.max() <= high + 1e-5, \
        f"outputs in [{out.min():.3f}, {out.max():.3f}] leave the declared output_range {module.output_range}"
    assert torch.equal(out, again), "eval mode must be deterministic (no dropout or noise at inference)"
    assert torch.allclose(first, out[:1], atol=1e-5), \
        "in eval mode an image must not depend on the rest of its batch (batch norm must use running stats)"
    _check_roundtrip(module, inputs, out)
    if onnx:
        _check_onnx(module, workdir)
    return out


def _check_roundtrip(module, inputs, expected) -> None:
    from safetensors.torch import load, save

    state = {k: v.contiguous() for k, v in module.state_dict().items()}
    restored = load(save(state))
    module.load_state_dict(restored)
    with torch.no_grad():
        assert torch.allclose(module(*inputs), expected), "weights saved and loaded give different outputs"


def _check_onnx(module, workdir=None) -> None:
    from ganforge.artifacts.export import compare
    from ganforge.contracts.exporter import get_exporter
    from ganforge.artifacts.loading import Generator

    exporter = get_exporter("onnx")  # whichever plugin provides ONNX export
    meta = {"signature": module.signature, "output_range": list(module.output_range)}
    reference = Generator(module, meta, "cpu")
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / f"G{exporter.suffix}"
        exporter.export(reference, path, max_batch=8)
        forward, _ = exporter.load(path)
        max_abs, _ = compare(reference, Generator(forward, meta, "cpu", backend="onnx"), (1, 4))
    assert max_abs <= 1e-4, f"ONNX Runtime differs from PyTorch by {max_abs:.3g} (more than 1e-4)"


def check_loss(loss, batch: int = 6) -> None:
    """Scalar, finite, differentiable losses in which scores mean "more real", that keep no
    state between calls (G's loss called first, or after any number of D's, gives the same
    value); a penalty, if any, is a finite scalar."""
    import copy

    uses_real = getattr(loss, "uses_real_scores", False)

    def g_loss(of, fake, real):
        return of.g_loss(fake, real) if uses_real else of.g_loss(fake)

    untouched = copy.deepcopy(loss)  # before any call: a loss that caches inputs shows it here
    other_real, other_fake = torch.linspace(-3, 1, batch), torch.linspace(0, 2, batch)
    try:
        g_first = g_loss(untouched, other_fake, other_real)
    except Exception as exc:
        raise AssertionError(f"g_loss failed when called before d_loss ({type(exc).__name__}: {exc}); "
                             "a loss must depend on its arguments alone") from None
    loss.d_loss(other_real + 3, other_fake - 3)  # unrelated scores, seen by D's loss first
    assert torch.allclose(g_loss(loss, other_fake, other_real), g_first), \
        "g_loss changed after d_loss was called on other scores: a loss must keep no state between calls"
    assert torch.allclose(loss.d_loss(other_real, other_fake), untouched.d_loss(other_real, other_fake)), \
        "d_loss changed after earlier calls: a loss must keep no state between calls"
    real = torch.linspace(-2, 2, batch, requires_grad=True)
    fake = torch.linspace(-1, 3, batch, requires_grad=True)
    d, g = loss.d_loss(real, fake), g_loss(loss, fake, real)
    for name, value in (("d_loss", d), ("g_loss", g)):
        assert isinstance(value, torch.Tensor) and value.dim() == 0, f"{name} must return a scalar tensor"
        assert torch.isfinite(value), f"{name} is not finite"
    (d + g).backward()
    assert real.grad is not None and torch.isfinite(real.grad).all() and real.grad.abs().sum() > 0, \
        "d_loss must have gradients with respect to D's scores of real images"
    assert fake.grad is not None and torch.isfinite(fake.grad).all(), "the losses must be differentiable in fake scores"
    confident, fooled, middle = torch.full((batch,), 4.0), torch.full((batch,), -4.0), torch.zeros(batch)
    assert loss.d_loss(confident, fooled) < loss.d_loss(fooled, confident), \
        "d_loss must be lower when D scores real images high and fakes low"
    assert g_loss(loss, confident, middle) < g_loss(loss, fooled, middle), \
        "g_loss must be lower when D scores the fakes high"


def check_augmentation(factory, options: str = "") -> None:
    """``factory(options=..., strength=...)``: same shape, images kept in [-1, 1],
    differentiable with respect to its input, the identity at strength 0, and the same
    output for the same seed (every draw through ``draw``)."""
    def draw(n, fn):
        return fn(n)

    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    strong = factory(options=options, strength=1.0)
    torch.manual_seed(0)
    y = strong(x, draw)
    assert isinstance(y, torch.Tensor) and y.shape == x.shape, f"an augmentation keeps the shape, got {tuple(y.shape)}"
    assert y.min() >= -1 - 1e-6 and y.max() <= 1 + 1e-6, "augmented images must stay in [-1, 1]"
    assert not torch.equal(y, x), "at strength 1 the images must change"
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0, \
        "an augmentation must be differentiable with respect to its input (G learns through it)"
    torch.manual_seed(0)
    assert torch.equal(strong(x.detach(), draw), y.detach()), "the same seed must give the same augmentation"
    weak = factory(options=options, strength=0.0)
    assert torch.equal(weak(x.detach(), draw), x.detach()), "at strength 0 an augmentation is the identity"


def check_upsampler(factory, in_channels: int = 6, out_channels: int = 4, kernel_size: int = 4) -> None:
    """``factory(in, out, kernel)`` doubles height and width and maps the channels; gradients flow."""
    layer = factory(in_channels, out_channels, kernel_size)
    for size in (7, 8):
        x = torch.randn(2, in_channels, size, size, requires_grad=True)
        y = layer(x)
        assert tuple(y.shape) == (2, out_channels, 2 * size, 2 * size), \
            f"an upsampler maps 2x{in_channels}x{size}x{size} to 2x{out_channels}x{2 * size}x{2 * size}, got {tuple(y.shape)}"
        y.sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all(), "gradients must flow through the upsampler"


def check_dataset(dataset, items: int = 4) -> None:
    """Non-empty; ``(image, label)`` items with images C x H x W float in [-1, 1]; the attributes
    the engine reads (channels, image_size, num_classes) agree with the items (a dataset of pairs,
    ``paired``, holds two images of ``channels`` each in an item)."""
    assert len(dataset) > 0, "the dataset is empty"
    for i in range(min(items, len(dataset))):
        item = dataset[i]
        assert isinstance(item, (tuple, list)) and len(item) == 2, "an item is (image, label)"
        image, label = item
        assert isinstance(image, torch.Tensor) and image.dim() == 3 and image.is_floating_point(), \
            f"an image is a float C x H x W tensor, got {getattr(image, 'shape', type(image))}"
        assert image.min() >= -1 - 1e-6 and image.max() <= 1 + 1e-6, "images must be in [-1, 1]"
        assert int(label) == label, "labels are integers (0 when the data has none)"
        per_item = 2 if getattr(dataset, "paired", False) else 1
        for attribute, value in (("channels", image.shape[0] // per_item), ("image_size", image.shape[-1])):
            if hasattr(dataset, attribute):
                assert getattr(dataset, attribute) == value, f"dataset.{attribute} says {getattr(dataset, attribute)}, items have {value}"


def _tiny_data(dataset: str, image_size=None, split: str = "train"):
    from ganforge.hooks.manager import get

    return get("datasets", dataset)(image_size=image_size, split=split)


def check_recipe(recipe_cls, params: dict | None = None, *, dataset: str | None = None, batch: int = 4) -> dict:
    """A recipe builds and trains: its parameters are declared (``Param`` or ``(default, help)``)
    and its ``train_defaults`` name engine settings; ``networks`` holds the generator as ``"G"``,
    built with ``self.network`` so that ``G.ckpt`` can rebuild it, with a signature and output
    range; every network that trains has an optimizer; ``train_step`` returns detached scalar
    tensors, changes the weights, and the sample-grid inputs give images in the output range.
    ``params`` override the defaults (keep networks tiny). Returns the logged values of one step."""
    from ganforge.contracts.context import TrainingContext
    from ganforge.contracts.params import Param
    from ganforge.contracts.recipe import parameters
    from ganforge.training.settings import BY_NAME, canonical

    for key, value in recipe_cls.hparams.items():
        assert isinstance(value, Param) or (isinstance(value, tuple) and len(value) == 2), \
            f"hparams['{key}'] must be a Param or a (default, help) tuple, got {value!r}"
    for key in recipe_cls.train_defaults:
        assert canonical(key) in BY_NAME, f"train_defaults names '{key}', which is not an engine setting"
    params = params or {}
    declared = parameters(recipe_cls, params.get("loss"))
    unknown = set(params) - set(declared)
    assert not unknown, f"params {sorted(unknown)} are not parameters of this recipe"
    hp = {k: p.check(params.get(k, p.default)) for k, p in declared.items()}
    dataset = dataset or recipe_cls.train_defaults.get("dataset", BY_NAME["dataset"].default)
    wanted = hp.get("image_size") if not getattr(recipe_cls, "image_size_follows_data", True) else None
    data = _tiny_data(dataset, wanted)
    if "image_size" in hp:
        hp["image_size"] = data.image_size
    torch.manual_seed(0)
    recipe = recipe_cls(hp, data, TrainingContext("cpu", held_out=lambda: _tiny_data(dataset, wanted, "test")))
    assert "G" in recipe.built, f"networks must hold the generator as 'G', got {sorted(recipe.built)}"
    for name in recipe.generators:
        G = recipe.built[name]
        assert hasattr(G, "ganforge_spec"), \
            f"build '{name}' with self.network(NAME, **kwargs), so that its checkpoint can rebuild it"
        check_signature(G)
    trains = {name for name, net in recipe.built.items() if any(p.requires_grad for p in net.parameters())}
    optimized = {id(p) for opt in recipe.optimizers.values() for group in opt.param_groups for p in group["params"]}
    for name in trains:
        assert any(id(p) in optimized for p in recipe.built[name].parameters()), \
            f"network '{name}' has trainable weights but no optimizer updates them"
    before = {k: v.detach().clone() for k, v in recipe.built["G"].state_dict().items()}
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=False)
    images, labels = next(iter(loader))
    recipe.schedule(0, 2)
    values = recipe.train_step(images, labels)
    assert isinstance(values, dict) and values, "train_step returns a dict of values to log"
    for key, value in values.items():
        assert isinstance(value, torch.Tensor) and value.dim() == 0 and not value.requires_grad, \
            f"train_step's '{key}' must be a detached scalar tensor"
        assert torch.isfinite(value), f"train_step's '{key}' is not finite"
    after = recipe.built["G"].state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if after[k].is_floating_point()), \
        "one train_step left G's weights unchanged"
    inputs, columns = recipe.fixed_inputs(4, torch.Generator().manual_seed(1))
    with torch.no_grad():
        recipe.built["G"].eval()
        grid = recipe.generate(inputs)
    low, high = recipe.built["G"].output_range
    assert grid.dim() == 4 and grid.min() >= low - 1e-5 and grid.max() <= high + 1e-5, \
        "the sample grid's images leave G's output_range"
    return {k: v.item() for k, v in values.items()}


def check_resume(recipe_name: str, params: dict | None = None, *, workdir=None, steps: int = 4, **settings) -> None:
    """A registered recipe resumes exactly: ``steps`` straight and ``steps // 2`` then
    ``--resume`` to ``steps`` give bit-identical generator weights (everything random goes
    through the engine's generators, ``schedule`` depends on the step only, and whatever else
    resume needs is in ``extra_state``)."""
    from safetensors.torch import load_file

    from ganforge.training.engine import train

    settings = {"batch_size": 4, "log_every": 1, "sample_every": steps, "checkpoint_every": steps, "quiet": True,
                **settings}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        straight, halted = Path(tmp) / "straight", Path(tmp) / "halted"
        train(recipe_name, steps=steps, out=straight, params=params, **settings)
        train(recipe_name, steps=steps // 2, out=halted, params=params, **settings)
        train(recipe_name, steps=steps, resume=halted, quiet=True)
        a, b = load_file(straight / "G.ckpt"), load_file(halted / "G.ckpt")
        different = [k for k in a if not torch.equal(a[k], b[k])]
        assert not different, f"a resumed run's G differs from a straight run's in {different[:3]}: resume is not exact"


def check_exporter(exporter_cls, module=None, *, workdir=None) -> None:
    """An exporter declares ``name``, ``suffix``, ``precisions`` and ``devices``; it writes an
    artifact whose name ends in ``suffix``, loads it back as ``(forward, meta)`` with the
    metadata ``artifact_meta`` gave (signature and output range), and the artifact agrees with
    PyTorch within the fp32 tolerance at two batch sizes. ``module``: a generator to export
    (default: a tiny one)."""
    from ganforge.artifacts.export import compare
    from ganforge.artifacts.loading import Generator
    from ganforge.contracts.exporter import PRECISIONS, tolerance
    from ganforge.contracts.networks import latent_input

    exporter = exporter_cls()
    for attribute in ("name", "suffix", "precisions", "devices"):
        assert getattr(exporter, attribute, None), f"an exporter declares `{attribute}`"
    assert set(exporter.precisions) <= set(PRECISIONS), f"precisions must be among {PRECISIONS}"
    reason = exporter.unavailable("cpu")
    assert reason is None or isinstance(reason, str), "unavailable(device) returns None or why, as a string"
    if reason or "cpu" not in exporter.devices:
        return  # nothing more can be checked on this machine (the reason says why)
    if module is None:
        module = torch.nn.Sequential(torch.nn.Linear(4, 2 * 4 * 4), torch.nn.Tanh(), torch.nn.Unflatten(1, (2, 4, 4)))
        module.signature, module.output_range = [latent_input(4)], (-1.0, 1.0)
    meta = {"signature": module.signature, "output_range": list(module.output_range), "step": 0}
    reference = Generator(module.eval(), meta, "cpu")
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / f"G{exporter.suffix}"
        exporter.export(reference, path, precision="fp32", max_batch=8, device="cpu")
        assert path.exists(), f"export did not write {path}"
        forward, loaded = exporter.load(path, "cpu")
        assert loaded.get("signature") == module.signature, "the artifact's metadata must keep the signature"
        assert list(loaded.get("output_range", ())) == list(module.output_range), "... and the output range"
        max_abs, _ = compare(reference, Generator(forward, loaded, "cpu", backend=exporter.name), (1, 3))
    assert max_abs <= tolerance("fp32", "cpu"), f"the artifact differs from PyTorch by {max_abs:.3g}"


def check_logger(logger_cls, *, workdir=None) -> None:
    """A logger is built as ``(run_dir, config, start)``, takes ``metrics``, ``image``, ``saved``
    and ``close`` calls without failing, and says why it cannot run (``unavailable()``: None or
    a string)."""
    reason = logger_cls.unavailable()
    assert reason is None or isinstance(reason, str), "unavailable() returns None or why, as a string"
    if reason:
        return
    from PIL import Image

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        run_dir = Path(tmp)
        picture = run_dir / "samples" / "step_0000001.png"
        picture.parent.mkdir()
        Image.new("L", (8, 8)).save(picture)
        logger = logger_cls(run_dir, {"recipe": "test", "engine": {}, "params": {}}, 0)
        logger.metrics(1, {"step": 1, "d_loss": 0.5, "g_loss": 1.0}, "train")
        logger.metrics(1, {"step": 1, "fid": 10.0}, "eval")
        logger.image(1, "samples", picture)
        logger.saved(1)
        logger.close()


def check_extractor(extractor_cls, weights=None, *, size: int = 28) -> None:
    """An extractor built as ``(weights, device)`` maps images of a channel count it declares
    to ``(features N x num_features, logits N x num_classes)``, and names its weights' sha256."""
    extractor = extractor_cls(weights=weights, device="cpu")
    channels = (getattr(extractor, "channels", ()) or (3,))[0]
    images = torch.rand(3, channels, size, size) * 2 - 1
    features, logits = extractor(images)
    assert tuple(features.shape) == (3, extractor.num_features), \
        f"features must be N x num_features ({extractor.num_features}), got {tuple(features.shape)}"
    if extractor.num_classes:
        assert tuple(logits.shape) == (3, extractor.num_classes), "logits must be N x num_classes"
    assert isinstance(extractor.sha256, str) and extractor.sha256, "an extractor names its weights' sha256"
