"""Any tabular file (CSV, Excel, Parquet, JSON) staged in DuckDB as text columns with the row's
location in the file, so every check can name the file, the row and the field.

A file that cannot be read at all (wrong encoding, not the format it claims, missing columns)
is refused as a whole; rows are judged one by one later.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from accrue.ingest.errors import InputError, Problem

FORMATS = (".csv", ".txt", ".xlsx", ".parquet", ".json")


def refuse(path: Path | str, message: str, line: int | None = None, field: str | None = None):
    return InputError([Problem(str(path), line, field, None, message)])


def _text(value) -> str | None:
    """A cell as the text a CSV would hold: Excel numbers and dates keep their exact value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _sheet_rows(path: Path) -> Iterator[tuple]:
    """The first worksheet's rows as tuples of text, header first."""
    import openpyxl  # only Excel needs it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
        raise refuse(path, f"cannot be read as an Excel workbook: {error}") from None
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield tuple(_text(cell) for cell in row)
    finally:
        book.close()


def _excel(path: Path) -> pa.Table:
    rows = _sheet_rows(path)
    header = [(h or "").strip() for h in next(rows, ())]
    columns: list[list[str | None]] = [[] for _ in header]
    for row in rows:
        if all(cell is None for cell in row):
            continue
        for i in range(len(header)):
            columns[i].append(row[i] if i < len(row) else None)
    return pa.table(
        {h: pa.array(c, pa.string()) for h, c in zip(header, columns, strict=True) if h}
    )


def records(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """A small CSV or Excel file (master data) as (line, row) with stripped text; line 1 is
    the header, given as {column: column}."""
    if path.suffix.lower() == ".xlsx":
        rows = _sheet_rows(path)
    elif path.suffix.lower() in (".csv", ".txt"):
        rows = _csv_rows(path)
    else:
        raise refuse(path, "not a .csv or .xlsx file")
    header = [(h or "").strip() for h in next(rows, ())]
    yield 1, {h: h for h in header if h}
    for line, row in enumerate(rows, 2):
        if any(cell for cell in row):
            yield line, {h: (v or "").strip() for h, v in zip(header, row, strict=False) if h}


def _csv_rows(path: Path) -> Iterator[tuple]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            yield from csv.reader(handle)
    except UnicodeDecodeError as error:
        raise refuse(path, f"not UTF-8 text: {error.reason}") from None
    except FileNotFoundError:
        raise refuse(path, "file not found") from None


def _json(path: Path) -> pa.Table:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise refuse(path, f"not UTF-8 text: {error.reason}") from None
    except json.JSONDecodeError as error:
        raise refuse(path, f"not valid JSON: {error.msg}", error.lineno) from None
    return json_rows(document, path)


def json_rows(document, path: Path | str) -> pa.Table:
    """A JSON list of objects, or {"lines": [...]}: row N is item N (from 1)."""
    items = document.get("lines") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise refuse(path, 'expected a list of objects, or {"lines": [...]}')
    names: dict[str, None] = {}
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise refuse(path, f"item {n} is not an object", n)
        names.update(dict.fromkeys(item))
    return pa.table(
        {name: pa.array([_text(item.get(name)) for item in items], pa.string()) for name in names}
    )


def _duckdb_reader(path: Path) -> str:
    if path.suffix.lower() == ".parquet":
        return f"read_parquet('{path}')"
    return f"read_csv('{path}', all_varchar = true, header = true, encoding = 'utf-8')"


def stage(
    raw: duckdb.DuckDBPyConnection,
    path: Path,
    name: str,
    required: Sequence[str],
    optional: dict[str, str] | None = None,
    table: pa.Table | None = None,
) -> int:
    """Create temp table `name`: `file_line` plus every required and optional column as text
    (an optional column missing from the file gets its default). Returns the row count."""
    optional = optional or {}
    suffix = path.suffix.lower()
    if table is None and suffix not in FORMATS:
        raise refuse(path, f"not a {', '.join(FORMATS)} file")
    first = 2 if suffix in (".csv", ".txt", ".xlsx") else 1  # after the header row, if any
    source = _duckdb_reader(path)
    if table is None and suffix in (".xlsx", ".json"):
        table = _excel(path) if suffix == ".xlsx" else _json(path)
    if table is not None:
        source = f"{name}_arrow"
        raw.register(source, table)
    try:
        columns = [c[0] for c in raw.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    except duckdb.Error as error:
        raise refuse(path, f"cannot be read: {str(error).splitlines()[0]}") from None
    missing = [c for c in required if c not in columns]
    if missing:
        raise refuse(path, "missing column", 1, ", ".join(missing))
    selected = [f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in required]
    selected += [
        f'CAST("{c}" AS VARCHAR) AS "{c}"' if c in columns else f"'{default}' AS \"{c}\""
        for c, default in optional.items()
    ]
    try:
        raw.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT row_number() OVER () - 1 + {first} "
            f"AS file_line, {', '.join(selected)} FROM {source}"
        )
    except duckdb.Error as error:
        raise refuse(path, f"cannot be read: {str(error).splitlines()[0]}") from None
    return raw.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
