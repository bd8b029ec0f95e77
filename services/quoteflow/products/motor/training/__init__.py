"""Motor pricing's training: data, severity and frequency models, pricing, ONNX, registry.

Entry points: ``pipeline.train_and_register`` (Python) and ``quoteflow train --product
motor`` (``cli.py``, reached through the platform's dispatch).
"""
