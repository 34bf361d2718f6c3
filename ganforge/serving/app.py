"""The ASGI application of ``ganforge serve``: the Open Inference Protocol's endpoints for one
generator, convenience endpoints for people, Prometheus metrics, and the limits every request
meets. Starlette routes it and uvicorn serves it (``ganforge.api.serve``)."""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass
from pathlib import Path

import anyio
import numpy as np
import torch
from starlette.responses import JSONResponse

from ganforge.errors import GanforgeError, first_line
from ganforge.serving import MAX_BATCH, MAX_DELAY_MS, MAX_QUEUE, protocol
from ganforge.serving.batching import Batcher, QueueFull
from ganforge.version import __version__

# The playground: one page, everything inline (no build step, nothing from a CDN).
PLAYGROUND = (Path(__file__).parent / "playground.html").read_text(encoding="utf-8")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; beyond it, a 4xx with one JSON message."""

    max_body: int = 16 << 20  # bytes of a request body
    max_images: int = 256  # images per request
    max_caption: int = 200  # characters of a caption
    max_upload_pixels: int = 4096 * 4096  # an uploaded image (a decompression bomb is refused before decoding)
    max_queue: int = MAX_QUEUE  # images waiting for the generator; beyond: 503 with Retry-After


class Problem(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _json(status: int, body: dict, headers: dict | None = None):
    return JSONResponse(body, status_code=status, headers=headers)


class Service:
    """One generator behind the protocol: its metadata, its inputs checked, its batcher."""

    def __init__(self, generator, name: str, source: str, batcher: Batcher, limits: Limits):
        self.G, self.name, self.source, self.batcher, self.limits = generator, name, source, batcher, limits
        self.started = time.time()
        self.alone = anyio.Lock()  # translations at sizes the batcher cannot stack, one at a time
        self.latency = {"count": 0, "sum": 0.0, "buckets": [0] * len(LATENCY_BUCKETS)}
        inputs = generator.random_inputs(1, seed=0, **self._fixed_text())
        try:
            probe = generator(*inputs)  # warms up, and gives the images' shape
        except GanforgeError as exc:  # non-finite pixels, say: served anyway, each request a clear 500
            print(f"ganforge serve: warning: {first_line(exc)}; requests will be answered 500", flush=True)
            with torch.inference_mode():
                probe = generator.module(*(x.to(generator.device) for x in inputs))
        self.output_shape = list(probe.shape[1:])
        from ganforge.tools.translate import size_multiple

        # a fully convolutional generator takes any height and width in multiples of this (else None)
        self.multiple = size_multiple(generator)
        # the most elements one input tensor of a request may hold: max_images samples of the largest
        # input, or one image of the largest upload at any size
        self.max_input_elements = limits.max_images * max(math.prod(s["shape"]) for s in generator.signature)
        if self.multiple:
            self.max_input_elements = max(self.max_input_elements,
                                          generator.signature[0]["shape"][0] * limits.max_upload_pixels)

    def _fixed_text(self) -> dict:
        text = next((s for s in self.G.signature if s["distribution"] == "text"), None)
        if text is None:
            return {}
        vocabulary = getattr(self._encoder(text), "vocabulary", None) or ["a"]
        return {"text": vocabulary[0]}

    def _encoder(self, spec):
        from ganforge.hooks.manager import get

        return get("networks", spec["encoder"]["network"])(**spec["encoder"]["kwargs"])

    # -- the protocol ------------------------------------------------------------------------------
    def metadata(self) -> dict:
        any_size = [-1, -1] if self.multiple else None  # any height and width, as in the Triton repository
        inputs = [{"name": s["name"], "datatype": protocol.TORCH_DTYPES.get(s.get("dtype", "float32"), "FP32"),
                   "shape": [-1, *(s["shape"][:1] + any_size if any_size else s["shape"])]} for s in self.G.signature]
        output = self.output_shape[:1] + any_size if any_size else self.output_shape
        return {"name": self.name, "versions": ["1"], "platform": f"ganforge_{self.G.backend}", "inputs": inputs,
                "outputs": [{"name": "output", "datatype": "FP32", "shape": [-1, *output]}]}

    def _check_shape(self, spec: dict, array: np.ndarray) -> None:
        shape = list(array.shape[1:])
        if self.multiple and array.ndim == 4 and shape[0] == spec["shape"][0]:
            m, (h, w) = self.multiple, shape[1:]
            if h and w and not (h % m or w % m) and h * w <= self.limits.max_upload_pixels:
                return
            raise protocol.BadRequest(f"input '{spec['name']}' must be [N, {shape[0]}, H, W] with H and W multiples of "
                                      f"{m} and H x W at most {self.limits.max_upload_pixels:,}, got {list(array.shape)}")
        if array.ndim != 1 + len(spec["shape"]) or shape != list(spec["shape"]):
            raise protocol.BadRequest(f"input '{spec['name']}' must be [{', '.join(['N', *map(str, spec['shape'])])}], "
                                      f"got {list(array.shape)}")

    def tensors(self, arrays: dict[str, np.ndarray]) -> list[torch.Tensor]:
        """The generator's inputs, in signature order, from the request's tensors, checked."""
        names = [s["name"] for s in self.G.signature]
        unknown = sorted(set(arrays) - set(names))
        missing = [n for n in names if n not in arrays]
        if unknown or missing:
            raise protocol.BadRequest(f"this generator takes inputs {', '.join(names)}; "
                                      + (f"missing {', '.join(missing)}" if missing else f"unknown {unknown[0][:40]}"))
        inputs, n = [], None
        for spec in self.G.signature:
            array = arrays[spec["name"]]
            self._check_shape(spec, array)
            n = len(array) if n is None else n
            if len(array) != n:
                raise protocol.BadRequest("every input must have the same batch size")
            if spec["distribution"] == "categorical":
                if array.dtype.kind not in "iu":
                    raise protocol.BadRequest(f"input '{spec['name']}' holds class numbers: INT64")
                if array.size and not (0 <= array.min() and array.max() < spec["num_classes"]):
                    raise protocol.BadRequest(f"input '{spec['name']}' must be in 0..{spec['num_classes'] - 1}")
                tensor = torch.from_numpy(array.astype(np.int64))
            else:
                if array.dtype.kind != "f":
                    raise protocol.BadRequest(f"input '{spec['name']}' must be FP32")
                tensor = torch.from_numpy(np.array(array, dtype=np.float32))
                if not torch.isfinite(tensor).all():
                    raise protocol.BadRequest(f"input '{spec['name']}' holds NaN or infinite values")
            inputs.append(tensor)
        if not n:
            raise protocol.BadRequest("the batch is empty")
        if n > self.limits.max_images:
            raise protocol.BadRequest(f"{n} images asked for; at most {self.limits.max_images} per request")
        return inputs

    async def run(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        """The generator's output for checked inputs: batched with other requests at the trained
        size; at another size (a fully convolutional generator), alone, one request at a time."""
        if self.multiple and list(inputs[0].shape[1:]) != list(self.G.signature[0]["shape"]):
            async with self.alone:
                began = time.perf_counter()
                try:
                    return await anyio.to_thread.run_sync(self.G, *inputs)
                except GanforgeError as exc:
                    raise Problem(500, first_line(exc)) from None
                finally:
                    self._observe(time.perf_counter() - began)
        began = time.perf_counter()
        try:
            return await self.batcher.submit(inputs)
        except QueueFull as exc:
            raise Problem(503, f"the server is busy ({exc}); try again shortly", {"Retry-After": "1"}) from None
        except GanforgeError as exc:  # the generator itself failed (non-finite pixels, say): the server goes on
            raise Problem(500, first_line(exc)) from None
        finally:
            self._observe(time.perf_counter() - began)

    def _observe(self, seconds: float) -> None:
        self.latency["count"] += 1
        self.latency["sum"] += seconds
        for i, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.latency["buckets"][i] += 1

    # -- for people ----------------------------------------------------------------------------------
    def describe(self) -> dict:
        meta = self.G.meta
        return {"name": self.name, "source": self.source, "recipe": meta.get("recipe"), "step": meta.get("step"),
                "backend": self.G.backend, "format": meta.get("format", "checkpoint"),
                "precision": meta.get("precision", "fp32"), "signature": self.G.signature,
                "output_shape": self.output_shape, "size_multiple": self.multiple,
                "output_range": list(self.G.output_range),
                "stale": bool(meta.get("stale", False)), "ganforge": __version__}

    def metrics(self) -> str:
        s, lines = self.batcher.stats, []

        def metric(name, kind, text, value):
            lines.extend([f"# HELP ganforge_{name} {text}", f"# TYPE ganforge_{name} {kind}",
                          f'ganforge_{name}{{model="{self.name}"}} {value}'])

        metric("requests_total", "counter", "Inference requests received", s.requests)
        metric("images_total", "counter", "Images generated", s.images)
        metric("batches_total", "counter", "Forward passes of the generator", s.batches)
        metric("queue_images", "gauge", "Images waiting for the generator", self.batcher.waiting)
        lines += ["# HELP ganforge_batch_size Images per forward pass", "# TYPE ganforge_batch_size histogram"]
        running = 0
        for size in sorted(s.batch_sizes):
            running += s.batch_sizes[size]
            lines.append(f'ganforge_batch_size_bucket{{model="{self.name}",le="{size}"}} {running}')
        lines.append(f'ganforge_batch_size_bucket{{model="{self.name}",le="+Inf"}} {s.batches}')
        lines.append(f'ganforge_batch_size_count{{model="{self.name}"}} {s.batches}')
        lines.append(f'ganforge_batch_size_sum{{model="{self.name}"}} '
                     f'{sum(size * count for size, count in s.batch_sizes.items())}')
        lines += ["# HELP ganforge_request_seconds Time from a request's arrival in the queue to its images",
                  "# TYPE ganforge_request_seconds histogram"]
        for bound, count in zip(LATENCY_BUCKETS, self.latency["buckets"]):
            lines.append(f'ganforge_request_seconds_bucket{{model="{self.name}",le="{bound}"}} {count}')
        lines.append(f'ganforge_request_seconds_bucket{{model="{self.name}",le="+Inf"}} {self.latency["count"]}')
        lines.append(f'ganforge_request_seconds_count{{model="{self.name}"}} {self.latency["count"]}')
        lines.append(f'ganforge_request_seconds_sum{{model="{self.name}"}} {self.latency["sum"]:.6f}')
        return "\n".join(lines) + "\n"

    def generation_inputs(self, query, image_bytes: bytes | None) -> tuple[list[torch.Tensor], int]:
        """Inputs for /api/generate from the query: seeds or a count, a class, a caption, an image."""
        def integer(key, default=None, low=0, high=2 ** 31):
            value = query.get(key)
            if value is None:
                return default
            try:
                number = int(value)
            except ValueError:
                raise protocol.BadRequest(f"'{key}' must be a whole number, got {value[:20]!r}") from None
            if not low <= number <= high:
                raise protocol.BadRequest(f"'{key}' must be in {low}..{high}")
            return number

        n = integer("n", 1, 1, self.limits.max_images)
        seed = integer("seed", 0)
        fixed = {}
        label = integer("label")
        if label is not None:
            fixed["label"] = label
        text = query.get("text")
        if text is not None:
            if len(text) > self.limits.max_caption:
                raise protocol.BadRequest(f"captions are at most {self.limits.max_caption} characters")
            fixed["text"] = text
        image_spec = next((s for s in self.G.signature if s["distribution"] == "image"), None)
        if image_spec is not None:
            if image_bytes is None:
                raise protocol.BadRequest("this generator translates an image: POST one as the request body")
            picture = self.uploaded(image_bytes, image_spec)
            inputs = [picture.expand(n, *picture.shape[1:]).clone()]
            return inputs, n
        try:
            return self.G.random_inputs(n, seed=seed, **fixed), n
        except GanforgeError as exc:
            raise protocol.BadRequest(first_line(exc)) from None

    async def translate(self, data: bytes) -> bytes:
        """An uploaded PNG or JPEG translated as ``ganforge translate`` translates a file (at its
        own size for a fully convolutional generator), as PNG bytes."""
        from ganforge.data.pictures import Unusable
        from ganforge.tools.translate import Translator, png_bytes, read_pixels

        spec = self.G.signature[0]
        if len(self.G.signature) != 1 or spec["distribution"] != "image":
            raise protocol.BadRequest("this generator does not translate images; use /api/generate")
        try:
            pixels, _ = read_pixels(io.BytesIO(data), spec["shape"][0], max_pixels=self.limits.max_upload_pixels)
        except Unusable as exc:
            raise protocol.BadRequest(f"the body is not an image this server can translate: {exc}") from None
        translator = Translator(self.G, 1)
        output = await self.run([translator.input_tensor(pixels)[None]])
        return png_bytes(translator.output_pixels(output[0].cpu(), pixels))

    def uploaded(self, data: bytes, spec: dict) -> torch.Tensor:
        """An uploaded image as the generator's image input, bounded before it is decoded."""
        from PIL import Image

        from ganforge.data.pictures import picture_tensor

        try:
            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > self.limits.max_upload_pixels:  # before a pixel is decoded
                    raise protocol.BadRequest(f"the image is {im.width} x {im.height}; at most "
                                              f"{self.limits.max_upload_pixels:,} pixels are accepted")
                return picture_tensor(im, spec["shape"][0], spec["shape"][-1])[None]
        except protocol.BadRequest:
            raise
        except (OSError, ValueError, Image.DecompressionBombError):
            raise protocol.BadRequest("the body is not an image this server can read") from None


