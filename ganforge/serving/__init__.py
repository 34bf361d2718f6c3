"""Serving a generator over HTTP (``ganforge serve``): the Open Inference Protocol (KServe v2,
what Triton, KServe and Seldon speak) with Triton's binary tensor extension (``protocol``),
dynamic batching of concurrent requests into one forward pass (``batching``), and the ASGI
application with its limits and convenience endpoints (``app``)."""
