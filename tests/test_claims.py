"""E13 (ship and debit) and E14 (market development funds) through files and the books, exact
to the cent, with their ledger entries; duplicates in every disguise; the leakage prevented."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from apiclient import fund_program
from bookkeeping import add_program, lines_file, receive, sale, with_master, write_csv
from conftest import BACKENDS
from sqlalchemy import select

from accrue.app.books import close_period
from accrue.domain.approvals import Subject
from accrue.domain.ledger import PayoutMethod
from accrue.domain.shipdebit import invoice_key
from accrue.ingest.claims import AGREEMENT_COLUMNS, CLAIM_COLUMNS, read_claims
from accrue.ingest.errors import InputError
from accrue.store import ledger
from accrue.store.approvals import decide_request, latest
from accrue.store.books import Books
from accrue.store.claims import import_agreements, receive_claims
from accrue.store.close import pay
from accrue.store.funds import FundError, Proof, balances, receive_fund_claim
from accrue.store.master import import_master
from accrue.store.tables import ClaimLineRow, ClaimRow, JournalRow, SettlementRow

AGREEMENT = (
    "SPA-1001",
    "ACME",
    "Acme Hospital",
    "VALVE-200",
    "80.00",
    "62.00",
    "500",
    "2026-01-01",
    "2026-06-30",
    "60",
)
PDF = b"%PDF-1.4\n% trade show photos and invoice\n"


def claim_rows(number, claimed_on, *lines):
    """lines: (invoice, invoice_line, quantity, sold_on, end_customer)."""
    return [
        (number, "ACME", "SPA-1001", customer, "VALVE-200", invoice, line, qty, sold, claimed_on)
        for invoice, line, qty, sold, customer in lines
    ]


def send(books, tmp_path, name, rows):
    path = write_csv(tmp_path / name, CLAIM_COLUMNS, rows)
    return receive_claims(books, read_claims(path, date(2026, 11, 24)))


def approve(books, subject_id, who="approver", subject=Subject.CLAIM):
    with books.session() as session:
        request = latest(session, subject, subject_id)
    return decide_request(books.acting_as(who), request.id, True)


def lines_of(books, claim_id):
    with books.session() as session:
        rows = session.scalars(select(ClaimLineRow).where(ClaimLineRow.claim_id == claim_id))
        return [(r.outcome, r.approved_quantity, r.amount, r.reason) for r in rows]


@pytest.fixture
def ship_and_debit(books, tmp_path):
    return with_agreement(books, tmp_path)


def acme_fund_claim(books, number, amount, description="trade show", proof=None):
    """ACME's claim on the E14 development fund, with a PDF for proof unless another given."""
    return receive_fund_claim(
        books,
        partner_id="ACME",
        program_id="mdf",
        number=number,
        amount=Decimal(amount),
        description=description,
        proof=proof or Proof("trade-show.pdf", PDF),
    )


def with_agreement(books, tmp_path):
    """The conftest master data, the claimed product and agreement SPA-1001."""
    with_master(books, tmp_path)
    valve = ("VALVE-200", "Valve 200", "Gate valves", "Valves")
    columns = ("sku", "name", "category", "product_line")
    import_master(books, "products", write_csv(tmp_path / "more.csv", columns, [valve]))
    import_agreements(books, write_csv(tmp_path / "spa.csv", AGREEMENT_COLUMNS, [AGREEMENT]))
    return books


