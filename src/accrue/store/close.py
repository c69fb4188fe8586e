"""Period close, and paying what it settled.

Closing a period (after `accrue.app.books.close_period` has recalculated what is pending), in
one transaction: freezes each rebate standing of the period into a settlement (with the program
version and the last batch of lines it saw), nets late adjustments booked into the period,
carries amounts under the minimum payout forward (rule 7), charges negative amounts back to
the partner, and locks the period.
Later data for it is booked in the next open period (rule 11); the settlement never changes.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from accrue.domain.approvals import Subject
from accrue.domain.audit import canonical
from accrue.domain.errors import Conflict
from accrue.domain.identifiers import check_text
from accrue.domain.ledger import (
    JournalKind,
    PayoutMethod,
    carry_forward_journal,
    debit_memo_journal,
    payout_journal,
    reversal_journal,
)
from accrue.domain.money import ZERO, round_money
from accrue.domain.periods import Closed, Period
from accrue.domain.program import Kind, Program
from accrue.domain.settlement import settle
from accrue.store import ledger, notify
from accrue.store.approvals import Approvable, approvable
from accrue.store.books import Books
from accrue.store.funds import expire_funds, expiring_funds
from accrue.store.ingest import failpoint
from accrue.store.tables import (
    Batch,
    ClosedPeriod,
    JournalRow,
    PostingRow,
    SettlementRow,
    StandingRow,
)


class CloseError(Conflict):
    pass


approvable(
    Subject.SETTLEMENT,
    Approvable(SettlementRow, lambda r: Decimal(r.payout) - Decimal(r.paid)),
)


@dataclass(frozen=True)
class ClosedReport:
    label: str
    settlements: int
    payable: dict[str, Decimal]  # currency → total paid out at this close
    carried: dict[str, Decimal]
    charged: dict[str, Decimal]

    @property
    def summary(self) -> str:
        def money(totals):
            return ", ".join(f"{c} {v:,}" for c, v in sorted(totals.items())) or "0"

        return (
            f"closed {self.label}: {self.settlements} settlements; payable {money(self.payable)}; "
            f"carried forward {money(self.carried)}; charged back {money(self.charged)}"
        )


def close_period(
    books: Books, label: str, as_of: date, force_reason: str | None = None
) -> ClosedReport:
    """Close `label` as of `as_of`. A period that has not ended is refused unless forced with
    a reason, which the audit trail keeps; funds whose last day has not passed stay."""
    period = Period.parse(label)
    forced = _guard(period, as_of, force_reason)
    with books.session() as session:
        rows, closed = _open_rows(session, period)
        versions = {(p.id, p.version): p for p in books.programs(session)}
        lines_as_of = session.scalar(
            select(func.max(Batch.id)).where(Batch.kind == "lines", Batch.status == "committed")
        )
        adjustments = _adjustments(session, period, versions)
        tally = _Tally()
        for row in _due_rows(rows, period, closed):
            program = versions[(row.program_id, row.version)]
            if program.kind is Kind.REBATE:
                _settle(books, session, row, program, adjustments, lines_as_of or 0, as_of, tally)
        tally.journals += expire_funds(books, session, expiry_day(period, as_of), as_of)
        failpoint("close:settlements-written")
        session.add(
            ClosedPeriod(label=period.label, closed_at=books.now(), actor=books.settings.actor)
        )
        sealed = tally.sealed(session, as_of) | ({"force_reason": forced} if forced else {})
        books.audit(session, "close", "period", period.label, after=sealed)
        settled = set(
            session.scalars(
                select(SettlementRow.partner_id).where(SettlementRow.id.in_(tally.settlements))
            )
        )
        notify.statements_ready(session, books, period.label, settled)
    return ClosedReport(
        period.label,
        len(tally.settlements),
        dict(tally.payable),
        dict(tally.carried),
        dict(tally.charged),
    )


def guard(label: str, as_of: date, force_reason: str | None) -> None:
    """Refuse a close before the period's end without a reason, before any work is done."""
    _guard(Period.parse(label), as_of, force_reason)


