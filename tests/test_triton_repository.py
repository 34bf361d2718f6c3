"""A Triton model repository exported for a noise, a conditional and an image-to-image generator
parses as Triton's ModelConfig, and its model answers to the names and shapes it declares."""

import shutil

import pytest

import ganforge

from support.cli import cli

pytestmark = pytest.mark.e2e


def parse(path):
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


@pytest.fixture(scope="module")
def cyclegan(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "cyclegan"
    ganforge.train("cyclegan", steps=1, batch_size=2, out=run, quiet=True, params={"g_width": 4, "d_width": 4})
    return run


@pytest.mark.parametrize("source, name, inputs", [
    ("tests/fixtures/release-7f62249/dcgan", "dcgan", {"z": [16]}),
    ("tests/fixtures/release-7f62249/cgan", "cgan", {"z": [16], "label": [1]}),
    ("cyclegan", "cyclegan", {"image": [1, -1, -1]}),  # fully convolutional: any height and width
])
def test_a_repository_parses_as_triton_model_config(source, name, inputs, tmp_path, cyclegan):
    import onnxruntime as ort

    if source == "cyclegan":
        path = cyclegan
    else:  # a copy: exporting from a run records the export in it, and the fixtures stay as released
        path = tmp_path / "run"
        shutil.copytree(source, path)
    if name == "cgan":  # the Python API writes the same repository
        assert ganforge.export(path, triton=tmp_path / "repo", max_batch=16) == tmp_path / "repo" / name
    else:  # --triton, and its first name --triton-repo
        flag = "--triton" if name == "dcgan" else "--triton-repo"
        result = cli("export", path, flag, tmp_path / "repo", "--max-batch", "16")
        assert result.returncode == 0, result.stderr
    config = parse(tmp_path / "repo" / name / "config.pbtxt")
    assert config.name == name and config.platform == "onnxruntime_onnx" and config.max_batch_size == 16
    assert {i.name: list(i.dims) for i in config.input} == inputs
    assert config.HasField("dynamic_batching") and list(config.output[0].dims)[0] in (1, 3)
    if "label" in inputs:
        label = next(i for i in config.input if i.name == "label")
        from tritonclient.grpc import model_config_pb2

        assert label.data_type == model_config_pb2.TYPE_INT64 and list(label.reshape.shape) == []
    session = ort.InferenceSession(str(tmp_path / "repo" / name / "1" / "model.onnx"))
    assert [i.name for i in session.get_inputs()] == list(inputs) and session.get_outputs()[0].name == "output"
