"""Tampering with the books behind the application's back is found by `accrue audit verify`:
an edited or deleted audit entry, an edited posting, a journal or settlement slipped in or
removed, any record that money, access or history depends on edited, inserted or deleted, and
the newest entries cut off, on the embedded default and on PostgreSQL."""

from __future__ import annotations

import copy
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from bookkeeping import add_program, close, lines_file, receive, sale, settlement, with_master
from conftest import BACKENDS
from sqlalchemy import text
from test_claims import E14, acme_fund_claim, approve, claim_rows, send, with_agreement
from test_worked_examples import E8
from typer.testing import CliRunner

from accrue.cli import app
from accrue.domain.approvals import Subject
from accrue.domain.audit import Head
from accrue.domain.ledger import PayoutMethod
from accrue.domain.permissions import Role
from accrue.store import seals
from accrue.store.approvals import submit_settlement
from accrue.store.audit import head_of, verify_books
from accrue.store.books import Books
from accrue.store.disputes import About, open_dispute
from accrue.store.payouts import create_batch
from accrue.store.people import create_user, issue_token

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
        "closed period seals differ from",
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


@BACKENDS
@pytest.mark.parametrize("read_by_key", [500, 1], ids=["few written", "many written"])
def test_a_recalculation_of_one_tree_reseals_its_standings_only(
    closed_books, tmp_path, monkeypatch, read_by_key
):
    """A recalculation seals again the standings it wrote, and no other: a standing edited
    behind the application's back in another partner tree is still found afterwards, not
    sealed as it now stands, whether the written ones are few enough to be read by key or
    so many that every standing is read."""
    monkeypatch.setattr(seals, "CHUNK", read_by_key)
    with closed_books.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE standings SET payout = '99999.00' "
                "WHERE partner_id = 'CORE' AND period = '2026-Q1'"
            )
        )
    receive(
        closed_books,
        lines_file(tmp_path / "bolt.csv", [sale("B1", "2026-05-10", "300000", "BOLT")]),
    )
    problems = verify_books(closed_books).problems
    assert problems == ["standing e8/CORE/2026-Q1 altered since it was sealed"]


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


# statements ({lines} is the line store's table) → what verification must say
EDITS = {
    "a line's amount ×10": (
        ["UPDATE {lines} SET amount_micros = amount_micros * 10 WHERE document = 'Q1'"],
        "lines of batch 5 altered since their audit entry sealed them",
    ),
    "a line slipped in": (
        [
            "INSERT INTO {lines} SELECT source, 'Q9', line_no, kind, partner_id, sku, date, "
            "quantity_milli, amount_micros, currency, revision, 99, row_digest, superseded_by "
            "FROM {lines} WHERE document = 'Q1'"
        ],
        "lines of batch 99 are not sealed by any audit entry",
    ),
    "a program version's document edited": (
        [
            "UPDATE program_versions SET document = replace(document, '0.02', '0.2')"
            " WHERE program_id = 'e8'"
        ],
        "program version e8/1 altered since it was sealed",
    ),
    "a partner user made admin": (
        ["UPDATE users SET role = 'admin' WHERE username = 'acme-user'"],
        "user 1 altered since it was sealed",
    ),
    "a token slipped in": (
        [
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, revoked) "
            "VALUES (99, 1, 'backdoor', 'feed', '2026-11-24', false)"
        ],
        "token 99 is not sealed by any audit entry",
    ),
    "approval decisions deleted": (
        ["DELETE FROM approval_decisions"],
        "approval decision 1 was sealed but is gone",
    ),
    "a claim inflated": (
        ["UPDATE claims SET requested = '99999.00', approved = '99999.00' WHERE number = 'C-1'"],
        "claim 1 altered since it was sealed",
    ),
    "its approval request inflated": (
        ["UPDATE approval_requests SET amount = '99999.00' WHERE subject = 'claim'"],
        "approval request 1 altered since it was sealed",
    ),
    "a closed period deleted": (
        ["DELETE FROM closed_periods"],
        "closed period 2026-Q1 was sealed but is gone",
    ),
    "a standing edited": (
        ["UPDATE standings SET payout = '99999.00' WHERE partner_id = 'CORE'"],
        "standing e8/CORE/2026-Q1 altered since it was sealed",
    ),
    "a partner renamed": (
        ["UPDATE partners SET name = 'Someone Else' WHERE id = 'CORE'"],
        "partner CORE altered since it was sealed",
    ),
    "a product edited": (
        ["UPDATE products SET category = 'Pumps' WHERE sku = 'V-100'"],
        "product V-100 altered since it was sealed",
    ),
    "a batch's counts edited": (
        ["UPDATE batches SET accepted = accepted + 5 WHERE kind = 'lines'"],
        "batch 5 altered since it was sealed",
    ),
    "an agreement edited": (
        ["UPDATE agreements SET valid_to = '2027-12-31'"],
        "agreement SPA-1001/1 altered since it was sealed",
    ),
    "a claim line edited": (
        ["UPDATE claim_lines SET amount = '99999.00'"],
        "claim line 1 altered since it was sealed",
    ),
    "a fund draw edited": (
        ["UPDATE fund_draws SET amount = '9000.00'"],
        "fund draw 1 altered since it was sealed",
    ),
    "a dispute edited": (
        ["UPDATE disputes SET reason = 'nothing to see'"],
        "dispute 1 altered since it was sealed",
    ),
    "a settlement marked paid": (
        ["UPDATE settlements SET paid = payout"],
        "settlement 1 altered since it was sealed",
    ),
    "a payout batch's total edited": (
        ["UPDATE payout_batches SET total = '1.00'"],
        "payout batch 1 altered since it was sealed",
    ),
    "a payout item deleted": (
        ["DELETE FROM payout_items"],
        "payout item 1 was sealed but is gone",
    ),
    "a record edited with its seal": (
        [
            "UPDATE users SET role = 'admin' WHERE username = 'acme-user'",
            "UPDATE record_seals SET digest = 'forged' WHERE kind = 'users' AND key = '1'",
        ],
        "user seals differ from the digest audit entry",
    ),
    "the newest audit entries deleted": (
        ["DELETE FROM audit_log WHERE seq > (SELECT max(seq) - 3 FROM audit_log)"],
        "seals differ from the digest audit entry",
    ),
    "a claim's audit entries deleted": (
        ["DELETE FROM audit_log WHERE entity = 'claim'"],
        "claim 1 has no audit entry",
    ),
}