@BACKENDS
def test_e13_every_claim_line_is_answered_with_its_reason(ship_and_debit, tmp_path):
    books = ship_and_debit
    [a] = send(
        books,
        tmp_path,
        "a.csv",
        claim_rows("C-1", "2026-03-01", ("9001", "1", "200", "2026-02-10", "Acme Hospital")),
    )
    [b] = send(
        books,
        tmp_path,
        "b.csv",
        claim_rows("C-2", "2026-03-15", ("9002", "1", "350", "2026-03-01", "Acme Hospital")),
    )
    [later] = send(
        books,
        tmp_path,
        "later.csv",
        claim_rows(
            "C-3",
            "2026-07-10",
            (" 09001 ", "01", "10", "2026-02-10", "ACME  hospital"),  # (c)
            ("9100", "1", "10", "2026-07-05", "Acme Hospital"),  # (d)
            ("9101", "1", "10", "2026-03-01", "St. Mary's Clinic"),  # (e)
        ),
    )
    [late] = send(
        books,
        tmp_path,
        "late.csv",
        claim_rows("C-4", "2026-05-20", ("9102", "1", "10", "2026-03-01", "Acme Hospital")),
    )
    assert lines_of(books, a.id) == [("accepted", "200", "3600.00", None)]
    assert lines_of(books, b.id) == [("adjusted", "300", "5400.00", "QA")]
    assert [(o, r) for o, _, _, r in lines_of(books, later.id)] == [
        ("rejected", "DU"),
        ("rejected", "EX"),
        ("rejected", "CU"),
    ]
    assert lines_of(books, late.id) == [("rejected", "0", "0.00", "LT")]
    assert (a.approved, b.approved, b.prevented) == ("3600.00", "5400.00", "900.00")
    assert later.status == late.status == "answered"  # nothing to pay: nothing to approve

    # approval by someone else posts the concession: Dr ship and debit, Cr the receivable
    approve(books, a.id)
    approve(books, b.id)
    with books.session() as session:
        claims = {c.number: c.status for c in session.scalars(select(ClaimRow))}
        balance = {(x.account, x.currency): x for x in ledger.trial_balance(session)}
    assert claims == {"C-1": "approved", "C-2": "approved", "C-3": "answered", "C-4": "answered"}
    assert balance[("5300 Ship and debit", "USD")].debit == Decimal("9000.00")
    assert balance[("1200 Accounts receivable", "USD")].credit == Decimal("9000.00")


@BACKENDS
def test_the_same_claim_twice_changes_nothing_and_a_changed_one_is_refused(
    ship_and_debit, tmp_path
):
    books = ship_and_debit
    rows = claim_rows("C-1", "2026-03-01", ("9001", "1", "200", "2026-02-10", "Acme Hospital"))
    [first] = send(books, tmp_path, "a.csv", rows)
    [again] = send(books, tmp_path, "a-again.csv", rows)
    assert again.id == first.id
    changed = claim_rows("C-1", "2026-03-01", ("9001", "1", "201", "2026-02-10", "Acme Hospital"))
    with pytest.raises(ValueError, match="claim_number: 'C-1' of ACME was already received"):
        send(books, tmp_path, "a-changed.csv", changed)
    with books.session() as session:
        assert session.scalar(select(ClaimRow.id).where(ClaimRow.id > first.id)) is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (f'[{{"quantity": {"9" * 5000}}}]', "a number has too many digits"),
        ("[" * 100_000, "nested too deeply"),
    ],
)
def test_a_claims_file_json_cannot_read_is_refused_with_its_reason(tmp_path, content, reason):
    path = tmp_path / "claims.json"
    path.write_text(content)
    with pytest.raises(InputError) as refused:
        read_claims(path, date(2026, 11, 24))
    [problem] = refused.value.problems
    assert problem.file == str(path) and problem.message == f"not valid JSON: {reason}"


@pytest.mark.parametrize(
    ("invoice", "line"),
    [("9001", "1"), ("09001", "1"), (" 9001 ", "01"), ("INV-9001", "1"), ("inv-0009001", "001")],
)
def test_an_invoice_line_is_one_key_however_it_is_written(invoice, line):
    base = "INV-9001" if "INV" in invoice.upper() else "9001"
    assert invoice_key("acme", invoice, line) == invoice_key("ACME", base, "1")


