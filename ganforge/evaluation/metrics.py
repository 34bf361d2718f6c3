"""How good is a generator: FID, KID, Inception Score and precision/recall.

Images from the generator and from a real dataset split go through one feature
extractor (a plugin: ``digits`` offline, ``inception`` with ImageNet weights).
FID, KID and IS are torchmetrics' implementations fed the extracted features and
logits; precision and recall (Kynkäänniemi et al., 2019: the share of generated
samples inside the real samples' k-NN manifold, and the converse) are not in
torchmetrics and are computed here. Each result carries everything needed to
reproduce it: extractor and weights hash, sample counts, real split and seed.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.artifacts import rundir
from ganforge.contracts.extractor import Extractor
from ganforge.errors import GanforgeError


class _Given(torch.nn.Module):
    """Hands already-extracted features to a torchmetrics metric as if it extracted them."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features):
        return features


def fid_kid_is(fake: torch.Tensor, real: torch.Tensor, fake_logits: torch.Tensor | None = None,
               kid_subset: int = 1000, seed: int = 0) -> dict[str, float]:
    """FID and KID between two feature sets, and the IS of ``fake_logits`` (torchmetrics)."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.inception import InceptionScore
    from torchmetrics.image.kid import KernelInceptionDistance

    import warnings

    warnings.filterwarnings("ignore", message=".*will save all extracted features in buffer.*")
    # sync_on_compute=False: in a distributed run rank 0 evaluates alone; nothing to gather.
    fake, real = fake.double(), real.double()
    d = fake.shape[1]
    fid = FrechetInceptionDistance(feature=_Given(d), sync_on_compute=False).double()
    fid.update(real, real=True)
    fid.update(fake, real=False)
    subset = min(kid_subset, len(fake), len(real))
    kid = KernelInceptionDistance(feature=_Given(d), subset_size=subset, sync_on_compute=False).double()
    kid.update(real, real=True)
    kid.update(fake, real=False)
    with torch.random.fork_rng(devices=[]):  # KID draws its subsets from torch's generator; leave training's be
        torch.manual_seed(seed)
        kid_mean, kid_std = kid.compute()
    out = {"fid": float(fid.compute()), "kid": float(kid_mean), "kid_std": float(kid_std)}
    if fake_logits is not None:
        inception = InceptionScore(feature=_Given(fake_logits.shape[1]), splits=10, normalize=False,
                                   sync_on_compute=False).double()
        inception.update(fake_logits.double())
        is_mean, is_std = inception.compute()
        out.update({"is": float(is_mean), "is_std": float(is_std)})
    return out


def precision_recall(fake: torch.Tensor, real: torch.Tensor, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al.): a sample is inside a set's manifold
    when it lies within the k-th-nearest-neighbour radius of some member of the set."""

    def radii(x):
        distances = torch.cdist(x, x)
        return distances.kthvalue(k + 1, dim=1).values  # +1: the point itself is at distance 0

    def inside(points, support, support_radii):
        hits = []
        for chunk in points.split(1000):
            hits.append((torch.cdist(chunk, support) <= support_radii[None]).any(1))
        return torch.cat(hits).float().mean().item()

    # sync_on_compute=False: in a distributed run rank 0 evaluates alone; nothing to gather.
    fake, real = fake.double(), real.double()
    return {"precision": inside(fake, real, radii(real)), "recall": inside(real, fake, radii(fake))}


def extract(extractor: Extractor, images: torch.Tensor, batch_size: int = 250):
    features, logits = [], []
    for i in range(0, len(images), batch_size):
        f, lg = extractor(images[i:i + batch_size])
        features.append(f.cpu())
        logits.append(lg.cpu())
    return torch.cat(features), torch.cat(logits)


def stable_count(extractor: Extractor) -> int:
    """Fewer samples than this makes FID noticeably biased and noisy (rule of thumb: ten per
    feature dimension, capped at the 10,000 often used with Inception)."""
    return min(10 * extractor.num_features, 10_000)


class QualityProbe:
    """FID, KID and IS of a training run's generator against its held-out split, on the
    features of the extractor its dataset names (``dataset.extractor``): cheap enough (1,000
    samples, features of the real split cached) to log every N steps."""

    def __init__(self, extractor: str, real_images: torch.Tensor, n: int = 1000, device="cpu"):
        from ganforge.hooks.manager import get

        self.name = extractor
        self.extractor = get("extractors", extractor)(device=device)
        self.real_features = extract(self.extractor, real_images)[0]
        self.n = n

    @classmethod
    def for_recipe(cls, recipe) -> "QualityProbe | None":
        """A probe when the data names an extractor and the generator draws from noise alone."""
        extractor = getattr(recipe.data, "extractor", None)
        if extractor is None or any(s["distribution"] in ("text", "image") for s in recipe.generator.signature):
            return None
        return cls(extractor, recipe.held_out().images, device=recipe.device)

    def __call__(self, recipe) -> dict[str, float]:
        from ganforge.contracts.networks import random_inputs

        inputs = random_inputs(recipe.generator.signature, self.n, torch.Generator().manual_seed(0), recipe.device)
        images = torch.cat([recipe.generator(*(x[i:i + 500] for x in inputs)) for i in range(0, self.n, 500)])
        features, logits = extract(self.extractor, images)
        figures = fid_kid_is(features, self.real_features, logits, kid_subset=500)
        return {f"fid_{self.name}": figures["fid"], f"kid_{self.name}": figures["kid"], f"is_{self.name}": figures["is"]}


