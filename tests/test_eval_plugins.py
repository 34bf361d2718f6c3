"""Evaluating plugin data and artifacts: the reference set is the named dataset's own split,
an extractor that does not fit the images says so, and results are kept per file and split."""

import json

import pytest
import torch

import ganforge
from ganforge.plugin import hookimpl
from ganforge.tools.report import final_metrics, read_run

from support.sizes import TINY_DCGAN


class Shapes(torch.utils.data.Dataset):
    """RGB squares of random colours, 32 px; the test split differs from the train split."""

    def __init__(self, root=None, image_size=None, split="train"):
        g = torch.Generator().manual_seed(0 if split == "train" else 1)
        self.images = torch.rand(24, 3, 1, 1, generator=g).expand(24, 3, 32, 32).clone() * 2 - 1
        self.channels, self.image_size, self.num_classes = 3, 32, 1

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], 0


class ShapesPlugin:
    @hookimpl
    def register_datasets(self, register):
        register("shapes", Shapes)


def test_data_source_is_scored_against_its_own_datasets_split_and_the_misfit_is_named(add_plugin):
    add_plugin(ShapesPlugin(), name="shapes-plugin")
    result = ganforge.evaluate("data:shapes/train", real_split="test", n=24, save=False)
    assert result["config"]["real"] == "shapes/test"
    misfit = [w for w in result["warnings"] if "made for grayscale handwritten digits" in w]
    assert misfit and "3-channel images like shapes's" in misfit[0] and "-e inception" in misfit[0]


def test_digit_data_raises_no_misfit_warning():
    result = ganforge.evaluate("data:mnist-5k/train", real_split="test", n=200, save=False)
    assert result["config"]["real"] == "mnist-5k/test"
    assert not [w for w in result["warnings"] if "made for" in w], result["warnings"]


@pytest.mark.e2e
def test_each_evaluated_file_and_split_keeps_its_own_result_and_label(tmp_path):
    run = tmp_path / "run"
    ganforge.train("dcgan", steps=2, batch_size=8, out=run, quiet=True, params=TINY_DCGAN)
    ganforge.export(run, "onnx", max_batch=8)
    own = ganforge.evaluate(run, n=40)
    ganforge.evaluate(run / "G.onnx", n=40)
    ganforge.evaluate(run, n=40, real_split="test")
    assert json.loads((run / "eval-digits.json").read_text()) == own  # the run's own result is untouched
    assert (run / "eval-digits-G.onnx-train.json").is_file() and (run / "eval-digits-G.ckpt-test.json").is_file()
    figures = final_metrics(read_run(run))
    assert figures["fid (eval, digits)"] == own["metrics"]["fid"]
    assert "fid (eval, digits, G.onnx vs mnist-5k/train)" in figures
    assert "fid (eval, digits, G.ckpt vs mnist-5k/test)" in figures