@BACKENDS
def test_duplicates_are_caught_in_every_disguise_and_leakage_is_reported(ship_and_debit, tmp_path):
    books = ship_and_debit
    send(
        books,
        tmp_path,
        "a.csv",
        claim_rows("C-1", "2026-03-01", ("INV-9001", "1", "100", "2026-02-10", "Acme Hospital")),
    )
    disguises = [("inv-9001", "1"), ("INV-09001", "01"), (" INV-9001 ", "1"), ("inv 9001", "1")]
    [retry] = send(
        books,
        tmp_path,
        "b.csv",
        claim_rows(
            "C-2",
            "2026-03-10",
            *((inv, ln, "100", "2026-02-10", "Acme Hospital") for inv, ln in disguises),
            ("INV-9050", "1", "100", "2026-02-10", "Acme Hospital"),
            ("INV-9050", "1", "100", "2026-02-10", "Acme Hospital"),  # twice in one claim
        ),
    )
    outcomes = [(o, r) for o, _, _, r in lines_of(books, retry.id)]
    assert outcomes == [("rejected", "DU")] * 4 + [("accepted", None), ("rejected", "DU")]
    assert (retry.approved, retry.prevented) == ("1800.00", "9000.00")  # 5 × 100 × $18


@BACKENDS
def test_quantity_above_what_was_sold_is_cut_to_the_sell_through(ship_and_debit, tmp_path):
    books = ship_and_debit
    sold = [
        sale("9300", "2026-02-01", "6200", partner="ACME", quantity="100", line_no=1),
        sale("9300", "2026-02-01", "1240", partner="ACME", quantity="20", line_no=2),
    ]
    receive(books, lines_file(tmp_path / "pos.csv", [{**r, "sku": "VALVE-200"} for r in sold]))
    [claim] = send(
        books,
        tmp_path,
        "c.csv",
        claim_rows(
            "C-9",
            "2026-03-01",
            ("9300", "1", "150", "2026-02-01", "Acme Hospital"),
            ("9300", "2", "20", "2026-02-01", "Acme Hospital"),
            ("9399", "1", "5", "2026-02-01", "Acme Hospital"),
        ),
    )
    assert lines_of(books, claim.id) == [
        ("adjusted", "100.000", "1800.00", "QS"),
        ("accepted", "20", "360.00", None),
        ("accepted", "5", "90.00", None),  # no sell-through data for this invoice: not checked
    ]


E14 = fund_program(expires_after=2)


@BACKENDS
def test_e14_funds_accrue_are_spent_oldest_first_and_expire_in_the_ledger(books, tmp_path):
    with_master(books, tmp_path)
    add_program(books, E14)
    receive(books, lines_file(tmp_path / "q1.csv", [sale("A-1", "2026-02-10", "400000", "ACME")]))
    books = Books.open(books.settings, clock=lambda: datetime(2026, 4, 15, tzinfo=UTC))  # in Q2
    with books.session() as session:
        [fund] = balances(session, books, ["ACME"], date(2026, 4, 15))
    assert (fund["accrued"], fund["available"]) == (Decimal("8000.00"), Decimal("8000.00"))

    first = acme_fund_claim(books, "M-1", "5000.00")
    second = acme_fund_claim(books, "M-2", "4000.00", "mailing")
    assert (first.approved, first.prevented) == ("5000.00", "0.00")
    assert (second.approved, second.prevented) == ("3000.00", "1000.00")
    approve(books, first.id)
    approve(books, second.id)
    with books.session() as session:
        [fund] = balances(session, books, ["ACME"], date(2026, 4, 15))
        posted = session.scalars(select(JournalRow).where(JournalRow.kind == "fund_claim")).all()
    assert fund["available"] == 0 and fund["used"] == Decimal("8000.00")
    assert sorted(j.period for j in posted) == ["2026-Q1", "2026-Q1"]

    # Q2's $2,000 is never used: it may be used until the end of Q4 and expires at its close
    receive(books, lines_file(tmp_path / "q2.csv", [sale("A-2", "2026-05-10", "100000", "ACME")]))
    clock = datetime(2027, 1, 5, tzinfo=UTC)
    later = Books.open(books.settings, clock=lambda: clock)
    for label in ("2026-Q1", "2026-Q2", "2026-Q3"):
        close_period(later, label, date(2027, 1, 5))
    with later.session() as session:
        assert not session.scalars(select(JournalRow).where(JournalRow.kind == "fund_expiry")).all()
    close_period(later, "2026-Q4", date(2027, 1, 5))
    with later.session() as session:
        [expiry] = session.scalars(select(JournalRow).where(JournalRow.kind == "fund_expiry")).all()
        rows = list(ledger.journal_rows(session, expiry.id, expiry.id))
        owed = ledger.liability(session, {"2350 Market development fund liability"}, ("period",))
    assert (expiry.period, [(r["account"], r["debit"], r["credit"]) for r in rows]) == (
        "2026-Q2",
        [
            ("2350 Market development fund liability", "2000.00", "0.00"),
            ("5250 Market development funds", "0.00", "2000.00"),
        ],
    )
    assert owed == []  # nothing left in the fund
    later.close()
    books.close()


