"""Files a hostile or careless user could hand to ganforge, each with the command that reads
it and the words of the one-line refusal expected. Shared by tests/test_faults.py and
benchmarks/faults.py."""

import json
import os
import pickle
import shutil
import struct
from pathlib import Path

from safetensors.torch import save_file


# A small interpreter starts ganforge and reports its exit status and peak memory. Linux
# carries a parent's peak memory over to the child it forks, so a large parent (pytest)
# cannot measure its own children; this intermediate is small.
_MEASURE = ("import os, subprocess, sys\n"
            "p = subprocess.Popen([sys.executable, '-m', 'ganforge', *sys.argv[1:]], stdout=subprocess.DEVNULL, "
            "stderr=subprocess.PIPE)\n"
            "err = p.stderr.read()\n"
            "_, status, usage = os.wait4(p.pid, 0)\n"
            "sys.stderr.buffer.write(err)\n"
            "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n")


def _capped(address_space: int | None):
    """What a child process runs before it starts: ``ulimit -v address_space`` (None: no cap)."""
    import resource

    if not address_space:
        return None
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))


def run_measured(args, address_space: int | None = None) -> tuple[int, str, int, float]:
    """``ganforge ARGS`` in a fresh process: exit status, stderr, peak memory (kB) and seconds.
    ``address_space``: a cap in bytes on the ganforge process's virtual memory (``ulimit -v``)."""
    import subprocess
    import sys
    import time

    began = time.perf_counter()
    # the cap is inherited by the ganforge process that the small measuring interpreter starts
    done = subprocess.run([sys.executable, "-c", _MEASURE, *map(str, args)], capture_output=True, text=True,
                          preexec_fn=_capped(address_space))
    code, peak = map(int, done.stdout.split())
    return code, done.stderr, peak, time.perf_counter() - began


def _with_meta(source: Path, target: Path, change) -> Path:
    """A copy of the checkpoint ``source`` whose ganforge metadata ``change(meta)`` edited
    (its tensors untouched)."""
    from ganforge.artifacts import checkpoint

    tensors, meta = checkpoint.load(source)
    change(meta)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(target), metadata={"ganforge": json.dumps(meta)})
    return target


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        f.truncate(size)
    return path


class Evil:
    """Unpickling this runs code: the marker file proves it did."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _onnx_identity(path: Path, meta: dict | None, output="output", elem="FLOAT", width=64) -> Path:
    """An ONNX graph passing z (N x width) straight through: not an image generator."""
    import onnx
    from onnx import TensorProto, helper

    kind = getattr(TensorProto, elem)
    graph = helper.make_graph([helper.make_node("Identity", ["z"], [output])], "identity",
                              [helper.make_tensor_value_info("z", kind, ["batch", width])],
                              [helper.make_tensor_value_info(output, kind, ["batch", width])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    if meta is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = "ganforge", meta if isinstance(meta, str) else json.dumps(meta)
    onnx.save(model, str(path))
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _onnx_outside(folder: Path) -> Path:
    """An ONNX model whose weight is external data at ../secret.bin: outside the model's folder."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    (folder / "secret.bin").write_bytes(np.ones(16, dtype=np.float32).tobytes())
    inner = folder / "onnx-model"
    inner.mkdir(exist_ok=True)
    weight = numpy_helper.from_array(np.zeros(16, dtype=np.float32), "w")
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("raw_data")
    for key, value in (("location", "../secret.bin"), ("offset", "0"), ("length", "64")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph([helper.make_node("Add", ["z", "w"], ["output"])], "g",
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 16])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 16])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    path = inner / "G.onnx"
    onnx.save(model, str(path))
    return path


# Many commands in one fresh interpreter (started through the same small measurer), each
# through the real CLI entry point with its stderr captured at the descriptor: exit status,
# stderr, the process's peak memory after it (kB) and its seconds. Peak memory only grows, so
# the last peak bounds what every command cost.
_MEASURE_MANY = ("import json, os, resource, sys, tempfile, time\n"
                 "from ganforge.cli import cli\n"
                 "results = []\n"
                 "for args in json.loads(sys.argv[2]):\n"
                 "    with tempfile.TemporaryFile() as err, open(os.devnull, 'w') as null:\n"
                 "        sys.stdout.flush(); sys.stderr.flush(); saved = os.dup(1), os.dup(2)\n"
                 "        os.dup2(null.fileno(), 1); os.dup2(err.fileno(), 2)\n"
                 "        began = time.perf_counter()\n"
                 "        try:\n"
                 "            cli(args, prog_name='ganforge'); code = 0\n"
                 "        except SystemExit as e:\n"
                 "            code = e.code if isinstance(e.code, int) else int(e.code is not None)\n"
                 "        finally:\n"
                 "            sys.stdout.flush(); sys.stderr.flush(); os.dup2(saved[0], 1); os.dup2(saved[1], 2)\n"
                 "        elapsed = time.perf_counter() - began\n"
                 "        err.seek(0)\n"
                 "        results.append([code, err.read().decode(errors='replace'),\n"
                 "                        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, elapsed])\n"
                 "with open(sys.argv[1], 'w') as f:\n"
                 "    json.dump(results, f)\n")


