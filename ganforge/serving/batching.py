"""Dynamic batching: concurrent requests merged into one forward pass of the generator.

Each request hands in its inputs (one tensor per input of the generator's signature, batch
first). A single worker takes every request already queued (up to ``max_batch`` images), then
waits for more until ``max_delay`` seconds have passed since the first of them *arrived*
(Triton's queue delay: a request that waited while the generator was busy does not wait
again), runs the generator once in a worker thread (so the event loop keeps accepting
requests), and hands each request its own rows. With ``max_delay`` 0 this is continuous
batching: whatever queued up during one forward pass is the next batch.
A request larger than ``max_batch`` is split into several. A queue holding ``max_queue``
images refuses more (the server answers 503 with Retry-After).

This queue is small and ganforge's own: the ASGI libraries have none, and Triton's dynamic
batcher, which this mirrors (preferred size, queue delay), lives inside Triton's C++ server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass, field

import torch

from ganforge.serving import MAX_BATCH, MAX_DELAY_MS, MAX_QUEUE


class QueueFull(Exception):
    """More images are waiting than the queue holds."""


@dataclass
class Stats:
    """What ``/metrics`` reports about batching."""

    requests: int = 0
    images: int = 0
    batches: int = 0
    batch_sizes: dict[int, int] = field(default_factory=dict)  # batch size -> how many batches

    def batched(self, size: int) -> None:
        self.batches += 1
        self.batch_sizes[size] = self.batch_sizes.get(size, 0) + 1


class Batcher:
    def __init__(self, forward, max_batch: int = MAX_BATCH, max_delay: float = MAX_DELAY_MS / 1000,
                 max_queue: int = MAX_QUEUE):
        self.forward = forward  # list of tensors (a batch) -> tensor of images; run in the worker thread
        self.max_batch, self.max_delay, self.max_queue = max_batch, max_delay, max_queue
        self.stats = Stats()
        self.waiting = 0  # images queued and not yet computed
        self._queue: asyncio.Queue | None = None
        self._carry = None  # a request that did not fit the last batch: first in the next
        self._worker: asyncio.Task | None = None
        self._thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ganforge-forward")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        while self.waiting:
            await asyncio.sleep(0.01)
        if self._worker is not None:
            self._worker.cancel()
        self._thread.shutdown(wait=True)

    async def submit(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        """The generator's images for ``inputs`` (computed with other requests' rows)."""
        n = len(inputs[0])
        if self.waiting + n > self.max_queue:
            raise QueueFull(f"{self.waiting} images are waiting (the queue holds {self.max_queue})")
        self.stats.requests += 1
        self.stats.images += n
        self.waiting += n
        loop = asyncio.get_running_loop()
        futures = []
        for start in range(0, n, self.max_batch):
            future = loop.create_future()
            await self._queue.put(([x[start:start + self.max_batch] for x in inputs], future, loop.time()))
            futures.append(future)
        try:
            return torch.cat(await asyncio.gather(*futures))
        finally:
            self.waiting -= n

    async def _next(self, timeout: float | None):
        """The next request: the one carried over, one already queued, or (within ``timeout``
        seconds; None: however long it takes) one that arrives."""
        if self._carry is not None:
            item, self._carry = self._carry, None
            return item
        if not self._queue.empty():
            return self._queue.get_nowait()
        if timeout is None:
            return await self._queue.get()
        if timeout <= 0:
            raise asyncio.TimeoutError
        return await asyncio.wait_for(self._queue.get(), timeout)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._next(None)
            batch, size = [first[:2]], len(first[0][0])
            deadline = first[2] + self.max_delay  # from when the first request arrived
            while size < self.max_batch:
                try:
                    item = await self._next(deadline - loop.time())
                except asyncio.TimeoutError:
                    break
                if size + len(item[0][0]) > self.max_batch:
                    self._carry = item
                    break
                batch.append(item[:2])
                size += len(item[0][0])
            inputs = [torch.cat([chunk[i] for chunk, _ in batch]) for i in range(len(first[0]))]
            self.stats.batched(size)
            try:
                images = await loop.run_in_executor(self._thread, self.forward, inputs)
            except Exception as exc:  # every request of the batch gets the error (a 500 with its message)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for chunk, future in batch:
                rows = len(chunk[0])
                if not future.done():
                    future.set_result(images[start:start + rows])
                start += rows