MAX_REAL_IMAGES = 50_000  # a folder of a million photos is read up to here


def real_images(dataset: str, split: str, image_size: int | None, root=None, settings=None) -> torch.Tensor:
    """The real images of a dataset split: held in memory, or read item by item from disk;
    ``settings`` are the run's (its ``--background`` and ``--square`` reach a dataset that
    reads image files, so the real images are converted as the run's were)."""
    from ganforge.data.datasets import file_options
    from ganforge.hooks.manager import get

    factory = get("datasets", dataset)
    data = factory(root=root, image_size=image_size, split=split, **file_options(factory, settings or {}))
    if hasattr(data, "images"):
        return data.images
    return torch.stack([data[i][0] for i in range(min(len(data), MAX_REAL_IMAGES))])


def evaluate(path, *, extractor: str | None = None, weights=None, n: int = 5000, dataset: str | None = None,
             data_root=None, real_split: str = "train", seed: int = 0, device: str = "cpu", batch_size: int = 250,
             progress=None, save: bool = True, default_dataset: str | None = None,
             trust: bool = False) -> dict:
    """Score the generator in ``path`` (run directory, ``G.ckpt`` or an exported artifact)
    against the real images of ``dataset``/``real_split`` (default: the run's dataset, read from
    ``data_root`` or else from the folder the run trained on).

    ``path`` may also be ``data:DATASET/SPLIT`` to score real images as if generated
    (e.g. the train digits against the held-out ones: FID near 0, IS near 10 for digits).
    ``extractor`` defaults to the one the dataset names (``digits`` for the MNIST family),
    else ``digits``; a warning says when it does not fit the images. Returns ``{"metrics":
    {...}, "config": {...}, "warnings": [...]}``; with ``save``, a run directory also keeps it,
    as ``eval-EXTRACTOR.json`` for its G.ckpt against the training split and as
    ``eval-EXTRACTOR-FILE-SPLIT.json`` for an artifact or another split. A generator outside
    a run is compared with ``default_dataset`` (``ganforge.evaluate`` passes the default of the
    ``dataset`` setting).
    """
    from ganforge.artifacts.loading import load_generator
    from ganforge.hooks.manager import registry

    say = progress or (lambda message: None)
    warnings, metrics = [], {}
    translated = None
    trained_on: dict = {}  # the run's engine settings, when a run is scored
    source = str(path)
    if source.startswith("data:"):
        name, _, split = source[len("data:"):].partition("/")
        fake_images = real_images(name, split or "train", None, data_root)[:n]
        config_dataset = dataset or name  # the named dataset's own other split, unless told
        extractor, ext = _extractor(extractor, config_dataset, weights, device)
    else:
        path = Path(path)
        run_dir = rundir.run_of(path)
        G = load_generator(path, device=device, trust=trust)
        run_config = rundir.read_config(rundir.run_of(path), required=False)
        trained_on = run_config.get("engine", {})
        config_dataset = dataset or trained_on.get("dataset") or default_dataset
        if config_dataset is None:
            raise GanforgeError(f"'{path}' is not in a run directory; say which real images to compare with (--dataset)")
        if data_root is None and config_dataset == trained_on.get("dataset"):
            data_root = trained_on.get("data_root")  # the folder the run trained on
        extractor, ext = _extractor(extractor, config_dataset, weights, device)
        say(f"generating {n} images ...")
        if any(s["distribution"] == "text" for s in G.signature):
            raise GanforgeError("text-conditioned generators need captions; score them with "
                                "benchmarks/conditioning.py (class agreement) for now")
        translated = translation_images(G, config_dataset, data_root, trained_on, n, batch_size) \
            if G.signature[0]["distribution"] == "image" else None
        if translated is not None:  # an image-to-image generator: its outputs on the test inputs
            fake_images, real, paired_figures = translated
            metrics.update(paired_figures)
            real_split = "test"
        else:
            fake_images = G.generate(n, seed=seed, batch_size=batch_size)
        conditional = next((s for s in G.signature if s["distribution"] == "categorical"), None)
        if conditional is not None and ext.num_classes == conditional["num_classes"]:
            # an extractor that classifies into the generator's classes judges its conditioning
            per_class = max(n // conditional["num_classes"], 1)
            images = G.generate_per_class(per_class, seed=seed, batch_size=batch_size)
            asked = torch.arange(conditional["num_classes"]).repeat_interleave(per_class)
            hits = (extract(ext, images, batch_size)[1].argmax(1) == asked).float()
            metrics["class_accuracy"] = hits.mean().item()
            metrics["class_accuracy_per_class"] = [round(v, 4) for v in hits.view(-1, per_class).mean(1).tolist()]
        recipe = registry().components["gans"].get(run_config.get("recipe"))
        if recipe is not None:  # figures only the recipe knows how to compute (sgan: its classifier D)
            metrics.update(recipe.load().evaluate_run(run_dir, run_config, device=device))
        elif run_config.get("recipe"):
            warnings.append(f"recipe '{run_config['recipe']}' is not installed; its own figures are left out")
    shape = fake_images.shape
    if translated is None:
        real = real_images(config_dataset, real_split, shape[-1], data_root,
                           trained_on if config_dataset == trained_on.get("dataset") else None)
    say(f"extracting {extractor} features of {len(fake_images)} generated and {len(real)} real images ...")
    fake_features, fake_logits = extract(ext, fake_images, batch_size)
    real_features, real_logits = extract(ext, real, batch_size)
    warnings.extend(misfits(ext, real, real_logits, config_dataset))
    needed = stable_count(ext)
    if min(len(fake_features), len(real_features)) < needed:
        warnings.append(f"FID from {len(fake_features)} generated and {len(real_features)} real samples is biased "
                        f"upwards and noisy; use at least {needed} of each for {extractor} features")
    say("computing metrics ...")
    metrics.update(fid_kid_is(fake_features, real_features, fake_logits, seed=seed))
    metrics.update(precision_recall(fake_features, real_features))
    config = {"source": source, "extractor": extractor, "extractor_sha256": ext.sha256,
              "num_features": ext.num_features, "n_generated": len(fake_features), "n_real": len(real_features),
              "real": f"{config_dataset}/{real_split}", "seed": seed}
    result = {"metrics": {k: (round(v, 6) if isinstance(v, float) else v) for k, v in metrics.items()},
              "config": config, "warnings": warnings}
    if save and not source.startswith("data:") and (run_dir / rundir.CONFIG).is_file():
        from ganforge.artifacts.checkpoint import atomic_write  # a run keeps its evaluations for `report` and `compare`

        evaluated = rundir.generator_file(path).name
        result["config"]["file"] = evaluated
        atomic_write(rundir.evaluation_file(run_dir, extractor, evaluated, real_split),
                     json.dumps(result, indent=2).encode())
    return result


def translation_images(G, dataset: str, root, settings: dict, n: int, batch_size: int):
    """For an image-to-image generator: ``(outputs, targets, figures)`` on the test split of
    ``dataset``. Pairs give L1, PSNR and SSIM (torchmetrics) of each output against its target
    and the targets are the real images; unpaired domains compare A's translations with B."""
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    from ganforge.data.datasets import as_images, file_options, split_pair
    from ganforge.hooks.manager import get

    factory = get("datasets", dataset)
    options = file_options(factory, settings or {})
    size = G.signature[0]["shape"][-1]
    test = factory(root=root, image_size=size, split="test", **options)

    def run(inputs):
        return torch.cat([G(inputs[i:i + batch_size]).cpu() for i in range(0, len(inputs), batch_size)]).float()

    if getattr(test, "paired", False):
        inputs, targets = split_pair(test.images[:n], test.direction)
        outputs = run(inputs).clamp(-1, 1)
        figures = {"l1": F.l1_loss(outputs, targets).item(),
                   "psnr": peak_signal_noise_ratio(outputs, targets, data_range=2.0).item(),
                   "ssim": structural_similarity_index_measure(outputs, targets, data_range=2.0).item(),
                   "pairs": len(inputs)}
        return outputs, targets, figures
    if hasattr(test, "other"):
        return run(test.images[:n]), as_images(test.other[:n]), {}
    return None


def _extractor(name: str | None, dataset: str, weights, device) -> tuple[str, Extractor]:
    """The extractor asked for, else the one the dataset names, else ``digits``."""
    from ganforge.hooks.manager import get

    name = name or getattr(get("datasets", dataset), "extractor", None) or "digits"
    return name, get("extractors", name)(weights=weights, device=device)


def misfits(ext: Extractor, real: torch.Tensor, real_logits: torch.Tensor, dataset: str) -> list[str]:
    """Warnings when the extractor was not made for these images (channels, or a classifier
    unsure of what the real images are), naming the extractors that would fit."""
    from ganforge.hooks.manager import get, registry

    def others():
        fitting = [name for name in registry().names("extractors") if name != ext.name
                   and real.shape[1] in (getattr(get("extractors", name), "channels", ()) or (real.shape[1],))]
        return f"; try -e {' or -e '.join(fitting)}" if fitting else ""

    channels, domain = getattr(ext, "channels", ()), getattr(ext, "domain", "")
    min_confidence = getattr(ext, "min_confidence", None)  # extractors written before these existed
    what = f"the {ext.name} extractor was made for {domain or 'other images'}"
    if channels and real.shape[1] not in channels:
        return [f"{what}, not {real.shape[1]}-channel images like {dataset}'s: its figures say little here{others()}"]
    if min_confidence is not None and ext.num_classes:
        confidence = real_logits.double().softmax(1).max(1).values.mean().item()
        if confidence < min_confidence:
            return [f"{what}, and is unsure of {dataset}'s real images (mean confidence {confidence:.0%}): "
                    f"its figures say little here{others()}"]
    return []
