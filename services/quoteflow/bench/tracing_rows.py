"""Tracing's cost (issue 28 item 5): the chain again with every process exporting spans
over OTLP/HTTP, at 1% and at 100% head sampling, beside the run's own tracing-off rows.

The spans go to a sink in the bench process: it answers each export as a collector
does (200, an empty ExportTraceServiceResponse) and keeps nothing, so the CPU measured
per quote is the chain's own (spans made, batched, encoded and sent), not a collector's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from quoteflow.bench.results import CHAIN_TRACED

if TYPE_CHECKING:
    from quoteflow.bench.runner import Bench

SERVICES = {"router": "ROUTER", "preprocess": "PREPROCESS", "inference-blue": "INFERENCE",
            "inference-green": "INFERENCE"}


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the exporter's session expects

    def do_POST(self) -> None:  # http.server's name
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@contextmanager
def sink() -> Iterator[str]:
    """An OTLP/HTTP traces URL that accepts everything and keeps nothing."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    finally:
        server.shutdown()
        server.server_close()


def tracing_env(endpoint: str, ratio: float) -> dict[str, dict[str, str]]:
    return {service: {f"QUOTEFLOW_{prefix}_TRACING__OTLP_ENDPOINT": endpoint,
                      f"QUOTEFLOW_{prefix}_TRACING__SAMPLE_RATIO": str(ratio)}
            for service, prefix in SERVICES.items()}


def measure(bench: Bench) -> None:
    """The chain's rows (closed and open loop, the widest of each) per sampling ratio."""
    o = bench.o
    with sink() as url:
        for section, ratio in CHAIN_TRACED.items():
            o.log(f"{section} ...")
            with bench.stack(env=tracing_env(url, ratio)) as st:
                groups = {k: st.procs[k].pid for k in SERVICES}
                bench.suite(section, st.config.url("router"), "/v1/quote", bench.work.quotes,
                            groups, o.conns[-1:], o.rates[-1:])
