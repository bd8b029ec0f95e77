"""The router's upstream HTTP client against raw TCP servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from quoteflow.local.stack import free_port
from quoteflow.router.http_client import ClientError, HttpClient

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + (await reader.readexactly(length) if length else b"")


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def serve(handler: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def run(coro: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coro, 10))  # type: ignore[arg-type]


def test_keep_alive_reuses_one_connection_and_sends_the_body() -> None:
    connections: list[int] = []
    seen: list[bytes] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        connections.append(1)
        while True:
            try:
                req = await read_request(r)
            except asyncio.IncompleteReadError:
                return
            seen.append(req)
            w.write(ok(b'{"n": %d}' % len(seen)))

    async def main() -> None:
        server, url = await serve(handler)
        c = HttpClient(4)
        for i in range(5):
            status, body = await c.post(url + "/v1/predict", b'{"x": 1}', 1.0)
            assert (status, body) == (200, b'{"n": %d}' % (i + 1))
        c.close()
        server.close()

    run(main())
    assert len(connections) == 1
    assert seen[0].startswith(b"POST /v1/predict HTTP/1.1\r\n")
    assert b"Content-Type: application/json" in seen[0] and seen[0].endswith(b'{"x": 1}')


def test_chunked_body_and_connection_close() -> None:
    connections: list[int] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        connections.append(1)
        await read_request(r)
        w.write(b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n"
                b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        await w.drain()
        w.close()

    async def main() -> None:
        server, url = await serve(handler)
        c = HttpClient(4)
        assert await c.get(url + "/readyz", 1.0) == (503, b"hello world")
        assert await c.get(url + "/readyz", 1.0) == (503, b"hello world")
        server.close()

    run(main())
    assert len(connections) == 2  # "Connection: close" is honoured: no reuse


def test_timeout_is_reported_and_the_late_answer_not_read_by_the_next_call() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while True:
            try:
                req = await read_request(r)
            except asyncio.IncompleteReadError:
                return
            if b"slow" in req:
                await asyncio.sleep(0.3)
                w.write(ok(b"late"))
            else:
                w.write(ok(b"fast"))

    async def main() -> None:
        server, url = await serve(handler)
        c = HttpClient(4)
        with pytest.raises(ClientError) as e:
            await c.post(url + "/slow", b"slow", 0.05)
        assert e.value.kind == "timeout"
        await asyncio.sleep(0.4)
        assert await c.post(url + "/fast", b"fast", 1.0) == (200, b"fast")
        server.close()

    run(main())


def test_refused_and_garbage_are_connection_errors() -> None:
    async def garbage(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(r)
        w.write(b"SSH-2.0-OpenSSH\r\n\r\n")

    async def main() -> None:
        c = HttpClient(4)
        with pytest.raises(ClientError) as e:
            await c.post(f"http://127.0.0.1:{free_port()}/v1/predict", b"{}", 1.0)
        assert e.value.kind == "connection"
        server, url = await serve(garbage)
        with pytest.raises(ClientError) as e:
            await c.post(url + "/v1/predict", b"{}", 1.0)
        assert e.value.kind == "connection" and "bad HTTP response" in str(e.value)
        server.close()

    run(main())


def test_idle_connection_closed_by_the_server_is_retried_once() -> None:
    requests: list[int] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        # answers one request, then closes as soon as the next one arrives: what a
        # draining server does to a keep-alive connection
        await read_request(r)
        requests.append(1)
        w.write(ok(b"one"))
        await w.drain()
        await r.read(1)
        w.transport.abort()

    async def main() -> None:
        server, url = await serve(handler)
        c = HttpClient(4)
        assert await c.post(url + "/a", b"{}", 1.0) == (200, b"one")
        assert await c.post(url + "/a", b"{}", 1.0) == (200, b"one")
        server.close()

    run(main())
    assert len(requests) == 2


def test_reset_mid_response_is_not_retried() -> None:
    calls: list[int] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(r)
        calls.append(1)
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await w.drain()
        w.transport.abort()

    async def main() -> None:
        server, url = await serve(handler)
        c = HttpClient(4)
        with pytest.raises(ClientError) as e:
            await c.post(url + "/a", b"{}", 1.0)
        assert e.value.kind == "connection"
        server.close()

    run(main())
    assert len(calls) == 1  # the request may have run: never sent twice


def test_response_over_the_limit_is_refused() -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(r)
        big = b"x" * (2 << 20)
        w.write(ok(big))

    async def main() -> None:
        server, url = await serve(handler)
        c = HttpClient(4)
        with pytest.raises(ClientError) as e:
            await c.get(url + "/", 2.0)
        assert "larger than 1 MiB" in str(e.value)
        server.close()

    run(main())


def test_only_plain_http_urls() -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="http://host"):
            await HttpClient(1).get("https://example.org/x", 1.0)

    run(main())


def test_extra_header_lines_are_sent_before_the_body() -> None:
    seen: list[bytes] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        seen.append(await read_request(r))
        w.write(ok(b"{}"))

    async def main() -> None:
        server, url = await serve(handler)
        c = HttpClient(1)
        assert await c.post(url + "/q", b'{"x": 1}', 1.0, b"X-Customer-Key: c-1\r\n") == (
            200, b"{}")
        c.close()
        server.close()

    run(main())
    head, body = seen[0].split(b"\r\n\r\n")
    assert b"\r\nX-Customer-Key: c-1\r\n" in head + b"\r\n"
    assert body == b'{"x": 1}'
