"""Bad input through the books: a broken file is refused whole with a clear reason; a bad row
goes to quarantine with its file, row, field and value while every good row is kept; a
quarantined row corrected and sent again resolves it."""

from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bookkeeping import lines_file, sale, with_master
from conftest import BACKENDS
from openpyxl import Workbook
from sqlalchemy import func, select

from accrue.ingest.errors import InputError
from accrue.ingest.lines import LINE_COLUMNS
from accrue.store.ingest import import_lines, import_payload
from accrue.store.tables import Batch, RejectedRow


def _good(n: int) -> dict:
    return sale(f"GOOD-{n}", "2026-03-0" + str(n), "100.00")


def _bad(**changes) -> dict:
    return sale("BAD-1", "2026-03-05", "100.00") | changes


# (what is wrong, the row's changed fields, the field named, the value named, words of the reason)
BAD_ROWS = [
    ("empty source", {"source": ""}, "source", None, "must not be empty"),
    ("empty document", {"document": " "}, "document", " ", "must not be empty"),
    ("line number not a number", {"line_no": "one"}, "line_no", "one", "whole number"),
    ("line number with decimals", {"line_no": "1.5"}, "line_no", "1.5", "whole number"),
    ("unknown kind", {"kind": "rebate"}, "kind", "rebate", "sale, return, pos or activity"),
    ("date in another format", {"date": "05/03/2026"}, "date", "05/03/2026", "YYYY-MM-DD"),
    ("date that does not exist", {"date": "2026-02-30"}, "date", "2026-02-30", "a date"),
    ("date out of range", {"date": "1899-12-31"}, "date", "1899-12-31", "out of range"),
    ("date far in the future", {"date": "2206-01-01"}, "date", "2206-01-01", "out of range"),
    ("amount not numeric", {"amount": "abc"}, "amount", "abc", "must be a number"),
    ("amount with a comma", {"amount": "1,000.00"}, "amount", "1,000.00", "must be a number"),
    ("amount with a currency sign", {"amount": "$100"}, "amount", "$100", "must be a number"),
    ("amount too precise", {"amount": "1.0000001"}, "amount", "1.0000001", "6 decimals"),
    ("amount too large", {"amount": "1" + "0" * 13}, "amount", "1" + "0" * 13, "12 digits"),
    ("amount empty", {"amount": ""}, "amount", None, "must be a number"),
    ("quantity not numeric", {"quantity": "ten"}, "quantity", "ten", "must be a number"),
    ("quantity too precise", {"quantity": "1.2345"}, "quantity", "1.2345", "3 decimals"),
    ("amount in exponent form", {"amount": "1E400"}, "amount", "1E400", "must be a number"),
    ("quantity not a number", {"quantity": "NaN"}, "quantity", "NaN", "must be a number"),
    ("amount infinite", {"amount": "Infinity"}, "amount", "Infinity", "must be a number"),
    ("currency lower case", {"currency": "usd"}, "currency", "usd", "3-letter ISO"),
    ("currency missing", {"currency": ""}, "currency", None, "3-letter ISO"),
    ("negative sale", {"amount": "-5.00"}, "amount", "-5.00", "record it as a return"),
    ("positive return", {"kind": "return"}, "amount", "100.00", "return must have a negative"),
    ("unknown partner", {"partner_id": "NOPE"}, "partner_id", "NOPE", "unknown partner"),
    ("partner id of another case", {"partner_id": "core"}, "partner_id", "core", "unknown"),
    ("unknown SKU", {"sku": "X-999"}, "sku", "X-999", "unknown SKU"),
    ("revision zero", {"revision": "0"}, "revision", "0", "whole number from 1"),
    ("revision not a number", {"revision": "v2"}, "revision", "v2", "whole number from 1"),
    ("revision with decimals", {"revision": "1.5"}, "revision", "1.5", "whole number from 1"),
]


@pytest.fixture
def books(books):
    return with_master(books, books.settings.data_dir)


def _quarantined(books, batch_id: int) -> list[RejectedRow]:
    with books.session() as session:
        return session.scalars(
            select(RejectedRow).where(RejectedRow.batch_id == batch_id).order_by(RejectedRow.id)
        ).all()


