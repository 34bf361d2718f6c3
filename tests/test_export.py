"""Exporters: every generator kind to ONNX and back, TensorRT and AOTInductor, errors, bench."""

import json
import shutil

import onnx
import pytest
import torch

import ganforge
from ganforge.errors import GanforgeError
from ganforge.artifacts.export import compare
from ganforge.contracts.exporter import get_exporter
from ganforge.contracts.networks import random_inputs

from support.sizes import TINY_DCGAN
from support.cli import cli

pytestmark = pytest.mark.e2e  # every test here trains, exports or starts processes

KINDS = {
    "latent": ("dcgan", {**TINY_DCGAN}, ["z"]),
    "latent+class": ("cgan", {**TINY_DCGAN}, ["z", "label"]),
    "image-to-image": ("cyclegan", {"g_width": 4, "d_width": 4}, ["image"]),
    "text": ("stackgan", {"g_width": 8, "d_width": 8, "latent_dim": 8}, ["z", "text"]),
}


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """One tiny trained run per generator kind (a few steps: the weights only need to be non-trivial)."""
    from ganforge.hooks import manager as plugin_manager

    plugin_manager.reset_plugins()
    runs = {}
    for kind, (recipe, params, _) in KINDS.items():
        out = tmp_path_factory.mktemp("runs") / recipe
        ganforge.train(recipe, steps=2, batch_size=4, out=out, params=params, quiet=True)
        runs[kind] = out
    return runs


@pytest.mark.parametrize("kind", list(KINDS))
def test_onnx_export_of_every_generator_kind(tiny_runs, kind, tmp_path):
    run = tiny_runs[kind]
    recipe, _, input_names = KINDS[kind]
    result = ganforge.export(run, "onnx", tmp_path / "G.onnx", max_batch=16)
    assert result.verified and result.max_abs_error <= 1e-4, result

    # a valid model with named inputs, one output and a dynamic batch dimension
    model = onnx.load(str(result.path))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == input_names
    assert [o.name for o in model.graph.output] == ["output"]
    assert all(not i.type.tensor_type.shape.dim[0].HasField("dim_value") for i in model.graph.input)

    # metadata round trip: the artifact alone describes the generator
    meta = json.loads({p.key: p.value for p in model.metadata_props}["ganforge"])
    reference = ganforge.load_generator(run)
    assert meta["recipe"] == recipe and meta["format"] == "onnx"
    assert meta["signature"] == reference.signature and tuple(meta["output_range"]) == reference.output_range
    assert {"ganforge", "torch"} <= set(meta["versions"])

    # ONNX Runtime agrees with PyTorch at batch sizes other than the one exported with
    artifact = ganforge.load_generator(result.path)
    assert artifact.backend == "onnx" and artifact.signature == reference.signature
    for n in (1, 3, 16):
        inputs = random_inputs(reference.signature, n, torch.Generator().manual_seed(n))
        assert torch.allclose(artifact(*inputs), reference(*inputs), atol=1e-4)


