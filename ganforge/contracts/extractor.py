"""The feature-extractor contract (``register_extractors``): what ``ganforge eval`` and the
quality probe (``--eval-every``) compute FID, KID and IS on."""

from __future__ import annotations


class Extractor:
    """Images (N x C x H x W in [-1, 1]) -> ``(features N x num_features, logits N x num_classes)``.
    ``sha256`` identifies the weights, so results from different weights are not compared."""

    name = "extractor"
    num_features = 0
    num_classes = 0
    sha256 = ""
    # What the extractor was made for: image channels (empty: any) and a few words on the
    # kind of images; ``min_confidence``: below this mean top-class probability on the real
    # images, they are taken not to be of that kind (None: not judged).
    channels: tuple[int, ...] = ()
    domain = ""
    min_confidence: float | None = None

    def __init__(self, weights=None, device="cpu"):
        raise NotImplementedError

    def __call__(self, images):  # torch tensors: N x C x H x W in, (features, logits) out
        raise NotImplementedError
