"""W3C trace context in every service: the request id, its propagation, and spans.

Every request handled on a fast route (http.FastPathAPI) gets a trace id: the caller's
(``traceparent``), or a new one. It is the request's id: ``x-request-id`` on the
answer, ``trace_id`` in each JSON log line (logs.py reads trace_id()), the ledger
record's ``trace_id``; the router's upstream calls carry it on (``outgoing``).

Tracing off (no OTLP endpoint, the default) costs a header scan, a random id and a
contextvar a request: no span object, the OpenTelemetry SDK never imported. On, the
head decision is taken here, first: a caller's sampled flag, else the sample ratio; only
a kept request goes through the SDK (tracing_sdk.py), which makes its spans and exports
them over OTLP/HTTP. A request not kept takes the off path (its flag 00 passed on), so
at 1% the other 99% cost what they cost with tracing off.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from quoteflow.tracing_sdk import Tracing

REQUEST_ID_HEADER = b"x-request-id"


class Current:
    """The request being handled: its trace id and, tracing off, what its upstream calls
    carry (the caller's traceparent and tracestate, passed on unchanged as W3C says a
    non-participant does; or a new unsampled one), made on the first call only."""

    __slots__ = ("_out", "_parent", "_state", "sampled", "trace_id")

    def __init__(self, trace_id: str, parent: bytes | None = None,
                 state: bytes | None = None, sampled: bool = False) -> None:
        self.trace_id = trace_id
        self.sampled = sampled  # kept: its spans are made (tracing_sdk)
        self._parent, self._state, self._out = parent, state, b""

    def outgoing(self) -> bytes:
        if not self._out:
            if self._parent is None:
                self._out = b"traceparent: 00-%s-%016x-00\r\n" % (
                    self.trace_id.encode(), random.getrandbits(64) or 1)
            else:
                self._out = b"traceparent: %s\r\n" % self._parent + (
                    b"" if self._state is None else b"tracestate: %s\r\n" % self._state)
        return self._out


CURRENT: ContextVar[Current | None] = ContextVar("quoteflow_request", default=None)
_sdk: Tracing | None = None  # set by configure() when an endpoint is named
# one line a request at DEBUG (off by default: a check of the level is all it costs)
access_log = logging.getLogger("quoteflow.access")


class TracingSettings(BaseModel):
    """Each service's ``tracing`` settings (QUOTEFLOW_<SERVICE>_TRACING__OTLP_ENDPOINT)."""

    # the collector's OTLP/HTTP traces URL (http://otel-collector:4318/v1/traces);
    # None: tracing off, no span is made
    otlp_endpoint: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    # head sampling of the traces this service starts; a caller's decision is followed
    sample_ratio: float = Field(default=0.01, ge=0.0, le=1.0)
    # how long finished spans wait to be sent in one batch
    export_delay_ms: int = Field(default=1000, ge=10, le=60_000)


class Answer(Protocol):
    """What a handler returns: a Starlette Response has these."""

    status_code: int
    raw_headers: list[tuple[bytes, bytes]]


A = TypeVar("A", bound=Answer)


def configure(service: str, settings: TracingSettings,
              resource: Mapping[str, str] | None = None) -> None:
    """Turn spans on for this process when an endpoint is named (else leave them off)."""
    global _sdk
    shutdown()
    if settings.otlp_endpoint is not None:
        from quoteflow.tracing_sdk import Tracing

        _sdk = Tracing(service, settings, dict(resource or {}))


def shutdown() -> None:
    """Send what is left and stop exporting (at the end of the app's lifespan)."""
    global _sdk
    if _sdk is not None:
        _sdk.shutdown()
    _sdk = None


def enabled() -> bool:
    return _sdk is not None


# version-trace id-parent id-flags, lower-case hex; a later version may add fields
_TRACEPARENT = re.compile(r"[ \t]*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})"
                          r"(-[^ \t]*)?[ \t]*")
_ZERO_TRACE, _ZERO_PARENT = "0" * 32, "0" * 16
_SAMPLED = frozenset(f"{b:02x}" for b in range(256) if b & 1)  # flags with the sampled bit


def parse_traceparent(value: str) -> tuple[str, str, str] | None:
    """(trace id, parent id, flags) of a traceparent; None if malformed (W3C: then the
    callee starts a new trace). One regular expression: it runs on every request."""
    m = _TRACEPARENT.fullmatch(value)
    if m is None:
        return None
    version, trace_id, parent_id, flags, more = m.groups()
    if (version == "ff" or (version == "00" and more is not None)
            or trace_id == _ZERO_TRACE or parent_id == _ZERO_PARENT):
        return None
    return trace_id, parent_id, flags