def test_loaded_artifact_has_the_checkpoint_interface(tiny_runs, tmp_path):
    run = tiny_runs["latent+class"]
    path = ganforge.export(run, "onnx", tmp_path / "G.onnx").path
    G, reference = ganforge.load_generator(path), ganforge.load_generator(run)
    assert torch.allclose(G.generate(5, seed=3, label=4), reference.generate(5, seed=3, label=4), atol=1e-4)
    assert G.generate_per_class(2, seed=0).shape == (20, 1, 28, 28)
    # the CLI samples from the artifact like from a checkpoint
    result = cli("sample", str(path), "-n", "4", "--label", "2", "-o", str(tmp_path / "s.png"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "s.png").stat().st_size > 0


def test_text_generator_artifact_draws_from_a_caption(tiny_runs, tmp_path):
    path = ganforge.export(tiny_runs["text"], "onnx", tmp_path / "G.onnx").path
    G, reference = ganforge.load_generator(path), ganforge.load_generator(tiny_runs["text"])
    text = "a thick handwritten seven"
    assert torch.allclose(G.generate(3, seed=1, text=text), reference.generate(3, seed=1, text=text), atol=1e-4)


def test_translate_accepts_exported_generators_in_both_directions(tiny_runs, tmp_path):
    run = tiny_runs["image-to-image"]
    ganforge.export(run / "G.ckpt", "onnx", tmp_path / "G.onnx")
    ganforge.export(run / "G_BA.ckpt", "onnx", tmp_path / "G_BA.onnx")
    image = tmp_path / "in.png"
    ganforge.sample(run, 1, out=image, seed=0)  # any 28x28 picture will do
    for direction in ("AtoB", "BtoA"):
        from_artifact = ganforge.translate(tmp_path / "G.onnx", image, tmp_path / f"a_{direction}.png",
                                           direction=direction)
        from_checkpoint = ganforge.translate(run, image, tmp_path / f"c_{direction}.png", direction=direction)
        from ganforge.data.pictures import read_image

        a, c = read_image(from_artifact.written[0], 1, 28), read_image(from_checkpoint.written[0], 1, 28)
        assert (a - c).abs().max() <= 2 / 255 * 2  # equal up to 8-bit rounding


def test_export_cli_writes_verifies_and_reports(tiny_runs, tmp_path):
    out = tmp_path / "dc.onnx"
    result = cli("export", "--onnx", str(tiny_runs["latent"] / "G.ckpt"), "-o", str(out), "--max-batch", "8")
    assert result.returncode == 0, result.stderr
    assert out.is_file() and "max abs error" in result.stdout and "OK" in result.stdout and "<= 0.0001 allowed for fp32" in result.stdout


def test_verification_failure_removes_the_artifact_and_exits_non_zero(tiny_runs, tmp_path, monkeypatch):
    from ganforge.builtins.exporters.onnx_exporter import OnnxExporter

    # an exporter that writes a model of the wrong generator: verification must catch it
    wrong = ganforge.load_generator(tiny_runs["latent"])
    torch.nn.init.normal_(next(wrong.module.parameters()))
    original = OnnxExporter.export

    def export_wrong_weights(self, generator, path, **kwargs):
        original(self, wrong, path, **kwargs)

    monkeypatch.setattr(OnnxExporter, "export", export_wrong_weights)
    with pytest.raises(GanforgeError, match="differs from PyTorch"):
        ganforge.export(tiny_runs["latent"], "onnx", tmp_path / "G.onnx")
    assert not (tmp_path / "G.onnx").exists()


@pytest.mark.parametrize("args,message", [
    (["--trt"], "TensorRT"),
    (["--format", "coreml"], "unknown exporter 'coreml'"),
    (["--onnx", "--precision", "fp16"], "supports precision fp32"),
    (["--aoti", "--device", "cuda"], "CUDA"),
    (["--opset", "7"], "cannot be exported at opset 7"),
    (["--opset", "99"], "opset 99 does not exist"),
    (["--aoti", "--opset", "17"], "does not take opset"),
])
def test_export_errors_are_one_line(tiny_runs, args, message):
    if args == ["--trt"] and shutil.which("nvidia-smi") and _tensorrt_ready():
        pytest.skip("TensorRT and a GPU are present: the missing-TensorRT error cannot happen here")
    if args[0] == "--aoti" and torch.cuda.is_available():
        pytest.skip("CUDA is present")
    result = cli("export", *args, str(tiny_runs["latent"]))
    assert result.returncode == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_loading_an_artifact_of_another_kind_is_a_clear_error(tiny_runs, tmp_path):
    garbage = tmp_path / "G.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(GanforgeError, match="not a readable ONNX model"):
        ganforge.load_generator(garbage)
    # a valid ONNX model that ganforge did not write
    plain = tmp_path / "plain.onnx"
    torch.onnx.export(torch.nn.Linear(2, 2), (torch.zeros(1, 2),), str(plain), dynamo=True)
    with pytest.raises(GanforgeError, match="not exported by ganforge"):
        ganforge.load_generator(plain)
    engine = tmp_path / "G.engine"
    engine.write_bytes(b"\0" * 16)
    result = cli("sample", str(engine))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_exporting_an_artifact_again_is_refused(tiny_runs, tmp_path):
    path = ganforge.export(tiny_runs["latent"], "onnx", tmp_path / "G.onnx").path
    with pytest.raises(GanforgeError, match="already an exported artifact"):
        ganforge.export(path, "onnx", tmp_path / "again.onnx")


def test_half_precision_graph_keeps_instance_norm_in_fp32(tiny_runs):
    """What TensorRT's strongly typed networks receive: weights in fp16, norms in fp32."""
    from ganforge.builtins.exporters.precision import InFloat32, in_precision

    G = ganforge.load_generator(tiny_runs["image-to-image"])
    half = in_precision(G.module, "fp16")
    norms = [m for m in half.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert norms and all(isinstance(p, InFloat32) for p in _parents_of(half, norms))
    convs = [m for m in half.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.weight.dtype == torch.float16 for c in convs)
    x = random_inputs(G.signature, 2, torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = half(*x)
    assert out.dtype == torch.float32 and (out - G(*x)).abs().max() < 5e-2


def _parents_of(root, modules):
    wanted = {id(m) for m in modules}
    return [parent for parent in root.modules() for child in parent.children() if id(child) in wanted]


def _tensorrt_ready():
    return get_exporter("tensorrt").unavailable("cuda") is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="TensorRT needs an NVIDIA GPU; none is present here")
@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_tensorrt_engine_matches_pytorch(tiny_runs, tmp_path, precision):
    if not _tensorrt_ready():
        pytest.skip(f"TensorRT unavailable: {get_exporter('tensorrt').unavailable('cuda')}")
    for kind in KINDS:
        result = ganforge.export(tiny_runs[kind], "tensorrt", tmp_path / f"{kind}.engine", precision=precision,
                                 max_batch=16)
        assert result.verified
        G = ganforge.load_generator(result.path, device="cuda")
        reference = ganforge.load_generator(tiny_runs[kind], device="cuda")
        assert G.backend == "tensorrt" and json.loads((tmp_path / f"{kind}.engine.json").read_text())["precision"] == precision
        max_abs, _ = compare(reference, G, (1, 7, 16))
        assert max_abs <= result.tolerance


@pytest.mark.system
@pytest.mark.skipif(shutil.which("g++") is None, reason="AOTInductor compiles C++; no g++ here")
def test_aoti_package_matches_pytorch_and_carries_metadata(aoti_package):
    source, package = aoti_package  # exported and verified against PyTorch by the exporter
    G = ganforge.load_generator(package)
    reference = ganforge.load_generator(source)
    assert G.backend == "aoti" and G.meta["recipe"] == "cgan" and G.signature == reference.signature
    assert torch.allclose(G.generate(9, seed=2, label=3), reference.generate(9, seed=2, label=3), atol=1e-4)


def test_bench_times_backends_and_lists_what_cannot_run(tiny_runs):
    rows = ganforge.bench(tiny_runs["latent"], ["torch", "onnxruntime", "tensorrt", "torch-compile"], [1, 4],
                          device="cpu", repeats=3)
    by = {(r["backend"], r["batch"]): r for r in rows}
    assert set(by) == {(b, n) for b in ("torch", "onnxruntime", "tensorrt", "torch-compile") for n in (1, 4)}
    for n in (1, 4):
        assert by[("torch", n)]["speedup"] == pytest.approx(1.0)
        ort = by[("onnxruntime", n)]
        assert ort["p50_ms"] > 0 and ort["p95_ms"] >= ort["p50_ms"] and ort["images_per_s"] == pytest.approx(
            n / ort["p50_ms"] * 1e3)
        assert "skipped" in by[("torch-compile", n)]
        if not _tensorrt_ready():
            assert "TensorRT" in by[("tensorrt", n)]["skipped"]


def test_bench_cli_prints_json(tiny_runs):
    result = cli("bench", str(tiny_runs["latent"]), "--backends", "torch,onnxruntime", "--batch-sizes", "2",
                     "--repeats", "2", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["backend"] for r in rows] == ["torch", "onnxruntime"] and all(r["gflop_per_s"] > 0 for r in rows)


def test_half_precision_onnx_graph_for_tensorrt(tiny_runs, tmp_path):
    """The graph the TensorRT exporter parses for --precision fp16: fp32 inputs and output,
    fp16 weights, instance norm computed in fp32; ONNX Runtime on CPU agrees within the fp16 tolerance."""
    import onnxruntime as ort

    from ganforge.builtins.exporters.onnx_exporter import write_onnx
    from ganforge.builtins.exporters.precision import in_precision

    G = ganforge.load_generator(tiny_runs["image-to-image"])
    path = tmp_path / "half.onnx"
    write_onnx(in_precision(G.module, "fp16"), G.signature, path, {"signature": G.signature}, max_batch=8)
    model = onnx.load(str(path))
    fp16, fp32 = onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT
    assert model.graph.input[0].type.tensor_type.elem_type == fp32
    assert model.graph.output[0].type.tensor_type.elem_type == fp32
    conv_weights = {n.input[1] for n in model.graph.node if n.op_type == "Conv"}
    assert conv_weights and all(t.data_type == fp16 for t in model.graph.initializer if t.name in conv_weights)
    types = {v.name: v.type.tensor_type.elem_type
             for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
    norms = [n for n in model.graph.node if n.op_type in ("InstanceNormalization", "ReduceMean")]
    assert norms and all(types.get(n.input[0], fp32) == fp32 for n in norms)
    x = random_inputs(G.signature, 3, torch.Generator().manual_seed(0))
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # pragma: no cover - depends on the ONNX Runtime build
        pytest.skip(f"this ONNX Runtime cannot run fp16 graphs on CPU: {exc}")
    (out,) = session.run(None, {"image": x[0].numpy()})
    assert (torch.from_numpy(out) - G(*x)).abs().max() < 5e-2
