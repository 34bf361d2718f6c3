"""Everything a plugin author uses, from one module (docs/plugins.md is its guide).

    from ganforge.plugin import AdversarialRecipe, Loss, Param, hookimpl

The names are read from where they live only when first used, so importing this module
costs nothing (``ganforge list`` stays fast, and ``import torch`` waits for a component
that needs it). ``NAMES`` is the whole surface: a test checks that the built-in plugins
import from nowhere else, and every name here is documented in the guide.
"""

from __future__ import annotations

import pkgutil

NAMES = {
    # registering components (docs/plugins.md, "Hooks")
    "hookimpl": "ganforge.hooks.specs:hookimpl",
    "get": "ganforge.hooks.manager:get",
    # reporting bad input: one line for the user, never a traceback
    "GanforgeError": "ganforge.errors:GanforgeError",
    "first_line": "ganforge.errors:first_line",
    # recipes
    "Recipe": "ganforge.contracts.recipe:Recipe",
    "AdversarialRecipe": "ganforge.contracts.recipe:AdversarialRecipe",
    "ADVERSARIAL_HPARAMS": "ganforge.contracts.recipe:ADVERSARIAL_HPARAMS",
    "linear_decay": "ganforge.contracts.recipe:linear_decay",
    "Param": "ganforge.contracts.params:Param",
    "TrainingContext": "ganforge.contracts.context:TrainingContext",
    "Statistics": "ganforge.contracts.context:Statistics",
    # the other kinds of component
    "Loss": "ganforge.contracts.loss:Loss",
    "Logger": "ganforge.contracts.logger:Logger",
    "needs": "ganforge.contracts.logger:needs",
    "Augmentation": "ganforge.contracts.augmentation:Augmentation",
    "Exporter": "ganforge.contracts.exporter:Exporter",
    "artifact_meta": "ganforge.contracts.exporter:artifact_meta",
    "batch_dynamic_shapes": "ganforge.contracts.exporter:batch_dynamic_shapes",
    "dump_meta": "ganforge.contracts.exporter:dump_meta",
    "PRECISIONS": "ganforge.contracts.exporter:PRECISIONS",
    "EXPORT_MAX_BATCH": "ganforge.contracts.exporter:EXPORT_MAX_BATCH",
    "tolerance": "ganforge.contracts.exporter:tolerance",
    "export_example": "ganforge.contracts.exporter:export_example",
    "EXPORT_MAX_SIDE": "ganforge.contracts.exporter:EXPORT_MAX_SIDE",
    "Extractor": "ganforge.contracts.extractor:Extractor",
    # networks: declaring a generator's inputs, and common building blocks
    "latent_input": "ganforge.contracts.networks:latent_input",
    "label_input": "ganforge.contracts.networks:label_input",
    "image_input": "ganforge.contracts.networks:image_input",
    "random_inputs": "ganforge.contracts.networks:random_inputs",
    "require_choice": "ganforge.contracts.networks:require_choice",
    "require_sizes": "ganforge.contracts.networks:require_sizes",
    "activation": "ganforge.contracts.networks:activation",
    "OUTPUT_RANGES": "ganforge.contracts.networks:OUTPUT_RANGES",
    "norm_layer": "ganforge.contracts.networks:norm_layer",
    "spectral_normalize": "ganforge.contracts.networks:spectral_normalize",
    "dcgan_init": "ganforge.contracts.networks:dcgan_init",
    # datasets and image files
    "InMemoryDataset": "ganforge.data.datasets:InMemoryDataset",
    "PixelDataset": "ganforge.data.datasets:PixelDataset",
    "prepare_images": "ganforge.data.prepared:prepare_images",
    "open_prepared": "ganforge.data.prepared:open_prepared",
    "UnpairedDataset": "ganforge.data.datasets:UnpairedDataset",
    "prepare_pairs": "ganforge.data.prepared:prepare_pairs",
    "as_pairs": "ganforge.data.datasets:as_pairs",
    "split_pair": "ganforge.data.datasets:split_pair",
    "as_images": "ganforge.data.datasets:as_images",
    "held_out_rows": "ganforge.data.datasets:held_out_rows",
    "combined_report": "ganforge.data.datasets:combined_report",
    "class_balanced_split": "ganforge.data.datasets:class_balanced_split",
    "bundled_file": "ganforge.data:bundled_file",
    "IMAGE_EXTENSIONS": "ganforge.data.pictures:IMAGE_EXTENSIONS",
    "image_files": "ganforge.data.pictures:image_files",
    "read_image": "ganforge.data.pictures:read_image",
    # files: atomic writes, bounds on what a file may ask for, trained networks
    "atomic_write": "ganforge.artifacts.checkpoint:atomic_write",
    "MAX_INPUT_ELEMENTS": "ganforge.artifacts.limits:MAX_INPUT_ELEMENTS",
    "check_signature": "ganforge.artifacts.limits:check_signature",
    "Generator": "ganforge.artifacts.loading:Generator",
    "load_network": "ganforge.artifacts.loading:load_network",
    "rundir": "ganforge.artifacts.rundir",
    # the digit classifier that judges digits offline
    "load_digit_classifier": "ganforge.evaluation.digits:load_digit_classifier",
    "DIGIT_CLASSIFIER_SHA256": "ganforge.evaluation.digits:DIGIT_CLASSIFIER_SHA256",
    # the conformance kit (also ganforge.testing, and pytest fixtures of the same names)
    "check_generator": "ganforge.testing.checks:check_generator",
    "check_loss": "ganforge.testing.checks:check_loss",
    "check_upsampler": "ganforge.testing.checks:check_upsampler",
    "check_dataset": "ganforge.testing.checks:check_dataset",
    "check_augmentation": "ganforge.testing.checks:check_augmentation",
    "check_recipe": "ganforge.testing.checks:check_recipe",
    "check_exporter": "ganforge.testing.checks:check_exporter",
    "check_logger": "ganforge.testing.checks:check_logger",
    "check_extractor": "ganforge.testing.checks:check_extractor",
    "check_resume": "ganforge.testing.checks:check_resume",
}

__all__ = sorted(NAMES)


def __getattr__(name: str):
    from ganforge import _moved

    if f"{__name__}:{name}" in _moved.NAMES:  # a name an earlier guide exported under another one
        return _moved.attribute(__name__, name)
    try:
        target = NAMES[name]
    except KeyError:
        raise AttributeError(f"module 'ganforge.plugin' has no attribute '{name}'") from None
    value = pkgutil.resolve_name(target)
    globals()[name] = value  # resolved once
    return value


def __dir__():
    return __all__
