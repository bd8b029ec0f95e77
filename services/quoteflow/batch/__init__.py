"""Batch scoring: reprice a whole book offline with the live path's features and model.

reader (stream CSV/Parquet chunks) -> judged (each row as the live API would, by the
product's request model) -> scorer (the product's features + the ONNX graph, vectorised)
-> writer (priced rows, rejects) -> plot; ``job.run`` wires them and ``cli.score`` is the command.
"""
