"""Drill: hostile input against every service, on one running stack.

Generated requests (schemathesis, from each service's own OpenAPI), hand-made
malformed bodies, bodies far over the limits (declared and streamed), and slow
clients: never a 5xx, every refusal a JSON error naming the problem, normal quotes
still priced, resident memory bounded.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from quoteflow.local.stack import Stack
from quoteflow.products.motor.features import FEATURE_SCHEMA_VERSION, N_FEATURES
from tests.drills.load import DrillLoad, report, rss_mib, stack_memory
from tests.e2e.helpers import TOKEN, make_stack, quote_body

QUOTE = json.dumps(quote_body()).encode()
PREDICT = json.dumps({"schema_version": FEATURE_SCHEMA_VERSION,
                      "features": [[1.0] * N_FEATURES]}).encode()
POLICY = json.dumps({"blue": {"version": "1"}, "green": {"version": "2"},
                     "green_weight": 50, "shadow": {"enabled": True}}).encode()

# (service, method, path, a valid body, headers, a number in that body to replace)
ENDPOINTS = {
    "router_quote": ("router", "POST", "/v1/quote", QUOTE, {}, b'"bonus_malus": 50'),
    "preprocess_features": ("preprocess", "POST", "/v1/features", QUOTE, {},
                            b'"bonus_malus": 50'),
    "inference_predict": ("inference-blue", "POST", "/v1/predict", PREDICT, {}, b"[[1.0"),
    "router_admin": ("router", "PUT", "/admin/traffic", POLICY,
                     {"authorization": f"Bearer {TOKEN}"}, b'"green_weight": 50'),
}


def malformed(valid: bytes, number: bytes) -> dict[str, bytes]:
    """Bodies under every size limit that no parser should survive with a 5xx;
    `number` (text of `valid` ending in a number) is where a hostile number goes."""
    assert valid.count(number) == 1, number
    stem = number.rstrip(b"0123456789.")

    def with_number(text: bytes) -> bytes:
        return valid.replace(number, stem + text)

    doc = json.loads(valid)
    first = next(iter(doc))
    return {
        "deep_arrays": b"[" * 8000 + b"]" * 8000,
        "deep_objects": b'{"a":' * 2000 + b"1" + b"}" * 2000,
        "invalid_utf8": valid[:-1] + b', "x": "\xff\xfe"}',
        "nan_literal": with_number(b"NaN"),
        "infinity_literal": with_number(b"-Infinity"),
        "overflowing_number": with_number(b"1e999"),
        "huge_integer": with_number(b"9" * 4000),
        "nul_in_string": json.dumps({**doc, first: "a\u0000b"}).encode(),
        "long_string": json.dumps({**doc, first: "a" * 12000}).encode(),
        "truncated": valid[: len(valid) // 2],
        "not_json": b"<xml>quote</xml>",
        "scalar": b"42",
        "null": b"null",
        "empty_list": b"[]",
        "empty_object": b"{}",
        "unknown_field": json.dumps({**doc, "surprise": 1}).encode(),
    }


def request(url: str, method: str, path: str, body: bytes, headers: dict[str, str],
            content_type: str = "application/json") -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, body=body,
                     headers={"content-type": content_type, **headers})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def stack(trained_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    st = make_stack(trained_registry, tmp_path_factory.mktemp("hostile"), green_weight=50,
                    shadow=True)
    with st:
        yield st


def refused_cleanly(status: int, body: bytes) -> str | None:
    """Why an answer to a hostile body is not a clean refusal (None: it is)."""
    if not 400 <= status < 500:
        return f"status {status}"
    try:
        detail = json.loads(body)["detail"]
    except (ValueError, KeyError, TypeError):
        return f"not a JSON error body: {body[:120]!r}"
    return None if detail else "empty detail"


def test_malformed_bodies_are_refused_with_a_4xx(stack: Stack) -> None:
    bad: list[str] = []
    n = 0
    for name, (service, method, path, valid, headers, number) in ENDPOINTS.items():
        url = stack.config.url(service)
        cases = malformed(valid, number)
        # duplicate keys: the quote's parsers would keep the last one silently; the
        # predict and admin bodies come from the router and the operator's tooling
        if service != "inference-blue" and name != "router_admin":
            cases["duplicate_key"] = valid[:-1] + b', "bonus_malus": 900}'
        for case, body in cases.items():
            status, answer = request(url, method, path, body, headers)
            n += 1
            if why := refused_cleanly(status, answer):
                bad.append(f"{name} {case}: {why}")
        for ctype in ("text/plain", "application/x-www-form-urlencoded", ""):
            status, answer = request(url, method, path, valid, headers, content_type=ctype)
            n += 1
            if status != 415 or refused_cleanly(status, answer):
                bad.append(f"{name} content-type {ctype!r}: {status}")
        status, answer = request(url, method, path, b"", headers)
        n += 1
        if status != 422 or refused_cleanly(status, answer):
            bad.append(f"{name} empty body: {status}")
    report(drill="malformed_bodies", sent=n, refused_cleanly=n - len(bad), failed=len(bad))
    assert not bad, bad
    # and the stack still prices quotes
    assert request(stack.config.url("router"), "POST", "/v1/quote", QUOTE, {})[0] == 200


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield f"{size:x}\r\n".encode() + b"x" * size + b"\r\n"
        sent += size
    yield b"0\r\n\r\n"


def raw_exchange(url: str, head: bytes, body: Iterator[bytes]) -> tuple[int, bytes]:
    """Send a request on a raw socket, its body as a stream; the answer's status and
    body. The server may answer before the body is all sent, as it should."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(head)
        try:
            for chunk in body:
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused early and closed: the answer is already in our buffer
        data = b""
        while not answer_complete(data):
            got = s.recv(65536)
            if not got:
                break
            data += got
    status = int(data.split(b" ", 2)[1]) if data else -1
    return status, data.partition(b"\r\n\r\n")[2]


