"""AOTInductor packages: ``torch.export`` compiled ahead of time to native code.

The ``.pt2`` package holds a shared library and the weights; loading it needs
torch but no Python model code, and runs without the eager interpreter overhead,
which matters most at small batch sizes. A package is compiled for one device
(CPU or CUDA) and records it with the generator's metadata.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ganforge.plugin import (EXPORT_MAX_BATCH, PRECISIONS, artifact_meta, dump_meta, export_example, Exporter, first_line,
                             GanforgeError)

from .precision import in_precision


def check_members(path) -> None:
    """Refuse a package whose zip members would be written outside the folder torch extracts
    it to (``../``, absolute paths, drive letters), reading only the zip's directory."""
    import zipfile
    from pathlib import PurePosixPath, PureWindowsPath

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise GanforgeError(f"'{path}' is not a loadable AOTInductor package: {first_line(exc)[:200]}") from None
    for name in names:
        posix, windows = PurePosixPath(name), PureWindowsPath(name)
        if posix.is_absolute() or windows.is_absolute() or windows.drive or ".." in posix.parts or ".." in windows.parts:
            raise GanforgeError(f"'{path}' holds a member named '{name[:80]}', which would be written outside the "
                                "folder it is extracted to; it was not loaded")


class AOTIRunner:
    def __init__(self, compiled, package_device: str, device: str):
        self.compiled, self.package_device, self.device = compiled, package_device, device

    def __call__(self, *inputs):
        return self.compiled(*(x.to(self.package_device) for x in inputs)).to(self.device)


class AOTIExporter(Exporter):
    """AOTInductor package (.pt2) for CPU or CUDA."""

    name = "aoti"
    suffix = ".pt2"
    precisions = PRECISIONS

    def unavailable(self, device: str = "cpu") -> str | None:
        import torch

        if str(device).startswith("cuda") and not torch.cuda.is_available():
            return "CUDA was asked for and none is available"
        if str(device) == "cpu" and not (shutil.which("g++") or shutil.which("clang++") or os.environ.get("CXX")):
            return "AOTInductor compiles C++ and no compiler was found (install g++)"
        return None

    def export(self, generator, path, *, precision="fp32", max_batch=EXPORT_MAX_BATCH, device="cpu"):
        import torch
        import torch._inductor

        path = Path(path)
        meta = artifact_meta(generator, self, precision)
        meta["device"] = str(device)
        module = in_precision(generator.module, precision)
        example, dynamic = export_example(module, generator.signature, max_batch, device,
                                          meta.get("size_multiple") if meta.get("dynamic_size") else None)
        try:
            with torch.no_grad():
                program = torch.export.export(module, tuple(example), dynamic_shapes=dynamic)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.tmp.pt2")
                # freezing folds the weights in as constants, so oneDNN can pre-pack them for the CPU; not
                # for a dynamic height and width, where the pre-packed kernels it picks leave the fp32
                # tolerance at sizes other than the example's (and were no faster: docs/export.md)
                configs = {"freezing": not meta.get("dynamic_size"), "aot_inductor.metadata": {"ganforge": dump_meta(meta)}}
                torch._inductor.aoti_compile_and_package(program, package_path=str(tmp), inductor_configs=configs)
        except GanforgeError:
            raise
        except Exception as exc:
            raise GanforgeError(f"AOTInductor export failed: {first_line(exc)[:300]}") from None
        os.replace(tmp, path)

    def load(self, path, device="cpu"):
        import torch._inductor

        check_members(path)  # torch extracts the package: nothing may land outside its folder
        try:
            compiled = torch._inductor.aoti_load_package(str(path))
            metadata = compiled.get_metadata()
        except Exception as exc:
            raise GanforgeError(f"'{path}' is not a loadable AOTInductor package: {first_line(exc)[:200]}") from None
        if "ganforge" not in metadata:
            raise GanforgeError(f"'{path}' was not exported by ganforge (it has no ganforge metadata)")
        meta = json.loads(metadata["ganforge"])
        return AOTIRunner(compiled, meta["device"], device), meta