@pytest.mark.parametrize(
    ("changes", "field", "value", "reason"), [r[1:] for r in BAD_ROWS], ids=[r[0] for r in BAD_ROWS]
)
def test_a_bad_row_is_quarantined_and_the_good_rows_kept(
    books, tmp_path, changes, field, value, reason
):
    rows = [_good(1), _good(2), _bad(revision="1") | changes, _good(3)]
    path = lines_file(tmp_path / "lines.csv", rows)
    received = import_lines(books, path)
    batch = received.batch
    assert (batch.received, batch.accepted, batch.rejected) == (4, 3, 1)
    (problem,) = [r.problem for r in received.rejections if r.problem.field == field]
    assert (problem.file, problem.line, problem.value) == (str(path), 4, value)
    assert reason in problem.message
    assert f"lines.csv:4: {field}" in str(problem)
    kept = _quarantined(books, batch.id)
    assert {(r.row_no, r.field) for r in kept} >= {(4, field)}
    assert json.loads(kept[0].row)["document"] == rows[2]["document"]
    assert books.line_store.lines().count().execute() == 3


def test_every_problem_of_a_row_is_reported_and_the_row_counted_once(books, tmp_path):
    path = lines_file(tmp_path / "lines.csv", [_bad(amount="x", sku="X", partner_id="Y")])
    received = import_lines(books, path)
    assert received.batch.rejected == 1
    assert {r.problem.field for r in received.rejections} == {"amount", "sku", "partner_id"}


def test_the_same_line_twice_in_a_file_with_different_content_is_rejected(books, tmp_path):
    rows = [_good(1), _bad(), _bad(amount="120.00"), _bad()]
    received = import_lines(books, lines_file(tmp_path / "lines.csv", rows))
    assert (received.batch.accepted, received.batch.rejected) == (1, 3)
    assert {r.problem.line for r in received.rejections} == {3, 4, 5}
    assert "first on row 3" in received.rejections[0].problem.message


@BACKENDS
def test_a_file_mixing_copies_revisions_and_a_bad_row_is_judged_row_by_row(books, tmp_path):
    revised = [_bad(document="REV"), _bad(document="REV", amount="150.00", revision="2")]
    rows = [_good(1), _bad(), _bad(), *revised, _bad(document="BAD-2", amount="x")]
    path = lines_file(tmp_path / "lines.csv", rows)
    batch = import_lines(books, path).batch
    counts = (batch.received, batch.accepted, batch.outdated, batch.duplicate, batch.rejected)
    assert counts == (6, 4, 1, 1, 1)
    current = books.line_store.lines().execute().set_index("document")["amount_micros"]
    assert current.to_dict() == {"GOOD-1": 100_000_000, "BAD-1": 100_000_000, "REV": 150_000_000}
    again = import_lines(books, path).batch
    assert (again.accepted, again.duplicate, again.rejected) == (0, 5, 1)
    assert books.line_store.lines().count().execute() == 3


def test_the_largest_amount_and_quantity_are_kept_exactly(books, tmp_path):
    row = sale("BIG", "2026-03-05", "999999999999.999999", quantity="999999999999999.999")
    assert import_lines(books, lines_file(tmp_path / "lines.csv", [row])).batch.accepted == 1
    stored = books.line_store.lines().execute()
    assert stored[["amount_micros", "quantity_milli"]].values.tolist() == [[10**18 - 1] * 2]


def test_a_changed_line_without_a_higher_revision_is_rejected(books, tmp_path):
    import_lines(books, lines_file(tmp_path / "a.csv", [_bad()]))
    received = import_lines(books, lines_file(tmp_path / "b.csv", [_bad(amount="90.00")]))
    (rejection,) = received.rejections
    assert rejection.problem.field == "revision"
    assert "send the correction as revision 2" in rejection.problem.message


def _csv_bytes(rows: list[dict]) -> str:
    header = ",".join(LINE_COLUMNS)
    return "\n".join([header, *(",".join(str(r[c]) for c in LINE_COLUMNS) for r in rows)])