def answer_complete(data: bytes) -> bool:
    """Headers and as many body bytes as their content-length says have arrived."""
    head, sep, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"content-length: (\d+)", head, re.I)
    return bool(sep) and length is not None and len(body) >= int(length.group(1))


def test_oversized_bodies_get_413_and_memory_stays_bounded(stack: Stack) -> None:
    """16 MiB bodies, declared (Content-Length) and streamed (chunked, no length),
    five times at each endpoint: a 413 naming the limit, and no process grows by
    more than the bodies' worth would suggest."""
    before = {s: rss_mib(p.pid) for s, p in stack.procs.items()}
    big = 16 * 1024 * 1024
    results: list[tuple[str, int, bytes]] = []
    for name, (service, method, path, _, headers, _) in ENDPOINTS.items():
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        for _ in range(5):
            head = (f"{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                    f"{extra}content-length: {big}\r\n\r\n").encode()
            results.append((name + " declared",
                            *raw_exchange(stack.config.url(service), head,
                                          iter([b"x" * (1024 * 1024)] * 16))))
            head = (f"{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                    f"{extra}transfer-encoding: chunked\r\n\r\n").encode()
            results.append((name + " streamed",
                            *raw_exchange(stack.config.url(service), head, chunks(big))))
    grown = {s: round(rss_mib(p.pid) - before[s], 1) for s, p in stack.procs.items()}
    report(drill="oversized_bodies", sent=len(results),
           status_413=sum(1 for _, st, _ in results if st == 413), mib_sent=len(results) * 16,
           **{f"rss_growth_mib_{k}": v for k, v in grown.items()})
    for name, status, body in results:
        assert status == 413, (name, status, body[:200])
        assert b"body over" in body, (name, body[:200])
    # 640 MiB went in; a process that buffered even one body whole would show it
    assert all(g < 48 for g in grown.values()), grown


def test_slow_clients_do_not_starve_quotes(stack: Stack) -> None:
    """200 connections trickle a request one byte every 200 ms (slowloris) while
    quotes flow at 50/s: every quote is still priced, memory stays bounded.
    uvicorn sets no deadline on reading a request; in a cluster the ingress buffers
    requests and cuts such clients off (README, Security)."""
    url = stack.config.url("router")
    host, port = url.removeprefix("http://").split(":")
    head = b"POST /v1/quote HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" \
           b"content-length: %d\r\n\r\n" % len(QUOTE) + QUOTE
    stop = threading.Event()
    socks = [socket.create_connection((host, int(port)), timeout=5) for _ in range(200)]
    before = rss_mib(stack.procs["router"].pid)

    def trickle() -> None:
        i = 0
        while not stop.is_set() and i < len(head) - 1:  # never the last byte
            for s in socks:
                s.send(head[i:i + 1])
            i += 1
            stop.wait(0.2)

    t = threading.Thread(target=trickle)
    t.start()
    try:
        with DrillLoad(url, rate=50) as load:
            time.sleep(5.0)
        memory = stack_memory(stack.procs)
        grown = rss_mib(stack.procs["router"].pid) - before
    finally:
        stop.set()
        t.join(10)
        for s in socks:
            s.close()
    load.figures("slow_clients", slow_connections=len(socks),
                 router_rss_growth_mib=round(grown, 1), **memory)
    assert not load.failed, load.failed[:3]
    assert len(load.sent) > 200
    assert grown < 32, grown


SCHEMATHESIS_EXAMPLES = 300  # per operation: 5,048 cases, 139 s (600: 9,200 cases, 290 s)
# a fixed seed makes a failure reproducible (`schemathesis run ... --seed`); set
# QUOTEFLOW_FUZZ_SEED to explore other cases
FUZZ_SEED = os.environ.get("QUOTEFLOW_FUZZ_SEED", "20261123")


@pytest.mark.parametrize("service", ["preprocess", "inference-blue", "router"])
def test_schemathesis_finds_no_server_error(stack: Stack, service: str,
                                            tmp_path: Path) -> None:
    """Property-based requests from the service's own OpenAPI document: no 5xx, schema-
    violating requests refused, statuses and content types as documented. The admin
    token is sent, so PUT /admin/traffic is exercised past authorisation."""
    cmd = [str(Path(sys.executable).parent / "schemathesis"), "run",
           stack.config.url(service) + "/openapi.json",
           "--checks", "not_a_server_error,negative_data_rejection,status_code_conformance,"
                       "content_type_conformance",
           "--max-examples", str(SCHEMATHESIS_EXAMPLES), "--seed", FUZZ_SEED,
           "--header", f"Authorization: Bearer {TOKEN}", "--workers", "2"]
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    text = out.stdout + out.stderr
    m = re.search(r"(\d+) generated", text)
    report(drill=f"schemathesis_{service}", cases=m.group(1) if m else "?", seed=FUZZ_SEED,
           exit=out.returncode)
    assert out.returncode == 0, text[-6000:]
    assert m and int(m.group(1)) >= 200, text[-2000:]
    assert "No issues found" in text, text[-3000:]
    assert stack.ready(service)
