"""A small keep-alive HTTP/1.1 client for the router's calls to its own upstreams.

The router makes two upstream calls per quote, and with aiohttp's client they
were ~45% of its CPU (py-spy): ~205 us of client work a call, against ~70 us for
this one (measured on this machine, one connection, same inference process). It
only speaks to our services: plain HTTP/1.1 on a pool of keep-alive connections,
responses parsed by httptools (the parser uvicorn uses), Content-Length or
chunked bodies, a deadline per call.

Failures come out as ``ClientError(kind)``: "connection" (refused, reset, or a
response that is not HTTP) or "timeout". A request sent on a pooled connection
that the server had closed (it restarted or drained) never ran: it is sent once
more on a fresh connection, inside the same deadline.
"""

from __future__ import annotations

import asyncio
import collections
from typing import cast
from urllib.parse import urlsplit

import httptools

MAX_RESPONSE_BYTES = 1 << 20


class ClientError(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.received = False  # any byte of the current response
        self.open = True
        self.keep_alive = True

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a TCP connection's; uvloop's transport is not an asyncio.Transport subclass, so
        # no isinstance check (it failed every connection under uvloop)
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            self._fail(ClientError("connection", f"bad HTTP response: {e}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._fail(ConnectionResetError("connection closed before the response ended"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > MAX_RESPONSE_BYTES:
            self._fail(ClientError("connection", "response larger than 1 MiB"))
            self.close()
            return
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        w = self.waiter
        if w is not None and not w.done():
            w.set_result((self.parser.get_status_code(), b"".join(self.chunks)))

    def _fail(self, exc: BaseException) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_exception(exc)

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, request: bytes, deadline: float) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        self.chunks, self.size, self.received = [], 0, False
        waiter: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        self.waiter = waiter
        assert self.transport is not None
        self.transport.write(request)
        # a timer, not asyncio.wait_for: a call costs a fraction of wait_for's task
        timer = loop.call_at(deadline, self._fail, TimeoutError())
        try:
            return await waiter
        finally:
            timer.cancel()
            self.waiter = None


class Origin:
    """Pooled connections to one host:port; at most ``limit`` at once."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self.idle: collections.deque[_Connection] = collections.deque()
        self.slots = asyncio.Semaphore(limit)

    async def _connect(self, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(deadline):
                _, conn = await loop.create_connection(_Connection, self.host, self.port)
        except TimeoutError:
            raise
        except OSError as e:
            raise ClientError("connection", f"{self.host}:{self.port}: {e}") from e
        return conn

    async def request(self, request: bytes, timeout: float) -> tuple[int, bytes]:
        deadline = asyncio.get_running_loop().time() + timeout
        if self.slots.locked():  # only then wait, under the deadline (a timeout context
            try:                 # costs more than the rest of the call's bookkeeping)
                async with asyncio.timeout_at(deadline):
                    await self.slots.acquire()
            except TimeoutError:
                raise ClientError("timeout", f"no free connection within "
                                             f"{timeout * 1000:.0f} ms") from None
        else:
            await self.slots.acquire()  # a free slot: returns at once
        try:
            return await self._request(request, deadline, timeout)
        finally:
            self.slots.release()

    async def _request(self, request: bytes, deadline: float,
                       timeout: float) -> tuple[int, bytes]:
        conn = None
        while self.idle:
            candidate = self.idle.pop()
            if candidate.open:
                conn = candidate
                break
        reused = conn is not None
        try:
            if conn is None:
                conn = await self._connect(deadline)
            try:
                status, body = await conn.exchange(request, deadline)
            except ConnectionResetError:
                if not (reused and not conn.received):
                    raise
                # the server closed this idle connection as we sent: send once more
                conn = await self._connect(deadline)
                status, body = await conn.exchange(request, deadline)
        except TimeoutError:
            if conn is not None:
                conn.close()  # a late answer must not be read by the next request
            raise ClientError("timeout", f"no answer within {timeout * 1000:.0f} ms") from None
        except ConnectionResetError as e:
            raise ClientError("connection", f"{self.host}:{self.port}: {e}") from e
        except ClientError:
            if conn is not None:
                conn.close()
            raise
        if conn.keep_alive and conn.open:
            self.idle.append(conn)
        else:
            conn.close()
        return status, body

    def close(self) -> None:
        while self.idle:
            self.idle.pop().close()


class HttpClient:
    """POST/GET to upstream URLs; one Origin (pool) per host:port."""

    def __init__(self, limit_per_origin: int = 64) -> None:
        self.limit = limit_per_origin
        self.origins: dict[tuple[str, int], Origin] = {}
        self.heads: dict[tuple[str, str], tuple[Origin, bytes]] = {}

    def _head(self, method: str, url: str) -> tuple[Origin, bytes]:
        key = (method, url)
        found = self.heads.get(key)
        if found is None:
            u = urlsplit(url)
            if u.scheme != "http" or not u.hostname:
                raise ValueError(f"upstream URL must be http://host[:port]/path, got {url!r}")
            port = u.port or 80
            origin = self.origins.get((u.hostname, port))
            if origin is None:
                origin = self.origins[(u.hostname, port)] = Origin(u.hostname, port, self.limit)
            head = (f"{method} {u.path or '/'}{'?' + u.query if u.query else ''} HTTP/1.1\r\n"
                    f"Host: {u.netloc}\r\n").encode()
            found = self.heads[key] = (origin, head)
        return found

    async def post(self, url: str, body: bytes, timeout: float,
                   headers: bytes = b"") -> tuple[int, bytes]:
        """``headers``: more header lines, each ending in CRLF (the bench's customer key)."""
        origin, head = self._head("POST", url)
        request = b"%s%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
            head, headers, len(body), body)
        return await origin.request(request, timeout)

    async def get(self, url: str, timeout: float) -> tuple[int, bytes]:
        origin, head = self._head("GET", url)
        return await origin.request(head + b"\r\n", timeout)

    def close(self) -> None:
        for origin in self.origins.values():
            origin.close()
