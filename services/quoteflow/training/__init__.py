"""The actuary's pipeline: data, severity and frequency models, pricing, ONNX, registry.

Entry points: ``quoteflow.products.motor.training.pipeline.train_and_register`` (Python) and the
``quoteflow train`` command (``quoteflow.training.cli``).
"""
