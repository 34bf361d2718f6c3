"""A recipe's image size follows its dataset unless the user sets one; config.json records
the size used; a dataset that cannot give the size asked for is one clear error."""

import json

import pytest
import torch

import ganforge
from ganforge.plugin import hookimpl
from ganforge.errors import GanforgeError

from support.sizes import TINY_DCGAN


class Shapes(torch.utils.data.Dataset):
    """Eight RGB 32 px squares; it ignores the size it is asked for (it cannot resize)."""

    def __init__(self, root=None, image_size=None, split="train"):
        self.images = torch.zeros(8, 3, 32, 32).uniform_(-1, 1)
        self.channels, self.image_size, self.num_classes = 3, 32, 1

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], 0


class ShapesPlugin:
    @hookimpl
    def register_datasets(self, register):
        register("shapes", Shapes)


@pytest.fixture
def shapes(add_plugin):
    add_plugin(ShapesPlugin(), name="shapes-plugin")


def _used(run_dir):
    return json.loads((run_dir / "config.json").read_text())["params"]["image_size"]


@pytest.mark.e2e
def test_a_recipe_trains_at_the_datasets_own_size_unless_told(shapes, tmp_path):
    ganforge.train("dcgan", steps=1, batch_size=4, dataset="shapes", out=tmp_path / "own", quiet=True, params=TINY_DCGAN)
    assert _used(tmp_path / "own") == 32
    assert ganforge.load_generator(tmp_path / "own").generate(1).shape == (1, 3, 32, 32)
    with pytest.raises(GanforgeError, match="dataset 'shapes' gives 32 px images and does not resize them to "
                                            "image_size 28; leave image_size unset"):
        ganforge.train("dcgan", steps=1, batch_size=4, dataset="shapes", out=tmp_path / "asked", quiet=True,
                       params={**TINY_DCGAN, "image_size": 28})


@pytest.mark.e2e
def test_a_size_the_user_sets_is_what_the_dataset_gives_and_config_records(tmp_path):
    ganforge.train("dcgan", steps=1, batch_size=4, out=tmp_path / "r32", quiet=True, params={**TINY_DCGAN, "image_size": 32})
    assert _used(tmp_path / "r32") == 32
    assert ganforge.load_generator(tmp_path / "r32").generate(1).shape == (1, 1, 32, 32)
    ganforge.train("dcgan", steps=2, resume=tmp_path / "r32", quiet=True)  # a resumed run keeps it
    assert _used(tmp_path / "r32") == 32
