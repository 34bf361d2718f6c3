"""Native-code artifacts (.pt2 packages, TensorRT engines) load only when trusted: exported
here, recorded with `ganforge trust`, or loaded with --trust; the check comes before any byte
reaches torch's or TensorRT's loader. ONNX models are data, and stay so."""

import json
import shutil
import subprocess
import zipfile

import pytest

import ganforge
from ganforge.artifacts import trust

from support.cli import cli
from support.plugins import TestPlugin

RELEASE = "tests/fixtures/release-7f62249/dcgan"


def released(tmp_path, name="dcgan"):
    """A copy of a released G.ckpt outside any run directory: exporting it writes nothing into
    the repository's fixtures."""
    target = tmp_path / "released" / name / "G.ckpt"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(f"tests/fixtures/release-7f62249/{name}/G.ckpt", target)
    return target


def stand_in_engine(folder):
    """A file named like a TensorRT engine, with the sidecar ganforge writes beside one."""
    engine = folder / "G.engine"
    engine.write_bytes(b"not a real engine: it could embed plugin libraries")
    meta = {"format": "tensorrt", "signature": [{"name": "z", "shape": [4], "dtype": "float32",
                                                 "distribution": "normal"}], "output_range": [-1, 1], "max_batch": 4}
    (folder / "G.engine.json").write_text(json.dumps(meta))
    return engine


def one_error_line(result, *words):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", ["sample", "eval", "bench", "interpolate"])
def test_an_engine_from_elsewhere_is_refused_in_every_command(tmp_path, command):
    engine = stand_in_engine(tmp_path)
    args = {"sample": ["-o", tmp_path / "s.png"], "eval": ["-n", "10"], "bench": ["--batch-sizes", "1"],
            "interpolate": ["-o", tmp_path / "i.png"]}[command]
    result = cli(command, engine, *args)
    one_error_line(result, "runs native code when it loads", "ganforge did not export it", "--trust",
                   "ganforge trust")


def test_trusting_an_engine_lets_it_reach_its_loader_and_a_changed_file_is_refused_again(tmp_path):
    engine = stand_in_engine(tmp_path)
    assert cli("trust", engine).returncode == 0
    # past the trust check, the next one speaks: this machine has no TensorRT
    one_error_line(cli("sample", engine, "-o", tmp_path / "s.png"), "TensorRT")
    listed = cli("trust")
    assert str(engine.resolve()) in listed.stdout and "trusted" in listed.stdout
    engine.write_bytes(engine.read_bytes() + b"!")  # changed after it was trusted
    one_error_line(cli("sample", engine, "-o", tmp_path / "s.png"), "runs native code")
    assert cli("trust", "--forget", engine).returncode == 0


def test_the_flag_the_keyword_and_the_environment_trust_one_load(tmp_path):
    engine = stand_in_engine(tmp_path)
    one_error_line(cli("sample", engine, "--trust", "-o", tmp_path / "s.png"), "TensorRT")
    with pytest.raises(ganforge.GanforgeError, match="TensorRT"):
        ganforge.load_generator(engine, trust=True)
    with pytest.raises(ganforge.GanforgeError, match="runs native code"):
        ganforge.load_generator(engine)
    one_error_line(cli("sample", engine, "-o", tmp_path / "s.png", env={trust.ENV: "1"}), "TensorRT")


def test_an_artifact_exported_here_loads_without_a_flag_and_a_copy_changed_is_refused(tmp_path, add_plugin):
    add_plugin(TestPlugin())
    artifact = ganforge.export(released(tmp_path), "raw", tmp_path / "G.rawgen").path  # a plugin's exporter: native by default
    assert ganforge.load_generator(artifact).generate(2, seed=0).shape[0] == 2
    tampered = tmp_path / "other.rawgen"
    tampered.write_bytes(artifact.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ganforge.GanforgeError, match="runs native code"):
        ganforge.load_generator(tampered)


