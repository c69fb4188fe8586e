"""Tampering with the books behind the application's back is found by `accrue audit verify`:
an edited or deleted audit entry, an edited posting, a journal or settlement slipped in or
removed, on the embedded default and on PostgreSQL."""

from __future__ import annotations

import pytest
from bookkeeping import add_program, close, lines_file, receive, sale, with_master
from conftest import BACKENDS
from sqlalchemy import text
from test_worked_examples import E8
from typer.testing import CliRunner

from accrue.cli import app
from accrue.store.audit import verify_books

TAMPERING = {
    "audit entry edited": (
        "UPDATE audit_log SET actor = 'someone else' WHERE seq = 3",
        "audit entry 3: altered",
    ),
    "audit entry's figures edited": (
        "UPDATE audit_log SET after = replace(after, '3000.00', '300.00') WHERE action = 'recalc'",
        "altered: its content does not match its hash",
    ),
    "audit entry deleted": (
        "DELETE FROM audit_log WHERE seq = 2",
        "audit entry 2: missing",
    ),
    "newest audit entry deleted": (
        "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)",
        "closed period 2026-Q1 has no audit entry",
    ),
    "posting amount edited": (
        "UPDATE postings SET amount_minor = amount_minor * 10 WHERE id = 1",
        "(sealed by audit entry",
    ),
    "journal re-dated": (
        "UPDATE journals SET posted_on = '2026-01-01' WHERE id = 1",
        "altered",
    ),
    "settlement amount edited": (
        "UPDATE settlements SET amount = '9000.00'",
        "settlements 1–1 (sealed by audit entry",
    ),
    "settlement deleted": ("DELETE FROM settlements", "were sealed but are gone"),
    "journal slipped in": (
        "INSERT INTO journals (id, kind, program_id, partner_id, period, booked_period, "
        "currency, posted_on, memo) SELECT 999, kind, program_id, partner_id, period, "
        "booked_period, currency, posted_on, 'x' FROM journals WHERE id = 1",
        "journals 999 are not sealed by any audit entry",
    ),
    "batch record deleted from the trail": (
        "DELETE FROM audit_log WHERE entity = 'lines'",
        "has no audit entry",
    ),
}


@pytest.fixture
def closed_books(books, tmp_path):
    with_master(books, tmp_path)
    add_program(books, E8)
    receive(books, lines_file(tmp_path / "q1.csv", [sale("Q1", "2026-02-10", "150000")]))
    close(books, "2026-Q1")
    assert verify_books(books).ok
    return books


@BACKENDS
@pytest.mark.parametrize("tampering", TAMPERING)
def test_tampering_is_detected(closed_books, tampering):
    statement, found = TAMPERING[tampering]
    with closed_books.engine.begin() as connection:
        connection.execute(text("DELETE FROM postings WHERE journal_id = 999"))
        assert connection.execute(text(statement)).rowcount > 0
    verified = verify_books(closed_books)
    assert not verified.ok
    assert any(found in problem for problem in verified.problems), verified.problems


def test_the_cli_reports_an_intact_trail_and_each_break(closed_books):
    settings = closed_books.settings
    where = ["--data-dir", str(settings.data_dir)]
    result = CliRunner().invoke(app, [*where, "audit", "verify"])
    assert result.exit_code == 0 and "audit trail intact" in result.output
    with closed_books.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET key = 'e8@v9' WHERE entity = 'program'"))
    result = CliRunner().invoke(app, [*where, "audit", "verify"])
    assert result.exit_code == 1
    assert "altered: its content does not match its hash" in result.output
