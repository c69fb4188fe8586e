"""Any tabular file (CSV, Excel, Parquet, JSON) staged in DuckDB as text columns with the row's
location in the file, so every check can name the file, the row and the field.

A file that cannot be read at all (wrong encoding, not the format it claims, missing columns)
is refused as a whole; rows are judged one by one later.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Context, Decimal
from itertools import zip_longest
from pathlib import Path

import duckdb
import pyarrow as pa

from accrue.domain.errors import Refused
from accrue.domain.numbers import read_decimal
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
    if isinstance(value, float | Decimal):
        return _number_text(Decimal(repr(value)) if isinstance(value, float) else value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _number_text(number: Decimal) -> str:
    """An Excel or JSON number as the plain text it stands for, every digit kept (1.0 → 1);
    one no reader accepts (1E+400, NaN) as written, for the row's check to quarantine."""
    try:
        number = read_decimal(number)
    except Refused:
        return str(number)
    return format(number.normalize(Context(prec=len(number.as_tuple().digits))), "f")


def read_json(text: str):
    """JSON with its numbers as the decimals they spell (never the nearest float: 18 digits
    of an amount stay 18) and NaN or Infinity as the words sent."""
    return json.loads(text, parse_float=Decimal, parse_constant=str)


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
    the header, given as {column: column}. A row shorter than the header has its last cells
    empty (as a spreadsheet that leaves off trailing commas means them)."""
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
            yield line, {h: (v or "").strip() for h, v in zip_longest(header, row) if h}


def _csv_rows(path: Path) -> Iterator[tuple]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            yield from reader
    except csv.Error as error:  # a quote never closed, a field over the reader's limit
        raise refuse(path, f"not valid CSV: {error}", reader.line_num) from None
    except UnicodeDecodeError as error:
        raise refuse(path, f"not UTF-8 text: {error.reason}") from None
    except FileNotFoundError:
        raise refuse(path, "file not found") from None


def _json(path: Path) -> pa.Table:
    return json_rows(json_document(path), path)


def json_document(path: Path):
    """A JSON file's document, or an InputError saying why the file holds none: not UTF-8,
    not JSON, a number of more digits than Python reads, or nesting too deep to read."""
    try:
        return read_json(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise refuse(path, f"not UTF-8 text: {error.reason}") from None
    except json.JSONDecodeError as error:
        raise refuse(path, f"not valid JSON: {error.msg}", error.lineno) from None
    except ValueError:  # only an integer beyond int()'s digit limit gets here
        raise refuse(path, "not valid JSON: a number has too many digits") from None
    except RecursionError:
        raise refuse(path, "not valid JSON: nested too deeply") from None


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
    if not names:
        raise refuse(path, "no lines: expected objects with the columns of a lines file")
    return pa.table(
        {name: pa.array([_text(item.get(name)) for item in items], pa.string()) for name in names}
    )


def _unreadable(path: Path, error: duckdb.Error) -> InputError:
    """DuckDB's reason in one line, with the file's line when it names one."""
    text = str(error).splitlines()
    where = re.search(r"CSV Error on Line: (\d+)", text[0])
    reasons = [t for t in text[1:] if t.strip() and not t.startswith("Original Line")]
    reason = reasons[0].strip() if where and reasons else text[0]
    return refuse(path, f"cannot be read: {reason}", int(where[1]) if where else None)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _csv_reader(path: Path) -> str:
    """read_csv with the layout fixed from the header line: left to itself, DuckDB's sniffer
    can take a ragged last row for the header and read a whole file as empty."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        first = handle.readline()
    delimiter = max(",;\t|", key=first.count)
    names = next(csv.reader([first], delimiter=delimiter), [])
    names = [n.strip() or f"column{i}" for i, n in enumerate(names, 1)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise refuse(path, "appears more than once in the header", 1, ", ".join(repeated))
    columns = ", ".join(f"{_sql_text(n)}: 'VARCHAR'" for n in names)
    return (
        f"read_csv({_sql_text(str(path))}, auto_detect = false, header = true, skip = 0, "
        f"delim = {_sql_text(delimiter)}, quote = '\"', escape = '\"', encoding = 'utf-8', "
        f"columns = {{{columns}}})"
    )


def _duckdb_reader(path: Path) -> str:
    if path.suffix.lower() == ".parquet":
        return f"read_parquet({_sql_text(str(path))})"
    return _csv_reader(path)


def staged(
    raw: duckdb.DuckDBPyConnection,
    path: Path,
    name: str,
    required: Sequence[str],
    optional: dict[str, str] | None = None,
    table: pa.Table | None = None,
) -> str:
    """A SELECT of `file_line` plus every required and optional column as text (an optional
    column missing from the file, or empty in a row, gets its default); run it with `create`,
    so reading the file and judging its rows is one pass."""
    optional = optional or {}
    suffix = path.suffix.lower()
    if table is None and suffix not in FORMATS:
        raise refuse(path, f"not a {', '.join(FORMATS)} file")
    if table is None and not path.is_file():
        raise refuse(path, "file not found")
    if table is None and path.stat().st_size == 0:
        raise refuse(path, "the file is empty")
    first = 2 if suffix in (".csv", ".txt", ".xlsx") else 1  # after the header row, if any
    if table is None and suffix in (".xlsx", ".json"):
        table = _excel(path) if suffix == ".xlsx" else _json(path)
    if table is None:
        source = _duckdb_reader(path)
    else:
        source = f"{name}_arrow"
        raw.register(source, table)
    try:
        columns = [c[0] for c in raw.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    except duckdb.Error as error:
        raise _unreadable(path, error) from None
    missing = [c for c in required if c not in columns]
    if missing:
        raise refuse(path, "missing column", 1, ", ".join(missing))
    selected = [f'{_cell_text(c)} AS "{c}"' for c in required]
    selected += [
        f"coalesce(nullif(trim({_cell_text(c)}), ''), '{default}') AS \"{c}\""
        if c in columns
        else f"'{default}' AS \"{c}\""
        for c, default in optional.items()
    ]
    return (
        f"SELECT row_number() OVER () - 1 + {first} AS file_line, {', '.join(selected)} "
        f"FROM {source}"
    )


def _cell_text(column: str) -> str:
    """A column as text, with the `'` that Accrue's own exports put before a formula-leading
    cell (export/cells) taken off again, so a file of rows to correct comes back as sent. The
    pattern runs only on cells that start with `'`: on every cell it costs a third of a read."""
    text = f'CAST("{column}" AS VARCHAR)'
    unquoted = f"regexp_replace({text}, '^''([=+\\-@\\t\\r])', '\\1')"
    return f"CASE WHEN starts_with({text}, '''') THEN {unquoted} ELSE {text} END"


def create(raw: duckdb.DuckDBPyConnection, path: Path, statement: str) -> None:
    """Run a statement that reads the file: a row DuckDB cannot read refuses the file."""
    try:
        raw.execute(statement)
    except duckdb.Error as error:
        raise _unreadable(path, error) from None