def _guard(period: Period, as_of: date, force_reason: str | None) -> str | None:
    """The reason a close before the period's end is forced, or a refusal without one."""
    reason = (force_reason or "").strip()
    check_text("force_reason", reason)
    if as_of >= period.end:
        return None
    if len(reason) < 3:  # its lines may still come
        raise CloseError(
            f"period: {period.label} ends on {period.end}; it can be closed as of that day, "
            f"not as of {as_of}, unless forced with a reason"
        )
    return reason


def expiry_day(period: Period, as_of: date) -> date:
    """Funds whose last day is before this day expire at the close: those of the period, but
    never, in a close forced early, funds still usable on `as_of`."""
    return min(period.end + timedelta(days=1), as_of)


def _open_rows(session: Session, period: Period) -> tuple[list[StandingRow], Closed]:
    """Every standing and the closed periods, refusing a period closed already or out of
    order."""
    closed = Closed(session.scalars(select(ClosedPeriod.label)))
    if period in closed:
        raise CloseError(f"{period.label} is already closed")
    rows = session.scalars(select(StandingRow)).all()
    _refuse_gaps(rows, period, closed)
    return list(rows), closed


def _due_rows(rows: list[StandingRow], period: Period, closed: Closed) -> list[StandingRow]:
    return sorted(
        (r for r in rows if _due(Period.parse(r.period), period, closed)),
        key=lambda r: (r.program_id, r.partner_id, Period.parse(r.period)),
    )


@dataclass(frozen=True)
class Preview:
    """What closing a period would do, from the standings as they are now."""

    label: str
    ends: date
    early: bool
    settle: list[tuple[str, str, int, Decimal]]  # (program, currency, standings, amount)
    expire: list[tuple[str, str, int, Decimal]]  # (program, currency, partners' funds, amount)


def preview_close(books: Books, label: str, as_of: date) -> Preview:
    """What `close_period` would settle and expire as of `as_of`, written nowhere."""
    period = Period.parse(label)
    with books.session() as session:
        rows, closed = _open_rows(session, period)
        programs = books.latest_programs(session)
        settle: defaultdict = defaultdict(lambda: [0, ZERO])
        for row in _due_rows(rows, period, closed):
            if programs.get(row.program_id) and programs[row.program_id].kind is Kind.REBATE:
                _add(settle, (row.program_id, row.currency), Decimal(row.amount))
        expire: defaultdict = defaultdict(lambda: [0, ZERO])
        on = expiry_day(period, as_of)
        for program_id, currency, amount in expiring_funds(books, session, on):
            _add(expire, (program_id, currency), amount)
    return Preview(period.label, period.end, as_of < period.end, _listed(settle), _listed(expire))


def _add(totals: defaultdict, key: tuple[str, str], amount: Decimal) -> None:
    totals[key][0] += 1
    totals[key][1] += amount


def _listed(totals: defaultdict) -> list[tuple[str, str, int, Decimal]]:
    return [(p, c, n, amount) for (p, c), (n, amount) in sorted(totals.items())]


@dataclass
class _Tally:
    """What a close wrote: totals for the report, ids and digests for the audit trail."""

    settlements: list[int] = field(default_factory=list)
    journals: list[int] = field(default_factory=list)
    payable: defaultdict = field(default_factory=lambda: defaultdict(Decimal))
    carried: defaultdict = field(default_factory=lambda: defaultdict(Decimal))
    charged: defaultdict = field(default_factory=lambda: defaultdict(Decimal))

    def sealed(self, session: Session, as_of: date) -> dict:
        sealed = {"as_of": as_of.isoformat(), "settlements": [], "journals": []}
        if self.settlements:
            first, last = self.settlements[0], self.settlements[-1]
            sealed["settlements"] = [first, last, settlements_digest(session, first, last)]
        if self.journals:
            first, last = self.journals[0], self.journals[-1]
            sealed["journals"] = [first, last, ledger.journals_digest(session, first, last)]
        return sealed


