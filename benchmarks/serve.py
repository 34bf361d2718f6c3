"""ganforge serve under load: p50/p99 latency and images/s at 1, 8 and 32 concurrent clients,
with dynamic batching on (--max-batch 32) and off (--max-batch 1), for the 28 px digit DCGAN and
a 64 px colour DCGAN, on the torch backend and on each exported backend installed.

    python benchmarks/serve.py [--seconds 8] [--clients 1,8,32] [--backends torch,onnx]

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


def generators(folder: Path) -> dict[str, Path]:
    """The default digit DCGAN's networks, and a 64 px colour DCGAN's (trained two steps on a folder
    of random colour images: the figures are about speed, not pictures)."""
    from PIL import Image

    images = folder / "colour-images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(32):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(images / f"{i}.png")
    runs = {"dcgan 28 px digits": folder / "digits", "dcgan 64 px colour": folder / "colour"}
    ganforge.train("dcgan", steps=2, batch_size=8, out=runs["dcgan 28 px digits"], quiet=True)
    ganforge.train("dcgan", steps=2, batch_size=8, out=runs["dcgan 64 px colour"], quiet=True, dataset="image-folder",
                   data_root=images, params={"image_size": 64})
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--backends", default="torch,onnx", help="torch (the G.ckpt) and exporters to serve")
    parser.add_argument("--json", action="store_true", help="tensors as JSON numbers instead of binary")
    parser.add_argument("--generators", default="digits,colour")
    parser.add_argument("--max-batch", type=int, default=32, help="of the batching server (the other has 1)")
    parser.add_argument("--max-delay-ms", type=float, default=5.0)
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GANFORGE_CACHE"] = str(Path(tmp) / "cache")  # the colour images' store: not the user's cache
        runs = generators(Path(tmp))
        print("| generator | backend | clients | batching | images/s | p50 ms | p99 ms |")
        print("|---|---|---|---|---|---|---|")
        for label, run in runs.items():
            if not any(g in label for g in args.generators.split(",")):
                continue
            G = ganforge.load_generator(run)
            z_dim = G.signature[0]["shape"][0]
            for backend in args.backends.split(","):
                path = run / "G.ckpt" if backend == "torch" else ganforge.export(run, backend).path
                for max_batch in (args.max_batch, 1):
                    proc, port = start(path, max_batch, args.max_delay_ms)
                    try:
                        for n in clients:
                            r = drive(port, z_dim, n, args.seconds, binary=not args.json)
                            print(f"| {label} | {backend} | {n} | {f'on ({max_batch}, {args.max_delay_ms:g} ms)' if max_batch > 1 else 'off'} | "
                                  f"{r['images_per_s']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |"
                                  + (f" {r['errors']} errors" if r["errors"] else ""), flush=True)
                    finally:
                        proc.terminate()
                        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
