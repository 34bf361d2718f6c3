"""ganforge serve under load: p50/p99 latency and images/s at 1, 8 and 32 concurrent clients,
with dynamic batching on (--max-batch 32) and off (--max-batch 1), for the 28 px digit DCGAN, a
64 px colour DCGAN and one of the DCGAN paper's widths, on the torch backend and on each
exported backend installed.

    python benchmarks/serve.py [--seconds 5] [--repeats 3] [--clients 1,8,32] [--backends torch,onnx]
        [--generators digits,colour,paper]

Both servers run at once (an idle one costs nothing) and are driven in alternating rounds, so
that the machine's drift over minutes falls on both; the ratio is the median of the rounds'.
Beside it, the generator's forward pass alone at batch 1 and at --max-batch: what batching can
gain at most, whatever the server does.

Each client asks for one image at a time (POST /v2/models/NAME/infer with a fresh z; binary tensors,
or JSON numbers with --json), over
a keep-alive connection, for a bounded time; the server runs on 127.0.0.1 in its own process.
Run it alone: on 2 cores, anything else running changes every figure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

import ganforge


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(path, max_batch: int, max_delay_ms: float = 5.0):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ganforge", "serve", str(path), "--port", str(port),
                             "--max-batch", str(max_batch), "--max-delay-ms", str(max_delay_ms), "--name", "g"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1)
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the server for {path} did not start")


def drive(port: int, z_dim: int, clients: int, seconds: float, binary: bool = True) -> dict:
    latencies, errors = [], []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(index):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        rng = np.random.default_rng(index)
        mine = []
        while time.perf_counter() < stop_at:
            z = rng.standard_normal(z_dim).astype(np.float32)
            if binary:  # Triton's binary tensor extension, both ways (what tritonclient sends with binary_data=True)
                head = json.dumps({"inputs": [{"name": "z", "shape": [1, z_dim], "datatype": "FP32",
                                               "parameters": {"binary_data_size": z.nbytes}}],
                                   "outputs": [{"name": "output", "parameters": {"binary_data": True}}]}).encode()
                body, headers = head + z.tobytes(), {"Inference-Header-Content-Length": str(len(head))}
            else:
                body = json.dumps({"inputs": [{"name": "z", "shape": [1, z_dim], "datatype": "FP32",
                                               "data": z.tolist()}]})
                headers = {"Content-Type": "application/json"}
            began = time.perf_counter()
            connection.request("POST", "/v2/models/g/infer", body, headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors.append(response.status)
                continue
            mine.append(time.perf_counter() - began)
        connection.close()
        with lock:
            latencies.extend(mine)

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {"images_per_s": len(latencies) / elapsed, "p50_ms": 1e3 * statistics.median(latencies),
            "p99_ms": 1e3 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], "errors": len(errors),
            "requests": len(latencies)}


GENERATORS = {  # label: (recipe parameters, from a folder of 64 px colour images or the digits)
    "digits": ("dcgan 28 px digits (default widths)", {}, False),
    "colour": ("dcgan 64 px colour (default widths)", {"image_size": 64}, True),
    # Radford et al.'s 64 px generator: 1024-512-256-128 channels (g_width 128); its forward pass,
    # not HTTP, is most of a request's cost on this CPU.
    "paper": ("dcgan 64 px colour (paper widths)", {"image_size": 64, "g_width": 128}, True),
}


def generators(folder: Path, which: list[str]) -> dict[str, Path]:
    """Runs of the generators asked for (trained two steps, on the digits or on a folder of random
    colour images: the figures are about speed, not pictures)."""
    from PIL import Image

    images = folder / "colour-images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(32):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(images / f"{i}.png")
    runs = {}
    for key in which:
        label, params, colour = GENERATORS[key]
        runs[label] = folder / key
        data = {"dataset": "image-folder", "data_root": images} if colour else {}
        ganforge.train("dcgan", steps=2, batch_size=8, out=runs[label], quiet=True, params=params, **data)
    return runs


def forward_alone(G, z_dim: int, batch: int, seconds: float = 2.0) -> float:
    """Milliseconds per image of the generator's forward pass at ``batch``, no server: the most
    batching can gain is this at batch 1 over this at --max-batch."""
    import torch

    z = torch.randn(batch, z_dim)
    G(z)
    began, n = time.perf_counter(), 0
    while time.perf_counter() - began < seconds:
        G(z)
        n += 1
    return 1e3 * (time.perf_counter() - began) / n / batch


def main() -> None:
    from ganforge.devices import describe

    print(f"machine: {describe()}", flush=True)  # figures from different processors are not comparable
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds, batched and unbatched alternating, so that the machine's drift hits both")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--backends", default="torch,onnx", help="torch (the G.ckpt) and exporters to serve")
    parser.add_argument("--json", action="store_true", help="tensors as JSON numbers instead of binary")
    parser.add_argument("--generators", default="digits,colour,paper", help=", ".join(GENERATORS))
    parser.add_argument("--max-batch", type=int, default=32, help="of the batching server (the other has 1)")
    parser.add_argument("--max-delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    which = args.generators.split(",")
    if unknown := set(which) - set(GENERATORS):
        raise SystemExit(f"unknown generators {sorted(unknown)}: choose from {', '.join(GENERATORS)}")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GANFORGE_CACHE"] = str(Path(tmp) / "cache")  # the colour images' store: not the user's cache
        runs = generators(Path(tmp), which)
        print(f"batching: --max-batch {args.max_batch} --max-delay-ms {args.max_delay_ms:g}; unbatched: --max-batch 1; "
              f"medians of {args.repeats} alternating rounds of {args.seconds:g} s; ratio: batched / unbatched images/s "
              "(median, and the range over rounds)\n")
        print("| generator | backend | forward alone, ms per image at 1 / " f"{args.max_batch}" " | clients | "
              "batched images/s | p50 / p99 ms | unbatched images/s | p50 / p99 ms | ratio |")
        print("|---|---|---|---|---|---|---|---|---|")
        for label, run in runs.items():
            G = ganforge.load_generator(run)
            z_dim = G.signature[0]["shape"][0]
            for backend in args.backends.split(","):
                path = run / "G.ckpt" if backend == "torch" else ganforge.export(run, backend).path
                served = ganforge.load_generator(path)
                one, many = forward_alone(served, z_dim, 1), forward_alone(served, z_dim, args.max_batch)
                del served
                alone = f"{one:.2f} / {many:.2f} ({one / many:.1f}x)"
                servers = {mb: start(path, mb, args.max_delay_ms) for mb in (args.max_batch, 1)}
                try:
                    for n in clients:
                        rounds = {mb: [] for mb in servers}
                        for _ in range(args.repeats):
                            for mb, (_, port) in servers.items():
                                rounds[mb].append(drive(port, z_dim, n, args.seconds, binary=not args.json))
                        cells = []
                        for mb in servers:
                            r = sorted(rounds[mb], key=lambda r: r["images_per_s"])[len(rounds[mb]) // 2]
                            errors = sum(x["errors"] for x in rounds[mb])
                            cells.append(f"{r['images_per_s']:,.0f} | {r['p50_ms']:.1f} / {r['p99_ms']:.1f}"
                                         + (f" ({errors} errors)" if errors else ""))
                        ratios = sorted(a["images_per_s"] / b["images_per_s"]
                                        for a, b in zip(rounds[args.max_batch], rounds[1]))
                        print(f"| {label} | {backend} | {alone} | {n} | {cells[0]} | {cells[1]} | "
                              f"{statistics.median(ratios):.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f}) |", flush=True)
                finally:
                    for proc, _ in servers.values():
                        proc.terminate()
                        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