def _due(standing: Period, closing: Period, closed: Closed) -> bool:
    """Within the period being closed and not settled already by a shorter period's close."""
    return standing.within(closing) and standing not in closed


def _refuse_gaps(rows, period: Period, closed: Closed) -> None:
    """Periods close in order: an earlier open period would settle after a later one."""
    earlier = sorted(
        {Period.parse(r.period) for r in rows}
        - {p for p in (Period.parse(r.period) for r in rows) if p in closed},
    )
    earlier = [p for p in earlier if p.end < period.start]
    if earlier:
        raise CloseError(
            f"close {earlier[0].label} first: periods close in order so that carry-forwards "
            "and true-ups settle where they belong"
        )


def _adjustments(session: Session, period: Period, versions) -> dict:
    """(program, partner, currency) → what is booked into this period for others: late data
    for earlier, closed periods, and approved dispute adjustments, on the expense account of
    any version of the program."""
    expense = {(pid, p.ledger_accounts.expense) for (pid, _), p in versions.items()}
    rows = session.execute(
        select(
            PostingRow.program_id,
            PostingRow.partner_id,
            PostingRow.account,
            PostingRow.currency,
            func.sum(PostingRow.amount_minor),
        )
        .join(JournalRow, JournalRow.id == PostingRow.journal_id)
        .where(
            PostingRow.booked_period == period.label,
            or_(
                JournalRow.kind.in_([k.value for k in ledger.CHANGE_KINDS])
                & (PostingRow.period != period.label),
                JournalRow.kind == JournalKind.ADJUSTMENT.value,
            ),
        )
        .group_by(
            PostingRow.program_id, PostingRow.partner_id, PostingRow.account, PostingRow.currency
        )
    )
    totals: defaultdict = defaultdict(Decimal)
    for program, partner, account, currency, units in rows:
        if (program, account) in expense:
            totals[(program, partner, currency)] += ledger.from_minor(units, currency)
    return totals


def _carried_in(session: Session, row: StandingRow) -> Decimal:
    """What the partner's last settlement of the program in this currency held back: an amount
    in another currency (a version changed it) is never added to this one."""
    previous = session.scalars(
        select(SettlementRow)
        .where(
            SettlementRow.program_id == row.program_id,
            SettlementRow.partner_id == row.partner_id,
            SettlementRow.currency == row.currency,
        )
        .order_by(SettlementRow.id.desc())
        .limit(1)
    ).first()
    return Decimal(previous.carried_out) if previous else ZERO


def _settle(books, session, row, program: Program, adjustments, lines_as_of, as_of, tally):
    carried_in = _carried_in(session, row)
    adjustment = adjustments.get((row.program_id, row.partner_id, row.currency), ZERO)
    due = settle(carried_in, Decimal(row.amount), program.minimum_payout, adjustment)

    def money(value: Decimal) -> str:  # the same text for the same amount: 0.00, never 0
        return str(round_money(value, row.currency))

    settlement = SettlementRow(
        program_id=row.program_id,
        version=row.version,
        program_digest=program.digest,
        partner_id=row.partner_id,
        period=row.period,
        currency=row.currency,
        amount=row.amount,
        adjustments=money(adjustment),
        carried_in=money(carried_in),
        payout=money(due.payout),
        carried_out=money(due.carried_out),
        paid=money(ZERO),
        lines_as_of_batch=lines_as_of,
        standing=row.detail,
        closed_at=books.now(),
    )
    session.add(settlement)
    session.flush()
    accounts = program.ledger_accounts
    if due.carried_out:
        following = Period.parse(row.period).next().label
        journal = carry_forward_journal(
            accounts,
            row.program_id,
            row.partner_id,
            row.period,
            following,
            row.currency,
            due.carried_out,
        )
        tally.journals.append(ledger.post(session, journal, as_of, settlement.id))
        tally.carried[row.currency] += due.carried_out
    if due.payout < 0:
        journal = debit_memo_journal(
            accounts, row.program_id, row.partner_id, row.period, row.currency, due.payout
        )
        tally.journals.append(ledger.post(session, journal, as_of, settlement.id))
        tally.charged[row.currency] += -due.payout
    elif due.payout:
        tally.payable[row.currency] += due.payout
    tally.settlements.append(settlement.id)