# An over-limit body is read and discarded, up to these bounds, after the 413 is sent: clients
# that send the whole body before reading the answer (urllib, requests) then read the 413
# instead of a connection reset by a server that closed with their body unread.
DRAIN_BYTES = 1 << 30
DRAIN_SECONDS = 30.0


async def _body(request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise Problem(413, f"the request body is {int(declared):,} bytes; at most {limit:,} are accepted")
        except ValueError:
            raise Problem(400, "Content-Length is not a number") from None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, f"the request body is over {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def build_app(service: Service):
    """The Starlette application serving ``service`` (model name ``service.name``)."""
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    def model(request):
        name = request.path_params["name"]
        if name != service.name:
            raise Problem(404, f"no model '{name[:60]}' here; this server serves '{service.name}'")

    async def live(request):
        return _json(200, {"live": True})

    async def ready(request):
        return _json(200, {"ready": True})

    async def server_metadata(request):
        return _json(200, {"name": "ganforge", "version": __version__, "extensions": ["binary_tensor_data"]})

    async def model_metadata(request):
        model(request)
        return _json(200, service.metadata())

    async def model_ready(request):
        model(request)
        return _json(200, {"name": service.name, "ready": True})

    async def infer(request):
        model(request)
        body = await _body(request, service.limits.max_body)
        parsed, arrays = protocol.parse_request(body, request.headers.get(protocol.HEADER), service.max_input_elements)
        images = await service.run(service.tensors(arrays))
        content, headers = protocol.response(service.name, parsed, {"output": images.float().numpy()})
        return Response(content, headers=headers)

    async def describe(request):
        return _json(200, service.describe())

    async def generate(request):
        body = await _body(request, service.limits.max_body) if request.method == "POST" else None
        inputs, n = service.generation_inputs(request.query_params, body or None)
        images = await service.run(inputs)
        fmt = request.query_params.get("format", "png")
        from ganforge.data import images as im

        if fmt == "npz":
            buffer = io.BytesIO()
            np.savez_compressed(buffer, x=im.to_uint8(images, service.G.output_range))
            return Response(buffer.getvalue(), media_type="application/octet-stream")
        if fmt != "png":
            raise protocol.BadRequest("format must be png or npz")
        picture = im.grid_picture(images, service.G.output_range, scale=1 if n == 1 else None)
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        return Response(buffer.getvalue(), media_type="image/png")

    async def translate(request):
        """POST a PNG or JPEG: the translated image as PNG."""
        body = await _body(request, service.limits.max_body)
        if not body:
            raise protocol.BadRequest("POST an image (PNG or JPEG) as the request body")
        return Response(await service.translate(body), media_type="image/png")

    async def interpolate(request):
        """One image on the spherical path between the latent codes of seeds a and b, at t."""
        from ganforge.tools.latent import slerp

        query = request.query_params
        inputs_a, _ = service.generation_inputs({**query, "seed": query.get("a", "0"), "n": "1"}, None)
        inputs_b, _ = service.generation_inputs({**query, "seed": query.get("b", "1"), "n": "1"}, None)
        try:
            t = float(query.get("t", "0"))
        except ValueError:
            raise protocol.BadRequest("'t' must be a number from 0 to 1") from None
        if not 0 <= t <= 1:
            raise protocol.BadRequest("'t' must be a number from 0 to 1")
        mixed = [slerp(a, b, t) if spec["distribution"] == "normal" else a
                 for spec, a, b in zip(service.G.signature, inputs_a, inputs_b)]
        from ganforge.data import images as im

        buffer = io.BytesIO()
        im.grid_picture(await service.run(mixed), service.G.output_range, scale=1, padding=0).save(buffer, format="PNG")
        return Response(buffer.getvalue(), media_type="image/png")

    async def page(request):
        from starlette.responses import HTMLResponse

        return HTMLResponse(PLAYGROUND)

    async def metrics(request):
        return PlainTextResponse(service.metrics(), media_type="text/plain; version=0.0.4")

    routes = [Route("/v2", server_metadata), Route("/v2/health/live", live), Route("/v2/health/ready", ready)]
    for prefix in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        routes += [Route(prefix, model_metadata), Route(prefix + "/ready", model_ready),
                   Route(prefix + "/infer", infer, methods=["POST"])]
    routes += [Route("/", page), Route("/api/describe", describe),
               Route("/api/generate", generate, methods=["GET", "POST"]), Route("/api/interpolate", interpolate),
               Route("/api/translate", translate, methods=["POST"]),
               Route("/metrics", metrics)]

    @asynccontextmanager
    async def lifespan(app):
        await service.batcher.start()
        try:
            yield
        finally:
            await service.batcher.stop()

    async def answer(request, exc):
        status, message, headers = _answer(exc)
        if status == 413:
            return _Refusal({"error": message}, status_code=status, headers=headers)
        return _json(status, {"error": message}, headers)

    from starlette.exceptions import HTTPException

    handlers = {kind: answer for kind in (HTTPException, Problem, protocol.BadRequest, GanforgeError, Exception)}
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)
    return _Errors(app)