def header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """An ASGI scope's header (lower-case name), or None."""
    for key, value in headers:
        if key == name:
            return value
    return None


async def handle(scope: Mapping[str, Any], run: Callable[[], Awaitable[A]]) -> A:
    """Run one request's handler under its trace id (and its server span when kept)."""
    headers = scope["headers"]
    raw = header(headers, b"traceparent")
    parent = parse_traceparent(raw.decode("latin-1")) if raw else None
    if _sdk is not None and (parent[2] in _SAMPLED if parent is not None
                             else random.random() < _sdk.ratio):
        return await _sdk.serve(scope, run)
    if parent is not None:
        current = Current(parent[0], raw, header(headers, b"tracestate"))
    else:
        # W3C asks ids to be unique, not secret: getrandbits (~0.1 us), as the SDK's own
        # id generator; os.urandom is a ~3 us system call here
        current = Current("%032x" % (random.getrandbits(128) or 1))
    answer = await run_as(current, scope, run)
    answer.raw_headers.append((REQUEST_ID_HEADER, current.trace_id.encode()))
    return answer


async def run_as(current: Current, scope: Mapping[str, Any],
                 run: Callable[[], Awaitable[A]]) -> A:
    """Run the handler with ``current`` as the request's trace (what its log lines and
    upstream calls read), and log the access line at DEBUG."""
    token = CURRENT.set(current)
    try:
        answer = await run()
        if access_log.isEnabledFor(logging.DEBUG):
            access_log.debug("answered", extra={"path": scope["path"],
                                                "status": answer.status_code})
        return answer
    finally:
        CURRENT.reset(token)


def trace_id() -> str | None:
    """The current request's trace id (None outside a request)."""
    current = CURRENT.get()
    return None if current is None else current.trace_id


class Call(Protocol):
    """An upstream call's client span (tracing_sdk.ClientCall), or nothing when off."""

    headers: bytes

    def end(self, status: int | None, error: str | None = None) -> None: ...


class _Untraced:
    """The off path's client call: the request's own header lines, nothing to end."""

    __slots__ = ("headers",)

    def __init__(self, headers: bytes) -> None:
        self.headers = headers

    def end(self, status: int | None, error: str | None = None) -> None:
        return None


def client_call(method: str, url: str, attributes: Mapping[str, Any] | None = None) -> Call:
    """An upstream call: its ``headers`` (traceparent) to send, ``end`` when answered."""
    current = CURRENT.get()
    if current is None:
        return _Untraced(b"")
    if _sdk is None or not current.sampled:
        return _Untraced(current.outgoing())
    return _sdk.client_call(method, url, attributes)


class _Noop:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NOOP = _Noop()


def recording() -> bool:
    """The current request is kept: its spans are made."""
    current = CURRENT.get()
    return _sdk is not None and current is not None and current.sampled


def span(name: str, attributes: Mapping[str, Any] | None = None,
         kind: str = "internal") -> AbstractContextManager[Any]:
    """A child span of the current one (a ledger commit, a re-quote lookup); a no-op
    when the request is not kept."""
    if _sdk is None or not recording():
        return _NOOP
    return _sdk.span(name, attributes, kind)


def annotate(attributes: Mapping[str, Any]) -> None:
    """Attributes on the current server span (the model that priced, its color)."""
    if _sdk is not None and recording():
        _sdk.annotate(attributes)


def exemplar() -> dict[str, str] | None:
    """The exemplar for a latency observation: the trace id of a kept request."""
    current = CURRENT.get()
    if current is None or not current.sampled:
        return None
    return {"trace_id": current.trace_id}


def capture() -> object:
    """What work done later for this request (shadow) needs to be traced with it."""
    if _sdk is not None and recording():
        return _sdk.capture()
    return CURRENT.get()


@contextmanager
def follow(captured: object, name: str,
           attributes: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Do later work for a request: its trace id in the logs, and when on a new span
    linked to the request's (off its critical path, so not a child)."""
    if _sdk is not None and not isinstance(captured, Current | None):
        with _sdk.follow(captured, name, attributes):
            yield
        return
    token = CURRENT.set(captured if isinstance(captured, Current) else None)
    try:
        yield
    finally:
        CURRENT.reset(token)
