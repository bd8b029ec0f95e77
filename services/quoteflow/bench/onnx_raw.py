"""Raw onnxruntime, batch=1, in process: the floor under every serving figure.

Same session options as the inference service (one intra-op thread, sequential,
all graph optimisations), same feature rows as the load tests. Any product's graph:
its input and all its outputs are read from the graph (the shipped graphs have just
the outputs their product's ``model_io`` names, which inference asks for).
"""

from __future__ import annotations

import time

import numpy as np
import onnxruntime as ort

from quoteflow.bench.results import NO_EXPLANATION, RAW, Row


def session(onnx_bytes: bytes) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])


def measure(onnx_bytes: bytes, rows: list[list[float]], seconds: float) -> dict[str, float]:
    """Calls/s and per-call p50/p99 of batch=1 runs cycling through ``rows``."""
    sess = session(onnx_bytes)
    xs = [np.asarray([r], dtype=np.float32) for r in rows]
    (feed,) = (i.name for i in sess.get_inputs())
    outputs = [o.name for o in sess.get_outputs()]
    for x in xs[:200]:  # warm-up
        sess.run(outputs, {feed: x})
    times: list[float] = []
    cpu0 = time.process_time()
    t_end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < t_end:
        t0 = time.perf_counter()
        sess.run(outputs, {feed: xs[i % len(xs)]})
        times.append(time.perf_counter() - t0)
        i += 1
    cpu = time.process_time() - cpu0
    arr = np.sort(np.asarray(times))
    return {"rate": len(arr) / float(arr.sum()), "requests": float(len(arr)),
            "p50_ms": float(arr[len(arr) // 2] * 1000),
            "p99_ms": float(arr[int(len(arr) * 0.99)] * 1000),
            "cpu_us": cpu / len(arr) * 1e6}


def rows(onnx_bytes: bytes, plain: bytes | None, features: list[list[float]],
         seconds: float) -> list[Row]:
    """The artifact's row, and the same graph's without its explanation if it has one."""
    out = []
    for load, graph in (("batch=1 loop", onnx_bytes), (NO_EXPLANATION, plain)):
        if graph is not None:
            m = measure(graph, features, seconds)
            out.append(Row(RAW, load, m["rate"], m["p50_ms"], m["p99_ms"], 0,
                           int(m["requests"]), {"bench": round(m["cpu_us"], 1)}))
    return out