class _Refusal(JSONResponse):
    """A JSON answer sent whole before the request's body is read; the rest of the body is then
    read and discarded (at most ``DRAIN_BYTES``, for at most ``DRAIN_SECONDS``) before the
    response ends, so that the client is not cut off while it is still sending."""

    async def __call__(self, scope, receive, send):
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": True})
        drained = 0
        with anyio.move_on_after(DRAIN_SECONDS):
            while drained <= DRAIN_BYTES:
                message = await receive()
                if message["type"] != "http.request":
                    break  # the client went away
                drained += len(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class _Errors:
    """Every failure a JSON ``{"error": ...}`` with its status, never a traceback in the response
    or the log; an unexpected one is a 500 and one log line, and the server goes on."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001  (what Starlette re-raises after answering it)
            status, message, headers = _answer(exc)
            print(f"ganforge serve: error: {message}", flush=True)  # one line, never a traceback
            if not started:
                await _json(status, {"error": message}, headers)(scope, receive, send)


def _answer(exc: Exception) -> tuple[int, str, dict]:
    from starlette.exceptions import HTTPException

    if isinstance(exc, Problem):
        return exc.status, exc.message, exc.headers
    if isinstance(exc, protocol.BadRequest):
        return 400, str(exc), {}
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail), {}
    if isinstance(exc, GanforgeError):
        return 400, first_line(exc), {}
    return 500, f"internal error ({type(exc).__name__}: {first_line(exc)[:200]})", {}


def application(generator, name: str, source: str, *, max_batch: int = MAX_BATCH, max_delay_ms: float = MAX_DELAY_MS,
                limits: Limits = Limits()):
    """The ASGI application serving ``generator`` as model ``name``, its batcher started and
    stopped by the application's lifespan (what ``run`` serves, and what tests drive in-process)."""
    batcher = Batcher(lambda inputs: generator(*inputs).float().cpu(), max_batch=max_batch,
                      max_delay=max_delay_ms / 1000, max_queue=limits.max_queue)
    return build_app(Service(generator, name, source, batcher, limits))


def run(generator, name: str, source: str, *, host: str, port: int, max_batch: int, max_delay_ms: float,
        limits: Limits, announce=print) -> None:
    """Serve ``generator`` as model ``name`` with uvicorn until SIGTERM or Ctrl-C, which finish the
    requests in flight and exit cleanly (status 0: what Kubernetes expects of a pod it stops)."""
    import contextlib

    import uvicorn

    class StoppingCleanly(uvicorn.Server):
        """uvicorn, except that a stop signal, once handled, is not raised again at exit."""

        @contextlib.contextmanager
        def capture_signals(self):
            with super().capture_signals():
                yield
                self._captured_signals.clear()

    config = uvicorn.Config(application(generator, name, source, max_batch=max_batch, max_delay_ms=max_delay_ms,
                                        limits=limits), host=host, port=port, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=30, limit_concurrency=4 * limits.max_queue)
    announce(f"Serving '{name}' ({generator.backend}) at http://{host}:{port}/v2/models/{name} "
             f"(batches of up to {max_batch} images, {max_delay_ms:g} ms wait); SIGTERM or Ctrl-C stops it "
             "after the requests in flight")
    StoppingCleanly(config).run()
