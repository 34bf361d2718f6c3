"""`ganforge serve`: the application in this process through Starlette's TestClient (the same
pixels as `ganforge sample`, dynamic batching, every limit answered as a 4xx with one JSON
message, a generator that fails answered 500 while the server goes on, uploads), and one real
server (system tier) for what only a real process shows: tritonclient in JSON and binary mode,
urllib reading a 413 for a body it sends whole, the address it listens on, and SIGTERM
finishing the requests in flight."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import ganforge

from support.cli import cli

pytestmark = pytest.mark.e2e
CGAN = Path("tests/fixtures/release-7f62249/cgan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(path, *args):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ganforge", "serve", str(path), "--port", str(port), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/v2/health/ready", timeout=1)
            break
        except (urllib.error.URLError, ConnectionError):
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.2)
    try:
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


@contextmanager
def in_process(path, name=None, *, max_batch=32, max_delay_ms=0.0, **limits):
    """The application ``ganforge serve PATH`` serves, driven in this process: yields ``call``,
    which answers ``(status, headers, body)`` for a path, as ``request`` does for a URL."""
    from starlette.testclient import TestClient

    from ganforge.serving.app import Limits, application

    G = ganforge.load_generator(path)
    app = application(G, name or G.meta.get("recipe"), str(path), max_batch=max_batch, max_delay_ms=max_delay_ms,
                      limits=Limits(**limits))
    with TestClient(app, raise_server_exceptions=False) as client:
        def call(route, data=None, headers=None, method=None):
            response = client.request(method or ("POST" if data is not None else "GET"), route, content=data,
                                      headers=headers)
            return response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content

        yield call


def request(url, data=None, headers=None, method=None):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def declared_only(url, path, length):
    """A POST that declares a ``length``-byte body and sends none of it: the answer must come
    from the declared size alone, before anything is read."""
    host, port = url[len("http://"):].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n"
                  f"Content-Type: application/json\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < int(
                data.split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0] if b"content-length: " in data else 0):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    return int(head.split()[1]), {}, body


@pytest.mark.system
def test_a_real_server_answers_tritonclient_and_urllib_listens_on_localhost_and_stops_cleanly_on_sigterm():
    import tritonclient.http as httpclient

    G = ganforge.load_generator(CGAN)
    with served(CGAN, "--max-delay-ms", "1500", "--max-batch", "64") as (url, proc):
        assert "http://127.0.0.1:" in proc.stdout.readline()  # localhost unless told otherwise
        # The Open Inference Protocol as Triton's own client speaks it, in JSON and binary mode.
        client = httpclient.InferenceServerClient(url=url[len("http://"):])
        assert client.is_server_live() and client.is_model_ready("cgan")
        metadata = client.get_model_metadata("cgan")
        assert [i["name"] for i in metadata["inputs"]] == ["z", "label"]
        z, label = G.random_inputs(3, seed=5, label=2)
        for binary in (False, True):
            inputs = [httpclient.InferInput("z", list(z.shape), "FP32"),
                      httpclient.InferInput("label", list(label.shape), "INT64")]
            inputs[0].set_data_from_numpy(z.numpy(), binary_data=binary)
            inputs[1].set_data_from_numpy(label.numpy(), binary_data=binary)
            result = client.infer("cgan", inputs, outputs=[httpclient.InferRequestedOutput("output", binary_data=binary)])
            assert np.abs(result.as_numpy("output") - G(z, label).numpy()).max() <= 1e-4
        # A body over the limit: answered from its declared size before anything is read, and a
        # client that sends it whole before reading (urllib) reads the 413, not a reset connection.
        status, _, body = declared_only(url, "/v2/models/cgan/infer", 17 << 20)
        assert status == 413 and "at most" in json.loads(body)["error"]
        status, _, body = request(url + "/v2/models/cgan/infer", b"x" * (64 << 20), method="POST")
        assert status == 413 and "at most 16,777,216" in json.loads(body)["error"]
        assert request(url + "/v2/health/ready")[0] == 200
        # SIGTERM: the requests in flight (waiting up to 1.5 s for a batch) are answered, then exit 0.
        results = []
        threads = [threading.Thread(target=lambda: results.append(request(url + "/api/generate?n=2")[0]))
                   for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join()
        assert proc.wait(timeout=30) == 0
        assert "Traceback" not in proc.stdout.read()
    assert results == [200] * 4


def test_the_same_seed_gives_the_same_pixels_as_sample(tmp_path):
    assert cli("sample", CGAN, "-n", "6", "--seed", "3", "--label", "4", "--npz", tmp_path / "x.npz").returncode == 0
    with in_process(CGAN) as call:
        status, headers, body = call("/api/generate?n=6&seed=3&label=4&format=npz")
        assert status == 200
        (tmp_path / "served.npz").write_bytes(body)
        status, headers, png = call("/api/generate?n=4&seed=0")
        assert status == 200 and headers["content-type"] == "image/png" and png[:4] == b"\x89PNG"
        described = json.loads(call("/api/describe")[2])
        assert described["recipe"] == "cgan" and described["output_shape"] == [1, 28, 28]
        status, headers, png = call("/api/interpolate?a=0&b=1&t=0.5&label=3")
        assert status == 200 and png[:4] == b"\x89PNG"
    assert np.array_equal(np.load(tmp_path / "served.npz")["x"], np.load(tmp_path / "x.npz")["x"])


def test_concurrent_requests_are_batched_and_each_caller_gets_its_own_image():
    import io

    G = ganforge.load_generator(CGAN)
    with in_process(CGAN, max_batch=16, max_delay_ms=200) as call:
        results = {}

        def one(seed):
            status, _, body = call(f"/api/generate?n=1&seed={seed}&label={seed % 10}&format=npz")
            results[seed] = (status, body)

        threads = [threading.Thread(target=one, args=(seed,)) for seed in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        metrics = call("/metrics")[2].decode()
    for seed, (status, body) in results.items():
        assert status == 200
        got = np.load(io.BytesIO(body))["x"]
        expected = (G.generate(1, seed=seed, label=seed % 10) + 1) / 2  # to [0, 1] like the uint8 pixels
        assert np.abs(got / 255.0 - expected.numpy()).max() <= 1 / 255 + 1e-6
    batches = int(next(l for l in metrics.splitlines() if l.startswith("ganforge_batches_total")).split()[-1])
    assert batches < 12, metrics  # fewer forward passes than requests: they were merged


def test_bad_requests_are_4xx_with_one_json_message_and_the_server_goes_on(tmp_path, capsys):
    infer = "/v2/models/cgan/infer"
    with in_process(CGAN, max_queue=4) as call:
        cases = [
            (call(infer, b"not json", method="POST"), 400, "not JSON"),
            (call("/v2/models/other/infer", b"{}", method="POST"), 404, "no model 'other'"),
            (call(infer, json.dumps({"inputs": [{"name": "z", "shape": [1, 3], "datatype": "FP32",
                                                 "data": [1, 2, 3]}]}).encode(), method="POST"), 400, "missing label"),
            (call(infer, json.dumps({"inputs": [
                {"name": "z", "shape": [1, 16], "datatype": "FP32", "data": [float("nan")] * 16},
                {"name": "label", "shape": [1], "datatype": "INT64", "data": [1]}]}).encode(), method="POST"), 400,
             "NaN"),
            (call(infer, json.dumps({"inputs": [
                {"name": "z", "shape": [1, 16], "datatype": "FP32", "data": [0.0] * 16},
                {"name": "label", "shape": [1], "datatype": "INT64", "data": [10]}]}).encode(), method="POST"), 400,
             "0..9"),
            (call(infer, b"x" * ((16 << 20) + 1), method="POST"), 413, "at most"),
            (call("/api/generate?n=100000"), 400, "'n' must be in"),
            (call("/api/generate?n=8"), 503, "busy"),  # 8 images: more than the queue's 4
            (call("/api/generate?seed=abc"), 400, "whole number"),
            (call("/api/generate?format=gif"), 400, "png or npz"),
            (call("/api/interpolate?t=2"), 400, "'t' must be a number from 0 to 1"),
            (call("/api/generate?path=/etc/passwd"), 200, ""),  # nothing in a request names a file
            (call("/nowhere"), 404, "Not Found"),
        ]
        for (status, headers, body), expected, words in cases:
            assert status == expected, (status, body[:200])
            if expected != 200:
                assert words in json.loads(body)["error"], body
        assert call("/api/generate?n=8")[1].get("retry-after") == "1"
        assert call("/v2/health/ready")[0] == 200  # still serving
    assert "Traceback" not in capsys.readouterr().out


def test_a_generator_that_fails_is_a_500_and_the_server_keeps_serving(tmp_path, capsys):
    from ganforge.artifacts import checkpoint

    tensors, meta = checkpoint.load(CGAN / "G.ckpt")
    first = next(k for k, v in tensors.items() if v.is_floating_point() and v.dim() > 1)
    tensors[first] = tensors[first] * float("nan")
    checkpoint.save(tmp_path / "G.ckpt", tensors, meta)
    with in_process(tmp_path / "G.ckpt") as call:
        status, _, body = call("/api/generate?n=2")
        assert status == 500 and "NaN or infinite" in json.loads(body)["error"]
        assert call("/v2/health/live")[0] == 200
    assert "Traceback" not in capsys.readouterr().out


def test_an_uploaded_image_is_translated_and_a_bomb_refused(tmp_path):
    from PIL import Image

    run = tmp_path / "cyclegan"
    ganforge.train("cyclegan", steps=1, batch_size=2, out=run, quiet=True, params={"g_width": 4, "d_width": 4})
    picture = tmp_path / "digit.png"
    Image.new("L", (28, 28), 255).save(picture)
    bomb = tmp_path / "bomb.png"
    Image.new("L", (5000, 5000)).save(bomb)  # 25 megapixels: over the 16.7 M accepted, a few kB on disk
    with in_process(run) as call:
        status, headers, body = call("/api/generate", picture.read_bytes(), method="POST")
        assert status == 200 and body[:4] == b"\x89PNG"
        status, _, body = call("/api/generate", bomb.read_bytes(), method="POST")
        assert status == 400 and "pixels are accepted" in json.loads(body)["error"]
        status, _, body = call("/api/generate", b"not an image", method="POST")
        assert status == 400 and "not an image" in json.loads(body)["error"]


@pytest.mark.system
def test_the_playground_draws_classes_and_walks_in_a_headless_browser():
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from support.browser import headless_chromium

    browser = headless_chromium()
    try:
        with served(CGAN) as (url, proc):
            browser.get(url + "/")
            wait = WebDriverWait(browser, 30)
            loaded = "return [...document.images].map(i => [i.id, i.complete && i.naturalWidth > 0])"
            wait.until(lambda b: all(ok for _, ok in b.execute_script(loaded)))
            first = browser.execute_script("return document.getElementById('grid').src")
            assert "cgan" in browser.find_element("id", "about").text
            Select(browser.find_element("id", "label")).select_by_value("3")
            browser.find_element("id", "next").click()
            wait.until(lambda b: b.execute_script("return document.getElementById('grid').src") != first)
            walk = browser.execute_script("return document.getElementById('walk').src")
            browser.execute_script("const t = document.getElementById('t'); t.value = 0.5; t.dispatchEvent(new Event('input'))")
            wait.until(lambda b: b.execute_script("return document.getElementById('walk').src") != walk)
            wait.until(lambda b: all(ok for _, ok in b.execute_script(loaded)))
            assert browser.find_element("id", "t-value").text == "0.5"
            assert browser.find_element("id", "error").text == ""
            assert browser.execute_script("return document.getElementById('grid').naturalWidth") > 100
    finally:
        browser.quit()