@pytest.fixture
def full_books(books, tmp_path):
    return fill(books, tmp_path)


def fill(books: Books, tmp_path) -> Books:
    """Books with a record of every kind verification covers: master data, agreements, two
    programs and their lines, users and a token, a ship-and-debit claim and a fund claim,
    each approved, a dispute, a closed period and a settlement approved into a payout batch."""
    with_agreement(books, tmp_path)
    create_user(books, "acme-user", "Acme buyer", Role.PARTNER, "correct horse 1", "ACME")
    issue_token(books, "acme-user", "integration")
    add_program(books, E8)
    add_program(books, E14)
    q1 = [sale("Q1", "2026-02-10", "150000"), sale("Q1", "2026-02-11", "400000", "ACME", line_no=2)]
    receive(books, lines_file(tmp_path / "q1.csv", q1))
    row = ("C-1", "2026-03-01", ("9001", "1", "500", "2026-02-10", "Acme Hospital"))
    [claim] = send(books, tmp_path, "claim.csv", claim_rows(*row))
    approve(books, claim.id)
    in_q2 = Books.open(books.settings, clock=lambda: datetime(2026, 4, 15, tzinfo=UTC))
    fund = acme_fund_claim(in_q2, "M-1", "5000.00")
    approve(in_q2, fund.id)
    in_q2.close()
    close(books, "2026-Q1")
    core = settlement(books, "e8", "CORE", "2026-Q1")
    submit_settlement(books, core.id)
    approve(books, core.id, subject=Subject.SETTLEMENT)
    create_batch(books, PayoutMethod.CHECK, "USD", [core.id])
    open_dispute(books, About.STANDING, "e8/CORE/2026-Q1", "the February line is missing")
    verified = verify_books(books)
    assert verified.ok, verified.problems
    return books


@contextmanager
def tampered(books: Books, statements: list[str]):
    """The books as verification reads them with `statements` applied behind the application's
    back, in transactions rolled back afterwards (so one set of books serves every case)."""
    embedded = None if books.postgres else books.line_store.raw
    with books.engine.connect() as connection:
        records = connection.begin()
        if embedded:
            embedded.begin()
        try:
            behind_the_back(books, connection, statements)
            view = copy.copy(books)
            view.engine = connection  # its sessions join the open transaction
            yield view
        finally:
            records.rollback()
            if embedded:
                embedded.rollback()


def behind_the_back(books: Books, connection, statements: list[str]) -> None:
    """Run `statements` on the records (`connection`) or the line store, each changing
    something, in the transactions the caller holds."""
    lines = "line_store" if books.postgres else "lines"
    for statement in statements:
        sql = statement.format(lines=lines)
        if not books.postgres and "{lines}" in statement:
            assert books.line_store.raw.execute(sql).fetchone()[0] > 0, sql
        else:
            assert connection.execute(text(sql)).rowcount > 0, sql


@BACKENDS
def test_every_kind_of_record_tampered_with_is_named(full_books):
    missed = {}
    for edit, (statements, found) in EDITS.items():
        with tampered(full_books, statements) as books:
            problems = verify_books(books).problems
        if not any(found in problem for problem in problems):
            missed[edit] = problems
    assert missed == {}
    assert verify_books(full_books).ok  # every edit was rolled back


@BACKENDS
def test_an_exported_head_shows_the_newest_entries_deleted(closed_books):
    head = head_of(closed_books)
    assert verify_books(closed_books, head).ok
    with tampered(closed_books, [f"DELETE FROM audit_log WHERE seq = {head.seq}"]) as books:
        problems = verify_books(books, head).problems
    assert f"audit entry {head.seq}: the exported head {head} is gone" in " ".join(problems)


def test_the_cli_exports_the_head_and_verifies_against_it(closed_books):
    where = ["--data-dir", str(closed_books.settings.data_dir)]
    printed = CliRunner().invoke(app, [*where, "audit", "head"])
    head = Head.parse(printed.output)
    assert printed.exit_code == 0 and head == head_of(closed_books)
    result = CliRunner().invoke(app, [*where, "audit", "verify", "--head", str(head)])
    assert result.exit_code == 0 and "audit trail intact" in result.output
    elsewhere = Head(head.seq + 1, head.hash)
    result = CliRunner().invoke(app, [*where, "audit", "verify", "--head", str(elsewhere)])
    assert result.exit_code == 1 and f"the exported head {elsewhere} is gone" in result.output
    result = CliRunner().invoke(app, [*where, "audit", "verify", "--head", "yesterday"])
    assert result.exit_code == 1 and "a head is `seq:hash`" in result.output
