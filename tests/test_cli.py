"""E1–E4 through the command line, plus its error reports: files in, files out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_worked_examples import E2, E3, E4
from typer.testing import CliRunner

from accrue.cli import app
from accrue.ingest.lines import LINE_COLUMNS

runner = CliRunner()

PARTNERS = [
    ("id", "name", "parent_id", "segment", "region"),
    ("ACME", "Acme", "", "Gold", "NA"),
    *((f"ACME-{i}", f"Acme branch {i}", "ACME", "", "") for i in range(1, 5)),
    ("CORE", "Core Industrial", "", "Silver", "NA"),
]
PRODUCTS = [("sku", "name", "category", "product_line"), ("V-100", "Valve", "Gate", "Valves")]


def _write(path: Path, rows) -> None:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def _data(tmp_path: Path, lines) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    _write(folder / "partners.csv", PARTNERS)
    _write(folder / "products.csv", PRODUCTS)
    rows = [
        ("erp", f"INV-{n}", 1, kind, partner, "V-100", day, qty, amount, "USD")
        for n, (kind, partner, day, qty, amount) in enumerate(lines, 1)
    ]
    _write(folder / "lines.csv", [LINE_COLUMNS, *rows])
    return folder


def _program(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "program.yaml"
    path.write_text(text)
    return path


def _calc(tmp_path, data, program):
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["calc", "--data", str(data), "--programs", str(program), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    standings = json.loads((out / "standings.json").read_text())
    return {(s["partner"], s["period"]): s for s in standings}, out


E1 = """
id: e1
name: Volume
effective: {from: 2026-01-01, to: 2026-03-31}
measure: units
tiers: [{from: 10000, rate: 4%}]
"""


def test_e1_through_the_cli_with_attributions(tmp_path):
    lines = [
        ("sale", f"ACME-{i}", f"2026-02-0{i}", q, q * 12.5)
        for i, q in enumerate([2500, 3000, 2000, 2600], 1)
    ]
    standings, out = _calc(tmp_path, _data(tmp_path, lines), _program(tmp_path, E1))
    assert standings[("ACME", "2026-Q1")]["amount"] == "5050.00"
    with (out / "attributions.csv").open() as handle:
        shares = [row["share"] for row in csv.DictReader(handle)]
    assert shares == ["1250.00", "1500.00", "1000.00", "1300.00"]


def test_attributions_are_the_same_exact_text_in_every_format(tmp_path):
    """Parquet is written by the backend, CSV and JSON from Arrow batches: the same text."""
    lines = [
        ("sale", "ACME-1", "2026-02-01", 9000, "112500.05"),
        ("return", "ACME-2", "2026-02-02", -500, "-6250.07"),
        ("sale", "ACME-3", "2026-02-03", 1600, "20000.01"),
    ]
    out = tmp_path / "out"
    args = [
        "calc",
        "--data",
        str(_data(tmp_path, lines)),
        "--programs",
        str(_program(tmp_path, E1)),
    ]
    result = runner.invoke(app, [*args, "--out", str(out), "--format", "csv,json,parquet"])
    assert result.exit_code == 0, result.output
    with (out / "attributions.csv").open() as handle:
        from_csv = [(r["line_amount"], r["share"]) for r in csv.DictReader(handle)]
    from_json = [
        (r["line_amount"], r["share"]) for r in json.loads((out / "attributions.json").read_text())
    ]
    table = pq.read_table(out / "attributions.parquet")
    from_parquet = list(
        zip(table["line_amount"].to_pylist(), table["share"].to_pylist(), strict=True)
    )
    assert sorted(from_csv) == sorted(from_json) == sorted(from_parquet)
    assert ("-6250.070000", "-250.00") in from_parquet and len(from_parquet) == 3


def _units_at_ten(tmp_path, units: int) -> Path:
    return _data(tmp_path, [("sale", "CORE", "2026-01-05", units, units * 10)])


def test_e2_gap_through_the_cli(tmp_path):
    standings, _ = _calc(tmp_path, _units_at_ten(tmp_path, 10000), _program(tmp_path, E2))
    core = standings[("CORE", "2026-Q1")]
    assert (core["amount"], core["gap_needed"], core["next_tier_pays"]) == (
        "2000.00",
        "1",
        "4000.40",
    )


def test_e3_incremental_through_the_cli(tmp_path):
    standings, _ = _calc(tmp_path, _units_at_ten(tmp_path, 30000), _program(tmp_path, E3))
    assert standings[("CORE", "2026-Q1")]["amount"] == "10000.00"


def test_e4_growth_through_the_cli(tmp_path):
    program = _program(tmp_path, E4)
    lines = [("sale", "CORE", "2025-02-01", 1, 1000000), ("sale", "CORE", "2026-02-01", 1, 1200000)]
    standings, _ = _calc(tmp_path, _data(tmp_path, lines), program)
    assert standings[("CORE", "2026-Q1")]["amount"] == "6000.00"


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (("sale", "CORE", "2026-13-01", 1, 10), "date = '2026-13-01': must be a date"),
        (
            ("sale", "CORE", "2026-01-01", "ten", 10),
            "quantity = 'ten': must be a number with at most 3 decimals",
        ),
        (
            ("sale", "CORE", "2026-01-01", 1, "1,0"),
            "amount = '1,0': must be a number with at most 6 decimals",
        ),
        (("sale", "NOPE", "2026-01-01", 1, 10), "partner_id = 'NOPE': unknown partner"),
        (
            ("refund", "CORE", "2026-01-01", 1, 10),
            "kind = 'refund': must be sale, return, pos or activity",
        ),
        (("return", "CORE", "2026-01-01", 1, 10), "amount = '10': a return must have a negative"),
        (
            ("sale", "CORE", "2026-01-01", 1, "0.0000001"),
            "amount = '0.0000001': must be a number with at most 6 decimals",
        ),
        (("sale", "CORE", "1899-01-01", 1, 10), "date = '1899-01-01': is out of range"),
    ],
)
def test_bad_rows_are_reported_with_file_line_and_field(tmp_path, row, expected):
    good = ("sale", "CORE", "2026-01-02", 1, 10)
    data = _data(tmp_path, [good, row])
    result = runner.invoke(
        app, ["calc", "--data", str(data), "--programs", str(_program(tmp_path, E1))]
    )
    assert result.exit_code == 1
    assert f"lines.csv:3: {expected}" in result.output
    assert "Traceback" not in result.output


def test_missing_column_is_reported(tmp_path):
    data = _data(tmp_path, [("sale", "CORE", "2026-01-02", 1, 10)])
    text = (data / "lines.csv").read_text().replace("currency", "curr")
    (data / "lines.csv").write_text(text)
    result = runner.invoke(
        app, ["calc", "--data", str(data), "--programs", str(_program(tmp_path, E1))]
    )
    assert result.exit_code == 1
    assert "lines.csv:1: currency: missing column" in result.output


def test_validate_names_the_field_and_a_hint(tmp_path):
    bad = _program(tmp_path, E1.replace("rate: 4%", "rate: 400%").replace("units", "volume"))
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "measure: Input should be 'units'" in result.output
    assert "tiers.0: rate 4 is outside 0%–100%" in result.output
    assert runner.invoke(app, ["validate", str(_program(tmp_path, E1))]).exit_code == 0


def test_explain_shows_tiers_and_an_engine_computed_example(tmp_path):
    result = runner.invoke(app, ["explain", str(_program(tmp_path, E1))])
    assert result.exit_code == 0, result.output
    assert "from 10,000 units: 4% of eligible purchases" in result.output
    assert "reaching Tier 1: measure 10,000 units → Tier 1, earns USD 4,000.00" in result.output
    assert "just below Tier 1: measure 9,000 units → no tier, earns USD 0.00" in result.output
    assert "1,000 units more reaches Tier 1, which pays USD 4,000.00" in result.output
    assert "a typical quarter: measure 15,000 units → Tier 1, earns USD 6,000.00" in result.output


def test_explain_teaches_with_a_typical_purchase_and_the_multiplier(tmp_path):
    page = runner.invoke(app, ["explain", "examples/programs/off-season.yaml"]).output
    assert "products in the product line Valves" in page
    assert "a typical year: measure USD 10,000.00 → Tier 1, earns USD 150.00" in page
    assert "in Off-season (1.5×): measure USD 10,000.00 → Tier 1, earns USD 225.00" in page


def _calc_error(tmp_path, data) -> str:
    result = runner.invoke(
        app, ["calc", "--data", str(data), "--programs", str(_program(tmp_path, E1))]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    return result.output


def test_a_file_that_is_not_utf8_is_refused_by_name(tmp_path):
    data = _data(tmp_path, [("sale", "CORE", "2026-01-02", 1, 10)])
    (data / "lines.csv").write_bytes((data / "lines.csv").read_bytes().replace(b"CORE", b"C\xd6RE"))
    assert "lines.csv:2: cannot be read: Invalid unicode" in _calc_error(tmp_path, data)


def test_a_line_given_twice_is_refused(tmp_path):
    data = _data(tmp_path, [("sale", "CORE", "2026-01-02", 1, 10)])
    text = (data / "lines.csv").read_text()
    (data / "lines.csv").write_text(text + text.splitlines()[1] + "\n")
    assert "lines.csv:3: line_no = '1': the same source, document and line" in _calc_error(
        tmp_path, data
    )


def test_missing_master_files_and_unknown_parents_are_named(tmp_path):
    data = _data(tmp_path, [("sale", "CORE", "2026-01-02", 1, 10)])
    (data / "products.csv").unlink()
    assert "products.csv: file not found" in _calc_error(tmp_path, data)
    _write(data / "products.csv", PRODUCTS)
    _write(data / "partners.csv", [*PARTNERS, ("ORPHAN", "Orphan", "NOBODY", "", "")])
    assert "has unknown parent 'NOBODY'" in _calc_error(tmp_path, data)


def test_an_empty_lines_file_is_an_empty_result_not_a_crash(tmp_path):
    data = _data(tmp_path, [])
    result = runner.invoke(
        app, ["calc", "--data", str(data), "--programs", str(_program(tmp_path, E1))]
    )
    assert result.exit_code == 0, result.output
    assert "0 standings" in result.output
