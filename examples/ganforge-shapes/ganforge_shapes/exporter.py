"""A torch.export program as a deployable artifact: the generator's graph and weights, run
by PyTorch without its Python source. Metadata travels inside the file."""

from __future__ import annotations

import json

import torch

from ganforge.plugin import Exporter, artifact_meta, batch_dynamic_shapes, dump_meta

META_FILE = "ganforge.json"


class ExportedProgramExporter(Exporter):
    name = "exported-program"
    suffix = ".ep"
    precisions = ("fp32",)
    devices = ("cpu",)

    def export(self, generator, path, *, precision="fp32", max_batch=256, device="cpu"):
        module = generator.module.eval()
        inputs = tuple(generator.random_inputs(2))
        program = torch.export.export(module, inputs, dynamic_shapes=batch_dynamic_shapes(module, len(inputs), max_batch))
        with open(path, "wb") as f:  # a file object: torch.export names files .pt2, and .pt2 is AOTInductor's here
            torch.export.save(program, f, extra_files={META_FILE: dump_meta(artifact_meta(generator, self, precision))})

    def load(self, path, device="cpu"):
        extra = {META_FILE: ""}
        with open(path, "rb") as f:
            program = torch.export.load(f, extra_files=extra)
        return program.module(), json.loads(extra[META_FILE])