def test_re_exporting_over_an_artifact_replaces_its_record(tmp_path, add_plugin):
    add_plugin(TestPlugin())
    path = tmp_path / "G.rawgen"
    ganforge.export(released(tmp_path), "raw", path)
    first = trust.sha256_of(path)
    ganforge.export(released(tmp_path, "cgan"), "raw", path)
    digests = {sha for sha, entry in trust.records().items() if entry["path"] == str(path.resolve())}
    assert digests == {trust.sha256_of(path)} and first not in digests


@pytest.mark.e2e  # trains, exports or evaluates for real
def test_onnx_models_are_data_and_load_without_trust(tmp_path):
    path = ganforge.export(released(tmp_path), "onnx", tmp_path / "G.onnx").path
    moved = tmp_path / "elsewhere.onnx"
    shutil.copy(path, moved)
    moved.write_bytes(moved.read_bytes())  # a file this user never exported: still fine, it is data
    assert ganforge.load_generator(moved).generate(1, seed=0).shape[0] == 1


def test_onnx_external_data_outside_the_models_folder_is_refused(tmp_path):
    """ONNX Runtime refuses external data that points outside the model's folder; this test keeps an
    upgrade from losing that."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(16, dtype=np.float32).tobytes())
    folder = tmp_path / "model"
    folder.mkdir()
    weight = numpy_helper.from_array(np.zeros(16, dtype=np.float32), "w")
    weight.data_location = TensorProto.EXTERNAL
    del weight.external_data[:]
    for key, value in (("location", "../secret.bin"), ("offset", "0"), ("length", "64")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    weight.ClearField("float_data")
    weight.ClearField("raw_data")
    graph = helper.make_graph([helper.make_node("Add", ["z", "w"], ["output"])], "g",
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 16])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 16])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    meta = model.metadata_props.add()
    meta.key, meta.value = "ganforge", json.dumps({"signature": [{"name": "z", "shape": [16], "dtype": "float32",
                                                                  "distribution": "normal"}], "output_range": [-1, 1]})
    path = folder / "G.onnx"
    onnx.save(model, str(path), save_as_external_data=False)
    one_error_line(cli("sample", path, "-o", tmp_path / "s.png"), "not a readable ONNX model")


def _evil_library(folder, marker):
    """A shared library whose constructor writes ``marker``: what a hostile .pt2 would hold."""
    source = folder / "evil.c"
    source.write_text(f'#include <stdio.h>\n__attribute__((constructor)) static void run(void) {{'
                      f' FILE *f = fopen("{marker}", "w"); if (f) fclose(f); }}\n')
    library = folder / "evil.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return library


def test_a_pt2_with_members_outside_its_folder_is_refused_even_when_trusted(tmp_path):
    package = tmp_path / "G.pt2"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("G/data/aotinductor/model/model.so", b"\x7fELF")
        archive.writestr("../../escaped.txt", b"written outside")
    one_error_line(cli("sample", package, "-o", tmp_path / "s.png"), "runs native code")
    one_error_line(cli("sample", package, "--trust", "-o", tmp_path / "s.png"), "outside the folder")
    assert not (tmp_path.parent / "escaped.txt").exists()


@pytest.mark.system
def test_a_pt2_whose_library_was_swapped_runs_nothing_unless_trusted(tmp_path, aoti_package):
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc to build the stand-in library")
    exported = aoti_package[1]
    assert ganforge.load_generator(exported).generate(1, seed=0).shape[0] == 1  # exported here: loads
    marker = tmp_path / "code-ran"
    evil = _evil_library(tmp_path, marker)
    swapped = tmp_path / "swapped.pt2"
    with zipfile.ZipFile(exported) as source, zipfile.ZipFile(swapped, "w") as target:
        for item in source.infolist():
            data = evil.read_bytes() if item.filename.endswith(".so") else source.read(item)
            target.writestr(item, data)
    for command in (["sample", swapped, "-o", tmp_path / "s.png"], ["eval", swapped, "-n", "10"],
                    ["bench", swapped, "--batch-sizes", "1"]):
        one_error_line(cli(*command), "runs native code")
    assert not marker.exists(), "the swapped library ran"
    cli("sample", swapped, "--trust", "-o", tmp_path / "s.png")  # the user said yes: its constructor runs
    assert marker.exists()
