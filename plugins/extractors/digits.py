"""Features of ganforge's own digit classifier, for offline MNIST-family evaluation.

The classifier was trained on the bundled train split only (97.2% on the held-out
digits) and ships pinned by SHA-256, so its FID and KID mean the same thing on
every machine. Its Inception Score is the "classifier score": at most 10, reached
when every image is confidently one digit and all ten digits are equally common.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge.plugin import DIGIT_CLASSIFIER_SHA256, Extractor, load_digit_classifier


class DigitFeatures(Extractor):
    """The classifier's 128-unit penultimate layer and its 10 logits."""

    name, num_features, num_classes = "digits", 128, 10
    channels, domain, min_confidence = (1,), "grayscale handwritten digits", 0.5

    def __init__(self, weights=None, device="cpu"):
        if weights is not None:
            raise ValueError("the digits extractor uses the shipped, hash-pinned weights; --weights does not apply")
        self.model = load_digit_classifier(device)
        self.device, self.sha256 = torch.device(device), DIGIT_CLASSIFIER_SHA256

    @torch.no_grad()
    def __call__(self, images):
        x = images.to(self.device, torch.float32)
        if x.shape[1] == 3:
            x = x.mean(1, keepdim=True)
        if x.shape[-1] != 28 or x.shape[-2] != 28:
            x = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True)
        head = self.model.head  # Flatten, Dropout, Linear(3136, 128), ReLU, Dropout, Linear(128, 10)
        features = head[3](head[2](head[0](self.model.features(x))))
        return features, head[5](features)
