"""Overlap the stages of a run on threads, with bounded queues.

onnxruntime, Parquet/CSV decoding and encoding and most numpy loops release the GIL,
so reading and deriving the next chunk, running the graph on this one and writing the
previous one proceed together. At most ``depth`` chunks wait between two stages,
which keeps memory bounded whatever the size of the book.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")


class _Done:
    """The producer's last item: nothing follows."""


_DONE = _Done()


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` produced ahead on a worker thread; its exceptions re-raise here."""
    q: queue.Queue[T | BaseException | _Done] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: T | BaseException | _Done) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as e:  # handed to the consumer, raised there
            put(e)

    worker = threading.Thread(target=produce, name="batch-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            got = q.get()
            if isinstance(got, _Done):
                return
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        stop.set()  # the consumer stopped early (error): let the producer end
        worker.join(timeout=5)


class Background(Generic[T]):
    """Run ``fn(item)`` on one background thread, one item in flight at a time."""

    def __init__(self, fn: Callable[[T], None]) -> None:
        self._fn = fn
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-write")
        self._pending: Future[None] | None = None

    def submit(self, item: T) -> None:
        self.wait()  # the previous item's errors surface before more work is queued
        self._pending = self._pool.submit(self._fn, item)

    def wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._pool.shutdown(wait=True)

    def close_quietly(self) -> None:
        """On the error path: stop without masking the error being raised."""
        with contextlib.suppress(Exception):  # the original error is the one to report
            self.close()
