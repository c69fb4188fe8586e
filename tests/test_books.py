"""The worked examples end to end through the books: ingest → recalc → close → ledger, on the
embedded default (SQLite + DuckDB) and on PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from bookkeeping import (
    AS_OF,
    add_program,
    close,
    journals,
    lines_file,
    receive,
    sale,
    settlement,
    with_master,
)
from conftest import BACKENDS
from test_worked_examples import E8

from accrue.domain.ledger import PayoutMethod
from accrue.store import ledger
from accrue.store.audit import verify_books
from accrue.store.close import CloseError, pay
from accrue.store.programs import VersionError
from accrue.store.recalc import recalc
from accrue.store.trace import trace

QUARTERS = {1: ("2026-02-10", "80000"), 2: ("2026-05-10", "90000"),
            3: ("2026-08-10", "100000"), 4: ("2026-11-10", "50000")}  # fmt: skip


def _quarter(books, tmp_path, q: int, *extra):
    day, amount = QUARTERS[q]
    rows = [sale(f"Q{q}", day, amount), *extra]
    return receive(books, lines_file(tmp_path / f"q{q}.csv", rows))


def _columns(row) -> dict:
    return {c.name: getattr(row, c.name) for c in row.__table__.columns}


def _kinds(rows, kind):
    return [(r["account"], r["debit"], r["credit"]) for r in rows if r["kind"] == kind]


@BACKENDS
def test_e8_e15_quarters_accrue_settle_and_pay(books, tmp_path):
    with_master(books, tmp_path)
    add_program(books, E8)
    payouts = []
    for q in range(1, 5):
        _quarter(books, tmp_path, q)
        if q == 2:  # E15: the Q2 accrual
            q2 = [r for r in journals(books) if r["period"] == "2026-Q2"]
            assert _kinds(q2, "accrual") == [
                ("5200 Rebate expense", "3400.00", "0.00"),
                ("2300 Accrued rebates", "0.00", "3400.00"),
            ]
        close(books, f"2026-Q{q}")
        payouts.append(D(settlement(books, "e8", "CORE", f"2026-Q{q}").payout))
    assert payouts == [D("0.00"), D("3400.00"), D("4700.00"), D("1500.00")]

    q2 = settlement(books, "e8", "CORE", "2026-Q2")
    journal = pay(books, q2.id, PayoutMethod.CREDIT_MEMO, "CM-7", date(2026, 7, 15))
    paid = [r for r in journals(books) if r["journal"] == journal]
    assert _kinds(paid, "payout") == [
        ("2300 Accrued rebates", "3400.00", "0.00"),
        ("1200 Accounts receivable", "0.00", "3400.00"),
    ]
    with books.session() as session:
        outstanding = ledger.liability(session, {"2300 Accrued rebates"}, ("program_id",))
        balances = ledger.trial_balance(session)
    # Liability is the balance of Accrued rebates: all earned (9,600) less the 3,400 paid.
    assert outstanding == [{"program_id": "e8", "currency": "USD", "outstanding": D("6200.00")}]
    assert sum(b.net for b in balances) == 0
    with pytest.raises(CloseError, match="nothing to pay"):
        pay(books, q2.id, PayoutMethod.CHECK, "", date(2026, 7, 15))
    assert verify_books(books).ok


@BACKENDS
def test_e9_return_is_a_clawback_charged_back_at_close(books, tmp_path):
    with_master(books, tmp_path)
    add_program(books, E8)
    for q in range(1, 4):
        _quarter(books, tmp_path, q)
        close(books, f"2026-Q{q}")
    _quarter(books, tmp_path, 4, sale("RET-1", "2026-11-20", "-60000"))
    q4 = [r for r in journals(books) if r["period"] == "2026-Q4"]
    assert _kinds(q4, "clawback") == [
        ("5200 Rebate expense", "0.00", "300.00"),
        ("2300 Accrued rebates", "300.00", "0.00"),
    ]
    [report] = close(books, "2026-Q4")
    assert report.charged == {"USD": D("300.00")}
    assert D(settlement(books, "e8", "CORE", "2026-Q4").payout) == D("-300.00")
    charged = [r for r in journals(books) if r["kind"] == "settlement"]
    assert _kinds(charged, "settlement") == [
        ("1200 Accounts receivable", "300.00", "0.00"),
        ("2300 Accrued rebates", "0.00", "300.00"),
    ]


CAPPED_MINIMUM = """
id: e11
name: Capped, with a minimum payout
effective: {from: 2026-01-01, to: 2026-12-31}
rollup: self
caps: {per_partner_period: 5000}
minimum_payout: 50
tiers: [{from: 0, rate: 1%}]
"""


@BACKENDS
def test_e11_cap_and_minimum_carry_forward_through_close(books, tmp_path):
    with_master(books, tmp_path)
    add_program(books, CAPPED_MINIMUM)
    receive(books, lines_file(tmp_path / "q1.csv", [
        sale("A", "2026-02-01", "4210"),
        sale("B", "2026-02-01", "600000", partner="BOLT"),
    ]))  # fmt: skip
    [q1] = close(books, "2026-Q1")
    core = settlement(books, "e11", "CORE", "2026-Q1")
    assert (D(core.payout), D(core.carried_out)) == (D("0.00"), D("42.10"))
    assert D(settlement(books, "e11", "BOLT", "2026-Q1").payout) == D("5000.00")
    assert q1.carried == {"USD": D("42.10")}
    carried = [r for r in journals(books) if r["kind"] == "carry_forward"]
    assert [(r["booked_period"], r["debit"], r["credit"]) for r in carried] == [
        ("2026-Q1", "42.10", "0.00"),
        ("2026-Q2", "0.00", "42.10"),
    ]
    receive(books, lines_file(tmp_path / "q2.csv", [sale("C", "2026-05-01", "3000")]))
    close(books, "2026-Q2")
    q2 = settlement(books, "e11", "CORE", "2026-Q2")
    assert (D(q2.carried_in), D(q2.payout), D(q2.carried_out)) == (
        D("42.10"),
        D("72.10"),
        D("0.00"),
    )


E19 = """
id: e19
name: Interim
effective: {from: 2026-10-01, to: 2026-12-31}
period: month
evaluation: program_to_date
tiers:
  - {from: 5000, rate: 2%}
  - {from: 20000, rate: 4%}
