"""The Open Inference Protocol's tensors (KServe v2 REST, as Triton speaks it), in JSON and with
Triton's binary tensor data extension, so that NVIDIA's ``tritonclient`` works unchanged.

A request body is JSON, or (binary extension) JSON of ``Inference-Header-Content-Length``
bytes followed by the inputs' raw little-endian data, each input saying its
``parameters.binary_data_size``. A response is the same, for the outputs the client asked in
binary (``parameters.binary_data``, or ``binary_data_output`` for all of them).
"""

from __future__ import annotations

import json
import math

import numpy as np

from ganforge.errors import GanforgeError

DATATYPES = {"FP32": np.float32, "FP16": np.float16, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32,
             "INT16": np.int16, "INT8": np.int8, "UINT8": np.uint8, "BOOL": np.bool_}
TORCH_DTYPES = {"float32": "FP32", "int64": "INT64", "float16": "FP16", "uint8": "UINT8"}
HEADER = "Inference-Header-Content-Length"


class BadRequest(GanforgeError):
    """A request the server answers with 400 and this message."""


def parse_request(body: bytes, header_length: str | None, max_elements: int) -> tuple[dict, dict[str, np.ndarray]]:
    """The request's JSON and its input tensors by name, every size checked before any is built."""
    if header_length is not None:
        try:
            length = int(header_length)
        except ValueError:
            raise BadRequest(f"{HEADER} must be a number of bytes, got {header_length[:40]!r}") from None
        if not 0 < length <= len(body):
            raise BadRequest(f"{HEADER} is {length} but the body has {len(body)} bytes")
        head, rest = body[:length], memoryview(body)[length:]
    else:
        head, rest = body, memoryview(b"")
    try:
        request = json.loads(head)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the request is not JSON (or its binary header length is wrong)") from None
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise BadRequest("an inference request is a JSON object with a list of 'inputs'")
    tensors, offset = {}, 0
    for spec in request["inputs"]:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise BadRequest("every input needs a 'name'")
        name, datatype, shape = spec["name"], spec.get("datatype"), spec.get("shape")
        if datatype not in DATATYPES:
            raise BadRequest(f"input '{name[:40]}': datatype must be one of {', '.join(DATATYPES)}, got {datatype!r}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape) or len(shape) > 8:
            raise BadRequest(f"input '{name[:40]}': shape must be a list of sizes, got {shape!r}"[:200])
        count = math.prod(shape)
        if count > max_elements:
            raise BadRequest(f"input '{name[:40]}' has {count:,} elements; at most {max_elements:,} are accepted")
        dtype = np.dtype(DATATYPES[datatype])
        parameters = spec.get("parameters") or {}
        if "binary_data_size" in parameters:
            size = parameters["binary_data_size"]
            if not isinstance(size, int) or size != count * dtype.itemsize or offset + size > len(rest):
                raise BadRequest(f"input '{name[:40]}': binary_data_size {size!r} does not match its shape and "
                                 f"datatype ({count * dtype.itemsize} bytes) or the body")
            array = np.frombuffer(rest[offset:offset + size], dtype=dtype.newbyteorder("<")).reshape(shape)
            offset += size
        else:
            data = spec.get("data")
            if not isinstance(data, list):
                raise BadRequest(f"input '{name[:40]}' has no 'data' (nor binary data)")
            try:
                array = np.asarray(data, dtype=dtype)
            except (TypeError, ValueError, OverflowError):
                raise BadRequest(f"input '{name[:40]}': its data are not {datatype} values") from None
            if array.size != count:
                raise BadRequest(f"input '{name[:40]}': {array.size} values for shape {shape}")
            array = array.reshape(shape)
        tensors[name] = array
    return request, tensors


def response(model: str, request: dict, outputs: dict[str, np.ndarray]) -> tuple[bytes, dict[str, str]]:
    """The response body and its headers: outputs in binary where the client asked for it."""
    wanted = {o.get("name"): (o.get("parameters") or {}) for o in request.get("outputs") or [] if isinstance(o, dict)}
    all_binary = bool((request.get("parameters") or {}).get("binary_data_output"))
    entries, blobs = [], []
    for name, array in outputs.items():
        if wanted and name not in wanted:
            continue
        entry = {"name": name, "datatype": TORCH_DTYPES.get(str(array.dtype), "FP32"), "shape": list(array.shape)}
        if all_binary or wanted.get(name, {}).get("binary_data"):
            blob = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            entry["data"] = array.flatten().tolist()
        entries.append(entry)
    body = {"model_name": model, "model_version": "1", "outputs": entries}
    if "id" in request:
        body["id"] = request["id"]
    head = json.dumps(body).encode()
    if not blobs:
        return head, {"content-type": "application/json"}
    return head + b"".join(blobs), {"content-type": "application/octet-stream", HEADER.lower(): str(len(head))}
