"""SIGTERM drains keep-alive connections instead of cutting them.

A real `quoteflow serve preprocess` process and a raw HTTP/1.1 keep-alive connection: the
request sent on it after the SIGTERM is answered (200, `Connection: close`), then the
server closes it and exits. Without the drain, uvicorn closes an idle connection at
once, and a client that sent on it at that moment gets a reset instead of an answer
(what `tests/drills/test_restarts.py` saw on one core, issue 29).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from quoteflow.local.stack import free_port

REQUEST = b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n"


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_a_request_on_a_kept_alive_connection_after_sigterm_is_answered() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUOTEFLOW_")}
    proc = subprocess.Popen([sys.executable, "-m", "quoteflow.cli", "serve", "preprocess",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "preprocess did not start"
            time.sleep(0.1)
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(REQUEST)
        first = read_response(sock)
        assert first.startswith(b"HTTP/1.1 200") and b"connection: close" not in first.lower()
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)  # the connection sits idle while the shutdown begins
        sock.sendall(REQUEST)
        second = read_response(sock)
        assert second.startswith(b"HTTP/1.1 200"), second
        assert b"connection: close" in second.lower(), second
        sock.settimeout(5)
        assert sock.recv(1) == b"", "the server closes the connection after that answer"
        sock.close()
        # and exits (uvicorn re-raises the SIGTERM it handled: that is the status)
        assert proc.wait(timeout=10) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert "Traceback" not in out and '"level": "ERROR"' not in out, out
