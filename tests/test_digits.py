"""The shipped digit classifier that judges conditional GANs offline."""

import pytest

from ganforge.evaluation import digits
from ganforge.errors import GanforgeError
from ganforge.hooks.manager import get


def test_shipped_classifier_matches_its_hash_and_reads_held_out_digits():
    assert digits.weights_sha256() == digits.DIGIT_CLASSIFIER_SHA256
    model = digits.load_digit_classifier()
    test = get("datasets", "mnist-5k")(split="test")  # never seen in training
    accuracy = (model.predict(test.images) == test.labels).float().mean().item()
    assert accuracy >= 0.96
    upscaled = get("datasets", "mnist-5k")(split="test", image_size=32, channels=3)
    assert (model.predict(upscaled.images) == test.labels).float().mean().item() >= 0.9


def test_tampered_weights_are_refused(monkeypatch):
    monkeypatch.setattr(digits, "DIGIT_CLASSIFIER_SHA256", "0" * 64)
    with pytest.raises(GanforgeError, match="expected 000000000000"):
        digits.load_digit_classifier()
