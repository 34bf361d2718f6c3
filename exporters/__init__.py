"""Built-in exporters: ONNX, TensorRT and AOTInductor."""

from ganforge.plugin import hookimpl


@hookimpl
def register_exporters(register):
    register("onnx", "ganforge.builtins.exporters.onnx_exporter:OnnxExporter",
             "ONNX model (torch.onnx dynamo exporter), run with ONNX Runtime (CUDA when available)")
    register("tensorrt", "ganforge.builtins.exporters.tensorrt_exporter:TensorRTExporter",
             "TensorRT engine built from the ONNX model (fp32, fp16 or bf16; needs CUDA and tensorrt)")
    register("aoti", "ganforge.builtins.exporters.aoti_exporter:AOTIExporter",
             "AOTInductor package (.pt2): torch.export compiled to native code, no Python graph at run time")