def test_proof_of_performance_must_be_a_real_document(books, tmp_path):
    with_master(books, tmp_path)
    add_program(books, E14)
    for proof, message in [
        (Proof("photo.pdf", b"GIF89a..."), "not a PDF, PNG or JPEG"),
        (Proof("empty.pdf", b""), "is empty"),
        (Proof("big.pdf", b"%PDF-" + b"0" * (10 * 2**20)), "larger than 10 MiB"),
    ]:
        with pytest.raises(FundError, match=message):
            acme_fund_claim(books, "M-9", "10", "x", proof)


@BACKENDS
def test_a_line_an_exclusive_program_already_paid_cannot_be_claimed(ship_and_debit, tmp_path):
    books = ship_and_debit
    add_program(
        books,
        E14.replace("id: mdf", "id: volume")
        .replace("kind: fund\n", "")
        .replace("expires_after: 2\n", ""),
    )
    spa = (*AGREEMENT[:7], "2026-01-01", "2026-06-30", "365", "volume")
    import_agreements(
        books, write_csv(tmp_path / "spa2.csv", (*AGREEMENT_COLUMNS, "exclusive_of"), [spa])
    )
    sold = [sale("9001", "2026-02-10", "16000", partner="ACME", quantity="200")]
    receive(books, lines_file(tmp_path / "q1.csv", [{**r, "sku": "VALVE-200"} for r in sold]))
    close_period(books, "2026-Q1", date(2026, 11, 24))
    with books.session() as session:
        [settled] = session.scalars(
            select(SettlementRow).where(SettlementRow.partner_id == "ACME")
        ).all()
    pay(books, settled.id, PayoutMethod.CREDIT_MEMO, "CM-1", date(2026, 11, 24))
    [claim] = send(
        books,
        tmp_path,
        "x.csv",
        claim_rows(
            "C-1",
            "2026-03-01",
            ("09001", "1", "200", "2026-02-10", "Acme Hospital"),
            ("9002", "1", "10", "2026-02-11", "Acme Hospital"),
        ),
    )
    assert lines_of(books, claim.id) == [
        ("rejected", "0", "0.00", "XP"),  # the volume rebate already paid for invoice 9001
        ("accepted", "10", "180.00", None),
    ]


def test_a_json_claims_number_is_read_as_the_decimal_it_spells(tmp_path):
    """1e400 in a JSON claims file is refused as written (too large), not as an infinity."""
    [row] = claim_rows("C-9", "2026-03-01", ("9001", "1", "@quantity@", "2026-02-10", "Acme"))
    text = json.dumps({"lines": [dict(zip(CLAIM_COLUMNS, row, strict=True))]})
    path = tmp_path / "claims.json"
    path.write_text(text.replace('"@quantity@"', "1e400"))
    with pytest.raises(InputError) as refused:
        read_claims(path, date(2026, 11, 24))
    [problem] = refused.value.problems
    assert (problem.field, problem.value) == ("quantity", "1E+400")
    assert "too large" in problem.message
