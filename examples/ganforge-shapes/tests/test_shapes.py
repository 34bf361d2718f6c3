"""ganforge-shapes' own tests: the conformance kit, then each contract used the way a user
would use it, through ganforge's own commands."""

import json

import pytest
import torch

import ganforge
from ganforge.plugin import get
from ganforge_shapes.dataset import draw_shapes

TINY = {"g_width": 4, "d_width": 4, "latent_dim": 8}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return draw_shapes(tmp_path_factory.mktemp("shapes"), count=24, size=32)


def test_plugin_is_discovered_with_its_package():
    found = {p["name"]: p for p in ganforge.plugins()}
    assert found["shapes"]["distribution"] == "ganforge-shapes" and found["shapes"]["loaded"]
    assert found["shapes"]["registered"] == {"losses": ["ra-least-squares"], "datasets": ["shapes-folder"],
                                             "exporters": ["exported-program"]}


def test_loss_conforms(check_loss):
    check_loss(get("losses", "ra-least-squares")())


def test_dataset_conforms(check_dataset, shapes):
    data = get("datasets", "shapes-folder")(root=shapes)
    check_dataset(data)
    assert (data.channels, data.image_size) == (3, 32) and not hasattr(data, "images")  # read from disk


def test_relativistic_loss_trains_dcgan_and_the_run_resumes_exactly(shapes, tmp_path):
    """Through dcgan's own AdversarialRecipe, at the dataset's own 32 px, with two D steps; a run
    stopped at step 3 and resumed ends with the weights of one never stopped."""
    settings = dict(batch_size=8, dataset="shapes-folder", data_root=str(shapes), quiet=True,
                    params={**TINY, "loss": "ra-least-squares", "d_steps": 2})
    ganforge.train("dcgan", steps=6, out=tmp_path / "whole", **settings)
    ganforge.train("dcgan", steps=3, out=tmp_path / "parts", **settings)
    ganforge.train("dcgan", steps=6, resume=tmp_path / "parts", quiet=True)
    assert json.loads((tmp_path / "whole" / "config.json").read_text())["params"]["image_size"] == 32
    whole, parts = (ganforge.load_network(tmp_path / run / "D.ckpt").state_dict() for run in ("whole", "parts"))
    assert all(torch.equal(whole[k], parts[k]) for k in whole)


def test_exporter_is_verified_sampled_and_benchmarked(shapes, tmp_path):
    ganforge.train("dcgan", steps=2, batch_size=8, dataset="shapes-folder", data_root=str(shapes),
                   out=tmp_path, quiet=True, params=TINY)
    result = ganforge.export(tmp_path, "exported-program", max_batch=8)
    assert result.path == tmp_path / "G.ep" and result.max_abs_error <= result.tolerance
    G = ganforge.load_generator(result.path)
    assert G.backend == "exported-program" and G.generate(3, seed=0).shape == (3, 3, 32, 32)
    rows = ganforge.bench(result.path, batch_sizes=[2], repeats=2)
    assert [r["backend"] for r in rows] == ["torch", "exported-program"] and all("p50_ms" in r for r in rows)
