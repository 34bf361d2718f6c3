"""The base class of augmentation plugins (``--augment NAME[:OPTIONS]``).

An augmentation transforms every batch of images D sees, real and fake alike, in D's
step and in G's, so that D cannot memorize a small training set while G still learns
the un-augmented distribution (the transforms are differentiable, so G's gradient
flows through them). The contract is described once, in
``ganforge.hooks.specs.register_augmentations``; ``ganforge.testing.check_augmentation``
checks it.
"""

from __future__ import annotations


class Augmentation:
    """Random, differentiable image transforms applied before D."""

    def __init__(self, options: str = "", strength: float = 1.0):
        self.options, self.strength = options, strength

    def __call__(self, images, draw):
        raise NotImplementedError

    def observe(self, real_scores, stats) -> None:
        """D's raw scores on the (augmented) real batch of each D step: an adaptive
        augmentation adjusts its strength from them, summing over processes with
        ``stats.sum`` and logging figures with ``stats.report`` (``ganforge.plugin.Statistics``)."""

    def state_dict(self) -> dict:
        """What ``--resume`` needs to continue exactly (kept in ``state.ckpt``)."""
        return {}

    def load_state_dict(self, tensors: dict) -> None:
        pass


def build(value: str | None) -> Augmentation | None:
    """The augmentation ``--augment NAME[:OPTIONS]`` names (``diffaug:translation,cutout``),
    built; None for ``none``. Options it does not take are one clear error."""
    from ganforge.errors import GanforgeError, first_line
    from ganforge.hooks.manager import get

    if value in (None, "", "none"):
        return None
    name, _, options = value.partition(":")
    try:
        return get("augmentations", name)(options=options)
    except (ValueError, TypeError) as exc:
        raise GanforgeError(f"--augment {value}: {first_line(exc)}") from None
