"""The inference protocol's tensors and the dynamic batcher, without a server."""

import asyncio
import json

import numpy as np
import pytest
import torch

from ganforge.serving import protocol
from ganforge.serving.batching import Batcher, QueueFull


def test_json_and_binary_requests_give_the_same_tensors():
    z = np.arange(6, dtype=np.float32).reshape(2, 3)
    as_json = json.dumps({"inputs": [{"name": "z", "shape": [2, 3], "datatype": "FP32", "data": z.flatten().tolist()}]})
    _, tensors = protocol.parse_request(as_json.encode(), None, 100)
    head = json.dumps({"inputs": [{"name": "z", "shape": [2, 3], "datatype": "FP32",
                                   "parameters": {"binary_data_size": z.nbytes}}]}).encode()
    _, binary = protocol.parse_request(head + z.tobytes(), str(len(head)), 100)
    assert np.array_equal(tensors["z"], z) and np.array_equal(binary["z"], z)


@pytest.mark.parametrize("body, header, says", [
    (b"{", None, "not JSON"),
    (b'{"inputs": [{"name": "z", "shape": [2], "datatype": "FP99", "data": [1, 2]}]}', None, "datatype"),
    (b'{"inputs": [{"name": "z", "shape": [1000000], "datatype": "FP32", "data": []}]}', None, "at most"),
    (b'{"inputs": [{"name": "z", "shape": [3], "datatype": "FP32", "data": [1, 2]}]}', None, "2 values for shape"),
    (b'{"inputs": [{"name": "z", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}}]}',
     "999", "Inference-Header-Content-Length is 999"),
    (b'{"inputs": [{"name": "z", "shape": [-1], "datatype": "FP32", "data": []}]}', None, "shape must be"),
])
def test_malformed_requests_are_one_clear_message(body, header, says):
    with pytest.raises(protocol.BadRequest, match=says):
        protocol.parse_request(body, header, 1000)


def test_outputs_come_back_in_binary_when_asked():
    images = np.ones((1, 1, 2, 2), dtype=np.float32)
    body, headers = protocol.response("m", {"outputs": [{"name": "output", "parameters": {"binary_data": True}}]},
                                      {"output": images})
    length = int(headers["inference-header-content-length"])
    head = json.loads(body[:length])
    assert head["outputs"][0]["parameters"]["binary_data_size"] == images.nbytes
    assert np.array_equal(np.frombuffer(body[length:], dtype=np.float32).reshape(1, 1, 2, 2), images)


def test_the_batcher_merges_concurrent_requests_and_returns_each_its_rows():
    calls = []

    def forward(inputs):
        calls.append(len(inputs[0]))
        return inputs[0] * 2

    async def scenario():
        batcher = Batcher(forward, max_batch=8, max_delay=0.05)
        await batcher.start()
        requests = [torch.full((1, 3), float(i)) for i in range(6)] + [torch.full((10, 3), 9.0)]
        results = await asyncio.gather(*(batcher.submit([r]) for r in requests))
        await batcher.stop()
        return requests, results, batcher.stats

    requests, results, stats = asyncio.run(scenario())
    assert all(torch.equal(out, req * 2) for req, out in zip(requests, results))  # each caller its own rows
    assert max(calls) == 8 and sum(calls) == 16 and len(calls) < 7  # merged, and the large one split
    assert stats.requests == 7 and stats.images == 16


def test_with_no_delay_what_queued_during_a_forward_pass_is_the_next_batch():
    import time

    calls = []

    def slow(inputs):
        calls.append(len(inputs[0]))
        time.sleep(0.05)  # the generator busy: requests pile up meanwhile
        return inputs[0]

    async def scenario():
        batcher = Batcher(slow, max_batch=32, max_delay=0.0)
        await batcher.start()
        first = asyncio.ensure_future(batcher.submit([torch.zeros(1, 2)]))
        await asyncio.sleep(0.01)  # the first one is being computed
        rest = [asyncio.ensure_future(batcher.submit([torch.ones(1, 2)])) for _ in range(10)]
        await asyncio.gather(first, *rest)
        await batcher.stop()

    asyncio.run(scenario())
    assert calls == [1, 10]  # not ten passes of one: the lone first request did not wait either


def test_a_full_queue_refuses_more():
    async def scenario():
        batcher = Batcher(lambda inputs: inputs[0], max_batch=4, max_queue=4)
        await batcher.start()
        with pytest.raises(QueueFull):
            await batcher.submit([torch.zeros(5, 2)])
        await batcher.stop()

    asyncio.run(scenario())


@pytest.mark.e2e
def test_backend_auto_times_the_checkpoint_and_its_exports_and_serves_the_fastest(tiny_dcgan_run, tmp_path):
    import shutil

    import ganforge
    from ganforge.tools.bench import fastest

    run = tmp_path / "run"
    shutil.copytree(tiny_dcgan_run, run)
    ganforge.export(run / "G.ckpt", "onnx", run / "G.onnx")
    (run / "G.pt2").write_bytes(b"not an archive")  # a native-code artifact ganforge did not write
    G, rows = fastest(run, 8, budget_s=0.05)
    by_backend = {row["backend"]: row for row in rows}
    assert set(by_backend) == {"torch", "onnxruntime", "aoti"}
    assert "p50_ms" in by_backend["torch"] and "p50_ms" in by_backend["onnxruntime"]
    assert "trust" in by_backend["aoti"]["skipped"]  # never loaded, never chosen
    quickest = min((r for r in rows if "p50_ms" in r), key=lambda r: r["p50_ms"])
    assert (G.backend == "torch") == (quickest["backend"] == "torch")  # the fastest one was kept