"""


@BACKENDS
def test_e19_interim_settlements_netted_at_the_final_one(books, tmp_path):
    with_master(books, tmp_path)
    add_program(books, E19)
    for month, amount in (("10", "3000"), ("11", "4000"), ("12", "20000")):
        receive(
            books, lines_file(tmp_path / f"m{month}.csv", [sale(month, f"2026-{month}-05", amount)])
        )
        close(books, f"2026-{month}")
    payouts = [D(settlement(books, "e19", "CORE", f"2026-{m}").payout) for m in (10, 11, 12)]
    assert payouts == [D("0.00"), D("140.00"), D("940.00")]


@BACKENDS
def test_late_line_for_a_closed_period_is_booked_in_the_open_one(books, tmp_path):
    """Rule 11: Q1 stays as settled; the late line's effect lands in Q2's settlement."""
    with_master(books, tmp_path)
    add_program(books, E8)
    _quarter(books, tmp_path, 1)
    close(books, "2026-Q1")
    settled_q1 = _columns(settlement(books, "e8", "CORE", "2026-Q1"))
    receive(books, lines_file(tmp_path / "late.csv", [sale("LATE", "2026-03-30", "30000")]))
    late = [r for r in journals(books) if r["period"] == "2026-Q1" and r["kind"] == "true_up"]
    assert {r["booked_period"] for r in late} == {"2026-Q2"}
    assert "late data for closed period 2026-Q1" in late[0]["memo"]
    assert _columns(settlement(books, "e8", "CORE", "2026-Q1")) == settled_q1
    _quarter(books, tmp_path, 2)
    close(books, "2026-Q2")
    q2 = settlement(books, "e8", "CORE", "2026-Q2")
    # YTD 200,000 at 2% = 4,000: Q2 pays its own 1,800 plus the 2,200 Q1 now earns.
    assert (D(q2.amount), D(q2.adjustments), D(q2.payout)) == (
        D("1800.00"),
        D("2200.00"),
        D("4000.00"),
    )
    found = trace(books, q2.id)
    assert found.reproduced and sum(a.share for a in found.attributions) == D("1800.00")


@BACKENDS
def test_a_changed_program_is_a_new_version_for_open_periods_only(books, tmp_path):
    with_master(books, tmp_path)
    add_program(books, E8)
    _quarter(books, tmp_path, 1)
    _quarter(books, tmp_path, 2)
    close(books, "2026-Q1")
    richer = E8.replace("rate: 2%", "rate: 2.5%")
    with pytest.raises(VersionError, match="2026-Q1 is closed"):
        add_program(books, richer, takes_effect=date(2026, 1, 1))
    assert add_program(books, E8).status == "unchanged"
    imported = add_program(books, richer)
    assert (imported.status, imported.program.version) == ("new version", 2)
    assert str(imported.program.takes_effect) == "2026-04-01"
    recalc(books, AS_OF)
    close(books, "2026-Q2")
    q1, q2 = (settlement(books, "e8", "CORE", f"2026-Q{q}") for q in (1, 2))
    assert (q1.version, q2.version) == (1, 2)
    # v2 pays what YTD adds under its own rules: 2.5% × 170,000 − 2.5% × 80,000 (tier 0) …
    assert D(q2.payout) == D("4250.00")
    assert trace(books, q2.id).program_ref.startswith("e8@v2#")


def test_periods_close_in_order_and_once(books, tmp_path):
    with_master(books, tmp_path)
    add_program(books, E8)
    _quarter(books, tmp_path, 1)
    _quarter(books, tmp_path, 2)
    with pytest.raises(CloseError, match="close 2026-Q1 first"):
        close(books, "2026-Q2")
    close(books, "2026-Q1")
    with pytest.raises(CloseError, match="already closed"):
        close(books, "2026-Q1")
    # a period closes once it has ended: on 30 November, Q4's lines and funds are not final
    november = date(2026, 11, 30)
    assert [r.label for r in close(books, "2026-Q2", "2026-Q3", as_of=november)] == [
        "2026-Q2",
        "2026-Q3",
    ]
    with pytest.raises(CloseError, match="2026-Q4 ends on 2026-12-31"):
        close(books, "2026-Q4", as_of=november)
    close(books, "2026-Q4")  # as of its last day


@BACKENDS
def test_a_longer_period_closes_over_shorter_ones_without_settling_twice(books, tmp_path):
    with_master(books, tmp_path)
    add_program(books, E8)
    add_program(books, E8.replace("id: e8", "id: e8-half\nperiod: half"))
    for q in range(1, 4):
        _quarter(books, tmp_path, q)
    quarters = close(books, "2026-Q1", "2026-Q2")
    assert [r.settlements for r in quarters] == [1, 1]
    (half,) = close(books, "2026-H1")
    assert half.settlements == 1  # the semi-annual standing only: Q1 and Q2 are settled
    with pytest.raises(CloseError, match="already closed"):
        close(books, "2026-Q2")
    assert settlement(books, "e8-half", "CORE", "2026-H1").amount == "3400.00"