def settlements_digest(session: Session, first: int, last: int) -> str:
    digest = hashlib.sha256()
    rows = session.scalars(
        select(SettlementRow)
        .where(SettlementRow.id.between(first, last))
        .order_by(SettlementRow.id)
    )
    for row in rows:
        columns = {c.name: getattr(row, c.name) for c in row.__table__.columns if c.name != "paid"}
        digest.update(canonical(columns).encode())
    return digest.hexdigest()


def pay(books: Books, settlement_id: int, method: PayoutMethod, reference: str, on: date) -> int:
    """Pay what a settlement still owes: one payout journal, and the settlement marked paid."""
    with books.session() as session:
        settlement = session.get(SettlementRow, settlement_id)
        if settlement is None:
            raise CloseError(f"no settlement {settlement_id}")
        return pay_settlement(books, session, settlement, method, reference, on)


def pay_settlement(
    books: Books,
    session: Session,
    settlement: SettlementRow,
    method: PayoutMethod,
    reference: str,
    on: date,
) -> int:
    """The payout journal for what `settlement` still owes, in the caller's transaction."""
    remaining = Decimal(settlement.payout) - Decimal(settlement.paid)
    if remaining <= 0:
        raise CloseError(
            f"settlement {settlement.id} has nothing to pay (payout {settlement.payout}, "
            f"paid {settlement.paid})"
        )
    program = _version(books, session, settlement)
    journal = payout_journal(
        program.ledger_accounts,
        method,
        settlement.program_id,
        settlement.partner_id,
        settlement.period,
        settlement.currency,
        remaining,
        reference,
    )
    journal_id = ledger.post(session, journal, on, settlement.id)
    settlement.paid = str(round_money(Decimal(settlement.paid) + remaining, settlement.currency))
    books.audit(
        session,
        "pay",
        "settlement",
        str(settlement.id),
        after={
            "amount": str(remaining),
            "method": method.value,
            "reference": reference,
            "journals": ledger.seal(session, journal_id, journal_id),
        },
    )
    notify.payment_sent(
        session, books, settlement, program.name, remaining, method.value, reference, on
    )
    return journal_id


def reverse(books: Books, journal_id: int, reason: str, on: date) -> int:
    """Reverse a payout (a voided check, a returned transfer): the settlement is owed again.
    Accruals are not reversed by hand: they follow their standings."""
    check_text("reason", reason)
    with books.session() as session:
        original = ledger.load(session, journal_id)
        if original.kind.value != "payout":
            raise CloseError(
                f"journal {journal_id} is a {original.kind.value}: accruals follow their "
                "standings; correct the lines or the program and recalculate instead"
            )
        if session.scalar(select(JournalRow.id).where(JournalRow.reverses == journal_id)):
            raise CloseError(f"journal {journal_id} is already reversed")
        row = session.get(JournalRow, journal_id)
        mirror = reversal_journal(original, journal_id, reason)
        reversal_id = ledger.post(session, mirror, on, row.settlement_id)
        settlement = session.get(SettlementRow, row.settlement_id)
        paid_back = sum((-p.amount for p in original.postings if p.amount < 0), ZERO)
        settlement.paid = str(
            round_money(Decimal(settlement.paid) - paid_back, settlement.currency)
        )
        books.audit(
            session,
            "reverse",
            "journal",
            str(journal_id),
            after={"reason": reason, "journals": ledger.seal(session, reversal_id, reversal_id)},
        )
    return reversal_id


def _version(books: Books, session: Session, settlement: SettlementRow) -> Program:
    for program in books.programs(session):
        if (program.id, program.version) == (settlement.program_id, settlement.version):
            return program
    raise CloseError(f"program {settlement.program_id} v{settlement.version} is not stored")
