"""Serving a generator over HTTP (``ganforge serve``): the Open Inference Protocol (KServe v2,
what Triton, KServe and Seldon speak) with Triton's binary tensor extension (``protocol``),
dynamic batching of concurrent requests into one forward pass (``batching``), and the ASGI
application with its limits and convenience endpoints (``app``)."""

# The batching defaults, shared by ``ganforge serve`` and ``ganforge.serve`` (this module
# imports nothing, so the CLI's --help reads them without torch).
MAX_BATCH = 32  # images in one forward pass
MAX_DELAY_MS = 0.0  # Triton's default queue delay: take what is queued, wait for nothing more
MAX_QUEUE = 1024  # images waiting for the generator; beyond it a request is answered 503
