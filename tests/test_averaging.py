"""--ema-images: a moving average whose half-life is counted in images, whatever the batch."""

import pytest

from ganforge.errors import GanforgeError
from ganforge.training.planning import plan
from ganforge.training.settings import ema_decay


@pytest.mark.parametrize("batch", [16, 64, 256])
def test_the_half_life_is_in_images_whatever_the_batch_size(batch):
    decay = ema_decay({"ema_images": 10_000, "batch_size": batch, "ema": 0.0})
    assert decay ** (10_000 / batch) == pytest.approx(0.5)


def test_a_decay_per_step_is_still_read_as_it_was():
    assert ema_decay({"ema_images": 0, "batch_size": 64, "ema": 0.99}) == 0.99
    assert ema_decay({"ema": 0.9}) == 0.9  # a saved run from before the setting existed
    assert ema_decay({"ema_images": 0, "ema": 0.0, "batch_size": 64}) == 0.0


def test_both_at_once_is_one_line(tmp_path):
    with pytest.raises(GanforgeError, match="not both"):
        plan("dcgan", {"ema": 0.99, "ema_images": 1000}, out=tmp_path / "run")
