"""Built-in augmentations: DiffAugment and its adaptive form."""

from ganforge.plugin import hookimpl


@hookimpl
def register_augmentations(register):
    register("diffaug", "ganforge.builtins.augmentations.diffaug:DiffAugment",
             "DiffAugment (Zhao et al. 2020): translation, cutout, color on every image D sees; "
             "diffaug:translation,cutout picks")
    register("ada", "ganforge.builtins.augmentations.diffaug:AdaptiveAugment",
             "Adaptive (as in ADA, Karras et al. 2020): the same transforms with a probability p "
             "raised or lowered so that D's sign on reals stays near 0.6")