def _write(path, content) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def _workbook(path, rows) -> None:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)


BROKEN_FILES = [
    (
        "not UTF-8",
        "lines.csv",
        _csv_bytes([_good(1)]).replace("erp", "erpé").encode("latin-1"),
        "This file is not utf-8 encoded",
    ),
    (
        "a column missing",
        "lines.csv",
        _csv_bytes([_good(1)]).replace(",currency", ",devise"),
        "missing column",
    ),
    ("empty file", "lines.csv", b"", "the file is empty"),
    (
        "a column named twice",
        "lines.csv",
        _csv_bytes([_good(1)]).replace("source,", "source,source,", 1),
        "more than once",
    ),
    (
        "semicolons with a ragged row",
        "lines.csv",
        _csv_bytes([_good(1)]).replace(",", ";") + ";x",
        "Found: 11",
    ),
    (
        "a row with too many fields",
        "lines.csv",
        _csv_bytes([_good(1), _good(2), _good(3)]) + ",extra",
        "Expected Number of Columns: 10 Found: 11",
    ),
    (
        "an unterminated quote",
        "lines.csv",
        _csv_bytes([_good(1)]).replace("erp", '"erp'),
        "unterminated quote",
    ),
    ("unsupported format", "lines.pdf", b"%PDF-1.4", "not a .csv"),
    ("Excel that is not a workbook", "lines.xlsx", b"PK\x03\x04 not really", "Excel workbook"),
    ("Parquet that is not Parquet", "lines.parquet", b"PAR1 broken", "cannot be read"),
    ("JSON with a syntax error", "lines.json", '[{"source": "erp",]', "not valid JSON"),
    ("JSON that is not a list", "lines.json", '{"rows": []}', "expected a list of objects"),
    ("JSON item not an object", "lines.json", '[["erp", "INV-1"]]', "item 1 is not an object"),
    # what Python's JSON reader cannot read raises no ValueError or RecursionError of its own
    ("JSON number of 5000 digits", "lines.json", f'[{{"amount": {"9" * 5000}}}]', "many digits"),
    ("JSON nested too deeply", "lines.json", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
]


@pytest.mark.parametrize(
    ("name", "content", "reason"), [f[1:] for f in BROKEN_FILES], ids=[f[0] for f in BROKEN_FILES]
)
def test_a_broken_file_is_refused_whole_with_its_reason(books, tmp_path, name, content, reason):
    path = tmp_path / name
    _write(path, content)
    with pytest.raises(InputError) as refused:
        import_lines(books, path)
    (problem,) = refused.value.problems
    assert problem.file == str(path) and reason in problem.message
    assert problem.line in (None, 1, 2, 4)
    with books.session() as session:
        batch = session.scalars(select(Batch).filter_by(kind="lines")).one()
        assert (batch.status, batch.message) == ("refused", str(refused.value))
    assert books.line_store.lines().count().execute() == 0


def test_a_missing_file_is_refused(books, tmp_path):
    with pytest.raises(InputError, match="file not found"):
        import_lines(books, tmp_path / "nowhere.csv")


def test_export_fix_and_send_again_resolves_the_quarantine(books, tmp_path):
    from typer.testing import CliRunner

    from accrue.cli import app

    rows = [_good(1), _bad(amount="12,50"), _bad(document="BAD-2", sku="X")]
    received = import_lines(books, lines_file(tmp_path / "lines.csv", rows))
    fix = tmp_path / "fix.csv"
    where = ["--data-dir", str(books.settings.data_dir)]
    books.close()
    result = CliRunner().invoke(
        app, [*where, "quarantine", "export", str(received.batch.id), "--out", str(fix)]
    )
    assert result.exit_code == 0, result.output
    with fix.open(newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert [r["problem"] for r in exported] == [
        "amount: must be a number with at most 6 decimals and 12 digits before the point",
        "sku: unknown SKU",
    ]
    exported[0]["amount"], exported[1]["sku"] = "12.50", "V-100"
    lines_file(fix, [{c: r[c] for c in r if c != "problem"} for r in exported])
    result = CliRunner().invoke(app, [*where, "import", "lines", str(fix), "--no-recalculate"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, [*where, "quarantine", "list"])
    assert "BAD-" not in result.output and "unknown SKU" not in result.output
    from accrue.store.books import Books

    reopened = Books.open(books.settings)
    with reopened.session() as session:
        resolved = session.scalars(select(func.count()).where(RejectedRow.resolved_by > 0)).one()
    assert resolved == 2
    assert reopened.line_store.lines().count().execute() == 3
    reopened.close()


def _as_xlsx(path, rows: list[dict]) -> None:
    """Numbers as Excel numbers and dates as Excel dates, as a user's sheet holds them."""
    from datetime import date
    from decimal import Decimal

    header = [*LINE_COLUMNS, "revision"]
    typed = {"line_no": int, "date": date.fromisoformat, "quantity": Decimal, "amount": Decimal}
    cells = [
        [typed.get(c, str)(r[c]) if r.get(c) not in (None, "") else None for c in header]
        for r in rows
    ]
    _workbook(
        path, [header, *[[float(v) if isinstance(v, Decimal) else v for v in row] for row in cells]]
    )


FORMATS = {
    "csv": lambda path, rows: lines_file(path, rows),
    "xlsx": _as_xlsx,
    "parquet": lambda path, rows: pq.write_table(pa.Table.from_pylist(rows), path),
    "json": lambda path, rows: path.write_text(json.dumps({"lines": rows})),
}


@pytest.mark.parametrize("suffix", FORMATS)
def test_every_format_keeps_the_same_lines_and_rejects_the_same_rows(books, tmp_path, suffix):
    rows = [
        _good(1),
        _bad(amount="12.345678", quantity="2.5", revision="1"),
        _bad(document="BAD-2", sku="X-9", revision="1"),
        _good(2),
    ]
    rows = [{k: str(v) for k, v in r.items()} for r in rows]
    path = tmp_path / f"lines.{suffix}"
    FORMATS[suffix](path, rows)
    received = import_lines(books, path)
    assert (received.batch.accepted, received.batch.rejected) == (3, 1)
    assert [(r.problem.line, r.problem.field) for r in received.rejections] == [
        (4 if suffix in ("csv", "xlsx") else 3, "sku")
    ]
    stored = books.line_store.lines().order_by("document").execute()
    assert list(stored["amount_micros"]) == [12_345_678, 100_000_000, 100_000_000]
    assert list(stored["quantity_milli"]) == [2_500, 1_000, 1_000]


def test_an_api_payload_is_a_batch_like_a_file(books, tmp_path):
    rows = [{k: str(v) for k, v in _good(1).items()}, _bad(partner_id="NOPE")]
    received = import_payload(books, "api:2026-11-24", {"lines": rows})
    assert (received.batch.accepted, received.batch.rejected) == (1, 1)
    assert str(received.rejections[0].problem) == (
        "api:2026-11-24:2: partner_id = 'NOPE': unknown partner"
    )
    again = import_payload(books, "api:2026-11-24", {"lines": rows})
    assert (again.batch.accepted, again.batch.duplicate, again.batch.rejected) == (0, 1, 1)


def test_json_numbers_are_read_exactly_and_an_unbounded_one_is_named_as_written(books, tmp_path):
    """A JSON number is the decimal it spells, not the nearest float: 18 digits of an amount
    stay 18 digits, and 1e400 is quarantined as 1E+400, not as an Infinity nobody sent."""
    exact, huge = _good(1) | {"amount": "@amount@"}, _bad(quantity="@quantity@")
    text = json.dumps({"lines": [exact, huge]})
    text = text.replace('"@amount@"', "123456789012.123456").replace('"@quantity@"', "1e400")
    path = tmp_path / "lines.json"
    path.write_text(text)
    received = import_lines(books, path)
    assert (received.batch.accepted, received.batch.rejected) == (1, 1)
    (problem,) = [r.problem for r in received.rejections]
    assert (problem.line, problem.field, problem.value) == (2, "quantity", "1E+400")
    stored = books.line_store.lines().execute()
    assert list(stored["amount_micros"]) == [123_456_789_012_123_456]
