"""BentoML as an anchor: the same ONNX file served by BentoML 1.4, one hop.

BentoML lives in its own venv (``<workdir>/bentoml-venv``) so its pins cannot
touch ours; we install it there on first use and report "not installable" rather
than fail when that is impossible. The service is written the way BentoML's docs
write one: a ``@bentoml.service`` class, one worker (one core, like our
inference process), a sync ``@bentoml.api`` returning the same four outputs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SERVICE = '''
import os

import bentoml
import numpy as np
import onnxruntime as ort

OUTPUTS = ["frequency", "severity", "pure_premium", "premium"]


@bentoml.service(workers=1, traffic={"timeout": 10})
class MotorPricing:
    def __init__(self) -> None:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(os.environ["BENCH_ONNX"], opts,
                                            providers=["CPUExecutionProvider"])

    @bentoml.api
    def predict(self, features: list[list[float]]) -> dict:
        x = np.asarray(features, dtype=np.float32)
        out = self.session.run(OUTPUTS, {"features": x})
        cols = [np.asarray(v, dtype=np.float64).reshape(-1) for v in out]
        return {"predictions": [dict(zip(OUTPUTS, map(float, row))) for row in zip(*cols)]}
'''


def venv_python(workdir: Path) -> Path:
    return workdir / "bentoml-venv" / "bin" / "python"


def ensure_installed(workdir: Path) -> str | None:
    """None when BentoML is usable, else why not (shown in the table)."""
    py = venv_python(workdir)
    check = [str(py), "-c", "import bentoml, onnxruntime, numpy"]
    if py.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return None
    log = workdir / "bentoml-install.log"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(py.parent.parent)], check=True,
                       capture_output=True, timeout=300)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "bentoml", "onnxruntime",
                        "numpy"], check=True, timeout=900, stdout=log.open("ab"),
                       stderr=subprocess.STDOUT)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        return f"not installable here ({type(e).__name__}; see {log})"
    if subprocess.run(check, capture_output=True).returncode != 0:
        return f"installed but does not import (see {log})"
    return None


def start(workdir: Path, onnx_path: Path, port: int) -> subprocess.Popen[bytes]:
    svc_dir = workdir / "bento"
    svc_dir.mkdir(parents=True, exist_ok=True)
    (svc_dir / "service.py").write_text(SERVICE)
    env = {**os.environ, "BENCH_ONNX": str(onnx_path), "BENTOML_DO_NOT_TRACK": "true",
           "BENTOML_HOME": str(workdir / "bentoml-home")}
    env.pop("VIRTUAL_ENV", None)
    bentoml = venv_python(workdir).parent / "bentoml"
    log = (svc_dir / "serve.log").open("ab")
    return subprocess.Popen([str(bentoml), "serve", "service:MotorPricing", "--host",
                             "127.0.0.1", "--port", str(port), "--working-dir", str(svc_dir)],
                            cwd=svc_dir, env=env, stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