def run_measured_many(commands: list[list[str]], address_space: int | None = None) -> tuple[int, list]:
    """Every ``ganforge ARGS`` of ``commands`` in one fresh interpreter (under ``address_space``
    bytes of virtual memory): the peak memory (kB) of an interpreter that only started ganforge,
    and per command the exit status, stderr, the peak memory so far (kB) and seconds."""
    import subprocess
    import sys
    import tempfile

    startup = ("import resource, sys\nimport ganforge.cli, ganforge.artifacts.loading\n"
               "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        baseline = subprocess.run([sys.executable, "-c", startup], capture_output=True, text=True, check=True,
                                  preexec_fn=_capped(address_space))
        done = subprocess.run([sys.executable, "-c", _MEASURE_MANY, str(out), json.dumps([list(map(str, c))
                                                                                        for c in commands])],
                              capture_output=True, text=True, preexec_fn=_capped(address_space))
        if not out.exists():
            raise AssertionError(f"the measuring interpreter failed: {done.stderr[-2000:]}")
        return int(baseline.stdout), json.loads(out.read_text())


def crafted_files(folder: Path, gan_run: Path) -> list[tuple[str, list[str], str]]:
    """``(what, ganforge arguments, expected words)`` for every crafted file, written into
    ``folder``. ``gan_run`` is a trained run of the MLP GAN (its G.ckpt is edited)."""
    folder.mkdir(parents=True, exist_ok=True)
    g = gan_run / "G.ckpt"
    out = str(folder / "out.png")
    marker = folder / "code-ran"
    with open(folder / "pickle.ckpt", "wb") as f:
        pickle.dump(Evil(marker), f)
    signature = [{"name": "z", "shape": [64], "dtype": "float32", "distribution": "normal"}]
    meta = {"kind": "generator", "signature": signature, "output_range": [-1, 1], "step": 1}

    def kwargs(**change):
        return lambda m: m["network_kwargs"].update(change)

    def signature_shape(m):
        m["signature"][0]["shape"] = [10 ** 12]

    def no_signature(m):
        del m["signature"]

    header_bomb = folder / "header.ckpt"
    header_bomb.write_bytes(struct.pack("<Q", 2 ** 40) + b"{}")
    resume_run = folder / "resume-run"
    shutil.copytree(gan_run, resume_run)
    config = json.loads((resume_run / "config.json").read_text())
    config["params"]["hidden"] = 10 ** 7
    (resume_run / "config.json").write_text(json.dumps(config))
    return [
        ("40 GB sparse file as a checkpoint", ["sample", str(_sparse(folder / "huge.ckpt", 40 * 2 ** 30)), "-o", out],
         "not a readable ganforge checkpoint"),
        ("header length of 1 TB", ["sample", str(header_bomb), "-o", out], "not a readable ganforge checkpoint"),
        ("a pickle that runs code", ["sample", str(folder / "pickle.ckpt"), "-o", out],
         "not a readable ganforge checkpoint"),
        ("layers = 10**7 in G.ckpt", ["sample", str(_with_meta(g, folder / "layers.ckpt", kwargs(layers=10 ** 7))),
                                      "-o", out], "more than its file holds"),
        ("hidden = 30000 in G.ckpt", ["sample", str(_with_meta(g, folder / "hidden.ckpt", kwargs(hidden=30000))),
                                      "-o", out], "more than its file holds"),
        ("signature shape 10**12", ["sample", str(_with_meta(g, folder / "shape.ckpt", signature_shape)), "-o", out],
         "malformed or too large"),
        ("no signature", ["sample", str(_with_meta(g, folder / "nosig.ckpt", no_signature)), "-o", out],
         "does not describe the generator's inputs"),
        ("hidden = 10**7 in a resumed config.json", ["train", "gan", "--resume", str(resume_run), "--steps", "9999"],
         "refused"),
        ("ONNX identity graph, N x 64", ["sample", str(_onnx_identity(folder / "identity.onnx", meta)), "-o", out],
         "must have one output 'output', float N x C x H x W"),
        ("ONNX with corrupt metadata", ["sample", str(_onnx_identity(folder / "badmeta.onnx", "{not json")), "-o", out],
         "corrupt ganforge metadata"),
        ("ONNX with a wrong output name", ["sample", str(_onnx_identity(folder / "name.onnx", meta, output="image")),
                                           "-o", out], "must have one output 'output'"),
        ("ONNX with a wrong input type", ["sample", str(_onnx_identity(folder / "type.onnx", meta, elem="DOUBLE")),
                                          "-o", out], "input 'z' is tensor(double)"),
        ("ONNX with external data outside its folder", ["sample", str(_onnx_outside(folder)), "-o", out],
         "not a readable ONNX model"),
        (".pt2 with a swapped library (not exported here)",
         ["sample", str(_zip(folder / "swapped.pt2", {"G/data/aotinductor/model/model.so": b"\x7fELF stand-in"})),
          "-o", out], "runs native code when it loads"),
        (".pt2 with a ../ member, even with --trust",
         ["sample", str(_zip(folder / "escape.pt2", {"../../escaped.txt": b"outside"})), "--trust", "-o", out],
         "outside the folder"),
        ("TensorRT engine not exported here", ["sample", str(_stand_in_engine(folder)), "-o", out],
         "runs native code when it loads"),
    ]


def _stand_in_engine(folder: Path) -> Path:
    engine = folder / "G.engine"
    engine.write_bytes(b"a stand-in: a real engine may embed plugin libraries")
    (folder / "G.engine.json").write_text(json.dumps({"format": "tensorrt", "max_batch": 1, "output_range": [-1, 1],
                                                      "signature": [{"name": "z", "shape": [4], "dtype": "float32",
                                                                     "distribution": "normal"}]}))
    return engine
