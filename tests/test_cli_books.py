"""The books from the command line: init, import, recalc, close, ledger, pay, trace, audit,
with figures from E8/E15 and errors that say what is wrong without a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from bookkeeping import lines_file, sale, write_csv
from conftest import PARTNERS, PRODUCTS
from test_worked_examples import E8
from typer.testing import CliRunner

from accrue.cli import app
from accrue.domain.audit import Head

runner = CliRunner()


@pytest.fixture
def accrue(tmp_path):
    where = ["--data-dir", str(tmp_path / "books")]

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*where, *args])
        assert result.exit_code == code, result.output
        return result.output

    return invoke


def _master(tmp_path) -> tuple[str, str]:
    partners = write_csv(
        tmp_path / "partners.csv",
        ("id", "name", "parent_id", "segment", "region"),
        [(p.id, p.name, p.parent_id or "", p.segment or "", p.region or "") for p in PARTNERS],
    )
    products = write_csv(
        tmp_path / "products.csv",
        ("sku", "name", "category", "product_line"),
        [(p.sku, p.name, p.category, p.product_line) for p in PRODUCTS],
    )
    return str(partners), str(products)


def test_the_books_from_the_command_line(accrue, tmp_path):
    partners, products = _master(tmp_path)
    (tmp_path / "e8.yaml").write_text(E8)
    quarters = [("Q1", "2026-02-10", "80000"), ("Q2", "2026-05-10", "90000")]
    lines = lines_file(tmp_path / "lines.csv", [sale(*q) for q in quarters])

    assert "books ready at sqlite:" in accrue("init")
    assert "7 partners rows, 7 new or changed" in accrue("import", "partners", partners)
    accrue("import", "products", products)
    assert "e8@v1" in accrue("import", "programs", str(tmp_path / "e8.yaml"))
    output = accrue("import", "lines", str(lines), "--as-of", "2026-06-30")
    assert "2 received, 2 accepted" in output and "journals posted" in output
    assert "1 duplicate" not in accrue("import", "lines", str(lines), "--as-of", "2026-06-30")
    assert "0 changed" in accrue("recalc", "--full", "--as-of", "2026-06-30")

    liability = accrue("ledger", "liability")
    assert "3,400.00" in liability or "3400.00" in liability
    balance = accrue("ledger", "trial-balance")
    assert "5200 Rebate expense" in balance and "2300" in balance

    accrue("close", "2026-Q1", "--as-of", "2026-06-30")
    closed = accrue("close", "2026-Q2", "--as-of", "2026-06-30")
    head = Head.parse(closed.split("audit head ")[1].split()[0])
    assert "3400.00" in accrue("ledger", "settlements", "--period", "2026-Q2")
    settlement_id = _settlement_id(accrue, "2026-Q2")
    traced = accrue("trace", settlement_id)
    assert "reproduces the settled amount" in traced and "e8@v1" in traced
    assert "paid" in accrue("pay", settlement_id, "--method", "bank_transfer", "--on", "2026-07-15")
    assert "audit trail intact" in accrue("audit", "verify", "--head", str(head))


def _settlement_id(accrue, period: str) -> str:
    table = accrue("ledger", "settlements", "--period", period)
    (row,) = [line for line in table.splitlines() if period in line]
    return row.strip("│ ").split()[0]


def test_errors_are_reported_not_raised(accrue, tmp_path):
    assert "run `accrue init` first" in accrue("recalc", code=1)
    accrue("init")
    bad = lines_file(tmp_path / "bad.csv", [sale("X", "2026-02-30", "10")])
    output = accrue("import", "lines", str(bad), code=1)
    assert "bad.csv:2: date = '2026-02-30'" in output and "quarantine export" in output
    assert "is not a date" in accrue("close", "2026-Q1", "--as-of", "tomorrow", code=1)
    assert "Traceback" not in output
    huge = "99999999999999999999"  # past the records' 32-bit ids: a usage error, not a bug
    for command in (("trace", huge), ("claims", "show", huge), ("approve", huge)):
        refused = accrue(*command, code=2)
        assert "internal error" not in refused and "2147483647" in refused, command


def test_embedded_books_held_by_another_process_are_refused_with_what_to_do(accrue, tmp_path):
    accrue("init")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "books" / "lines.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"  # waits until the lock is held
        output = accrue("ledger", "trial-balance", code=1)
        assert f"are open in process {holder.pid}" in output and "bug" not in output
        assert "through that server's API or portal" in output
    finally:
        holder.communicate("")


HOLD = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.read()
"""
