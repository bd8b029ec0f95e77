"""The inference service: one pinned ONNX model version."""
