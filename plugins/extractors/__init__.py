"""Built-in feature extractors for ``ganforge eval``."""

from ganforge.plugin import hookimpl


@hookimpl
def register_extractors(register):
    register("digits", "ganforge.builtins.extractors.digits:DigitFeatures",
             "ganforge's shipped digit classifier (offline, hash-pinned): 128 features, 10 classes")
    register("inception", "ganforge.builtins.extractors.inception:InceptionFeatures",
             "Inception-v3 with torchvision's ImageNet weights: 2048 pool features, 1000 classes")
