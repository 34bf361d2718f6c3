"""Reduced precision set in the graph itself.

TensorRT 11 builds strongly typed networks: each tensor keeps the type the ONNX
graph gives it, and the old FP16/BF16 builder flags are gone. So a half-precision
engine starts from a half-precision graph: weights and activations in fp16/bf16,
with layers whose statistics overflow or lose too much in half precision
(instance, group and layer norm) kept in fp32, and the image returned in fp32.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
KEEP_FP32 = (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.GroupNorm, nn.LayerNorm)


class InFloat32(nn.Module):
    """Runs one precision-sensitive layer in fp32 inside a half-precision network."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer.float()

    def forward(self, x):
        return self.layer(x.float()).to(x.dtype)


class InPrecision(nn.Module):
    """The generator with weights and floating inputs cast to ``dtype``; outputs fp32."""

    def __init__(self, module: nn.Module, dtype: torch.dtype):
        super().__init__()
        self.dtype = dtype
        self.module = copy.deepcopy(module).to(dtype)
        for parent in list(self.module.modules()):
            for name, child in parent.named_children():
                if isinstance(child, KEEP_FP32):
                    setattr(parent, name, InFloat32(child))

    def forward(self, *inputs):
        inputs = [x.to(self.dtype) if x.is_floating_point() else x for x in inputs]
        return self.module(*inputs).float()


def in_precision(module: nn.Module, precision: str) -> nn.Module:
    return module if precision == "fp32" else InPrecision(module, DTYPES[precision]).eval()
