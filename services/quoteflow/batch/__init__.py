"""Batch scoring: reprice a whole book offline with the live path's features and model.

reader (stream CSV/Parquet chunks) -> the product's judge (each row as the live API would)
-> scorer (the product's features + the ONNX graph, vectorised) -> writer (priced rows, rejects)
-> plot; ``job.run`` wires them and ``cli.score`` is the command.
"""
