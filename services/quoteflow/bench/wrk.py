"""Closed-loop load with wrk: a Lua script cycles through prebuilt POST requests.

Requests are built once per wrk thread (``wrk.format`` in ``init``), so the Lua
cost per request is an index increment; a body holding the ``UNIQUE`` mark (a quote's
customer key) is formatted per request instead, the mark replaced by the run's nonce
(the script's argument) and a counter. ``done`` prints one JSON line that we parse.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from quoteflow.bench.workload import UNIQUE, Request

LUA = """
local bodies = {%(bodies)s}
local keys = {%(keys)s}
local path = %(path)s
local reqs, heads, pre, post = {}, {}, {}, {}
local i, c, nonce = 0, 0, ""
function init(args)
  nonce = args[1] or ""
  for n = 1, #bodies do
    heads[n] = {["Content-Type"] = "application/json", ["X-Customer-Key"] = keys[n]}
    reqs[n] = wrk.format("POST", path, heads[n], bodies[n])
    local s, e = string.find(bodies[n], %(mark)s, 1, true)
    if s then
      pre[n], post[n] = string.sub(bodies[n], 1, s - 1), string.sub(bodies[n], e + 1)
    end
  end
  i = math.random(#reqs)
end
function request()
  i = i + 1
  if i > #reqs then i = 1 end
  if pre[i] then
    c = c + 1
    return wrk.format("POST", path, heads[i], pre[i] .. nonce .. c .. post[i])
  end
  return reqs[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {"requests": %%d, "duration_us": %%d, "non_2xx": %%d, ' ..
    '"socket_errors": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def _lua_str(s: str) -> str:
    return "[==[" + s + "]==]"


def write_script(path: Path, url_path: str, requests: list[Request]) -> Path:
    path.write_text(LUA % {
        "bodies": ",\n".join(_lua_str(r.body) for r in requests),
        "keys": ",".join(_lua_str(r.key) for r in requests),
        "path": _lua_str(url_path),
        "mark": _lua_str(UNIQUE),
    })
    return path


@dataclass
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def available() -> bool:
    return shutil.which("wrk") is not None


def run(base_url: str, script: Path, connections: int, seconds: float,
        pin: str | None = None, threads: int = 1, timeout_s: int = 5) -> WrkResult:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
           f"--timeout={timeout_s}s", "-s", str(script), base_url,
           "--", uuid.uuid4().hex[:12]]  # the nonce that keeps every quote new
    if pin:
        cmd = ["taskset", "-c", pin, *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         timeout=seconds + 60).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCHJSON "))
    d = json.loads(line.removeprefix("BENCHJSON "))
    return WrkResult(d["requests"], d["duration_us"] / 1e6, d["non_2xx"], d["socket_errors"],
                     d["p50_us"] / 1000, d["p99_us"] / 1000, d["max_us"] / 1000)
