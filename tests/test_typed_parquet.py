"""A typed Parquet file is validated by one query and read in place: the same lines give the
same standings and the same input digest as a CSV; a bad value or a repeated line still names
its file, line and field."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import program
from test_cli import _data

from accrue.engine import Engine
from accrue.ingest.dataset import load_directory
from accrue.ingest.errors import InputError

PROGRAM = program(
    "id: v\nname: V\neffective: {from: 2026-01-01, to: 2026-12-31}\n"
    "tiers: [{from: 1000, rate: 2%}, {from: 5000, rate: 3%}]"
)
TYPES = {
    "line_no": pa.int32(),
    "date": pa.date32(),
    "quantity": pa.int64(),
    "amount": pa.decimal128(18, 2),
}


def _as_parquet(folder: Path, rows: list[dict] | None = None) -> Path:
    """The folder's lines.csv as a typed Parquet file (or the given rows), CSV removed."""
    if rows is None:
        with (folder / "lines.csv").open() as handle:
            rows = list(csv.DictReader(handle))
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    converted = {
        "line_no": [int(v) for v in columns["line_no"]],
        "date": [date.fromisoformat(v) for v in columns["date"]],
        "quantity": [int(Decimal(v)) for v in columns["quantity"]],
        "amount": [Decimal(v) for v in columns["amount"]],
    }
    table = pa.table(
        {
            name: pa.array(converted.get(name, values), TYPES.get(name, pa.string()))
            for name, values in columns.items()
        }
    )
    (folder / "lines.csv").unlink(missing_ok=True)
    pq.write_table(table, folder / "lines.parquet")
    return folder / "lines.parquet"


LINES = [
    ("sale", "ACME-1", "2026-02-03", 120, "1500.25"),
    ("sale", "ACME-2", "2026-02-04", 300, "4200.10"),
    ("return", "ACME-1", "2026-02-09", -10, "-125.00"),
    ("sale", "CORE", "2026-05-05", 80, "999.99"),
]


def test_typed_parquet_gives_what_the_csv_gives(tmp_path):
    from_csv = _data(tmp_path, LINES)
    typed = tmp_path / "typed"
    shutil.copytree(from_csv, typed)
    _as_parquet(typed)
    csv_data, parquet_data = load_directory(from_csv), load_directory(typed)
    assert parquet_data.lines_hash is not None  # read in place, hashed on the way in
    assert (
        Engine(parquet_data).run([PROGRAM]).standings == Engine(csv_data).run([PROGRAM]).standings
    )
    assert Engine(parquet_data).input_digest() == Engine(csv_data).input_digest()


def _rows(tmp_path) -> tuple[Path, list[dict]]:
    folder = _data(tmp_path, LINES)
    with (folder / "lines.csv").open() as handle:
        return folder, list(csv.DictReader(handle))


def test_a_repeated_line_in_typed_parquet_names_the_file_and_line(tmp_path):
    folder, rows = _rows(tmp_path)
    path = _as_parquet(folder, [*rows, rows[1]])
    with pytest.raises(InputError) as refused:
        load_directory(folder)
    problem = refused.value.problems[0]
    assert (problem.file, problem.line, problem.field) == (str(path), 5, "line_no")


def test_an_unknown_partner_in_typed_parquet_names_the_file_line_and_field(tmp_path):
    folder, rows = _rows(tmp_path)
    rows[2]["partner_id"] = "NOBODY"
    path = _as_parquet(folder, rows)
    with pytest.raises(InputError) as refused:
        load_directory(folder)
    problem = refused.value.problems[0]
    assert (problem.file, problem.line, problem.field, problem.value) == (
        str(path),
        3,
        "partner_id",
        "NOBODY",
    )
