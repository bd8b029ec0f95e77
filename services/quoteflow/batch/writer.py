"""Write priced rows (CSV or Parquet, streamed) and rejected rows (JSON lines).

Both files are written under a temporary name and renamed at the end, so a run that
fails half way never leaves a file that looks like a complete repricing.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from quoteflow.batch.reader import BookError, file_format


def default_rejects_path(output: Path) -> Path:
    return output.with_name(output.stem + ".rejects.jsonl")


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial-{os.getpid()}")


class PricedWriter:
    """Priced rows to ``path``; the format follows the extension, like the input's."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.format = file_format(path)
        if not path.parent.is_dir():
            raise BookError(f"{path}: output folder {path.parent} does not exist")
        self._tmp = _partial(path)
        self._writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            if self.format == "parquet":
                self._writer = pq.ParquetWriter(self._tmp, table.schema)
            else:
                self._writer = pacsv.CSVWriter(self._tmp, table.schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def commit(self) -> None:
        # the reader gives at least one chunk, so even an empty book has its header
        assert self._writer is not None
        self._writer.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._tmp.unlink(missing_ok=True)


class RejectWriter:
    """One JSON object per rejected row: row_number, input (the request body the row
    stands for), policy_id when the book has one, errors (the live API's 422 detail)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tmp = _partial(path)
        self._fh: IO[bytes] = self._tmp.open("wb")
        self.rows = 0
        self.by_field: dict[str, int] = {}

    def write(self, row_number: int, body: dict[str, Any], errors: list[dict[str, Any]],
              policy_id: Any = None) -> None:
        rec: dict[str, Any] = {"row_number": row_number}
        if policy_id is not None:
            rec["policy_id"] = policy_id
        rec.update(input=body, errors=errors)
        self._fh.write(orjson.dumps(rec, default=str) + b"\n")
        self.rows += 1
        for e in errors:
            field = str(e["loc"][1]) if len(e["loc"]) > 1 else "body"
            self.by_field[field] = self.by_field.get(field, 0) + 1

    def commit(self) -> None:
        self._fh.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> RejectWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if et is None:
            self.commit()
        else:
            self.abort()
