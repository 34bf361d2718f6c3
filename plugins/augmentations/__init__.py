"""Built-in augmentations: DiffAugment, its adaptive form and a scheduled one."""

from ganforge.plugin import hookimpl


@hookimpl
def register_augmentations(register):
    register("diffaug", "ganforge.builtins.augmentations.diffaug:DiffAugment",
             "DiffAugment (Zhao et al. 2020): translation, cutout, color on every image D sees; "
             "diffaug:translation,cutout picks")
    register("ada", "ganforge.builtins.augmentations.diffaug:AdaptiveAugment",
             "Adaptive (as in ADA, Karras et al. 2020): the same transforms with a probability p "
             "raised or lowered so that D's sign on reals stays near 0.6")
    register("ramped", "ganforge.builtins.augmentations.diffaug:RampedAugment",
             "The same transforms with a probability ramped from 0 to p over N real images, then fixed "
             "(R3GAN's schedule): ramped:p=0.3,images=20000000")
