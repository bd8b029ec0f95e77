"""The classic weighted router as an anchor: Debian nginx with ``split_clients``.

It hashes the customer key (X-Customer-Key) into Blue/Green by the same share the
router's policy gives Green, and proxies to the two inference processes over
keep-alive connections. Runs in the foreground (``daemon off``) with our own
config and prefix under the bench workdir, so its PID is the one we stop.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CONF = """
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    split_clients "${{http_x_customer_key}}" $color {{
        {green_pct}% green;
        * blue;
    }}
    upstream blue {{ server {blue}; keepalive 128; }}
    upstream green {{ server {green}; keepalive 128; }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=2048;
        location / {{
            proxy_pass http://$color;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def available() -> bool:
    return shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()


def start(prefix: Path, port: int, blue: str, green: str, green_pct: float
          ) -> subprocess.Popen[bytes]:
    """blue/green as host:port. One worker process: one core's worth, like the router."""
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(CONF.format(prefix=prefix, port=port, blue=blue, green=green,
                                green_pct=f"{green_pct:g}"))
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    log = (prefix / "stderr.log").open("ab")
    # -e: the early error log too (before the config is read) goes to our prefix
    return subprocess.Popen([binary, "-p", str(prefix), "-c", str(conf),
                             "-e", str(prefix / "error.log")],
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
