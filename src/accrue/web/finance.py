"""Finance's landing page: what is owed, by program name, open or settled and how old; what
waits for the person looking (settlements to submit, requests to approve, batches to release);
and the same lists as CSV or Excel files with the session, no API token."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import select

from accrue.api.security import Context
from accrue.domain.approvals import Status, Subject
from accrue.domain.periods import Period
from accrue.domain.permissions import allows
from accrue.store import ledger, payouts
from accrue.store.tables import ApprovalRow, PayoutBatchRow, SettlementRow
from accrue.web.approver import describe
from accrue.web.views import names_of, program_names

AGES = ("not ended", "up to 30 days", "31 to 90 days", "over 90 days")
SHOWN = 50  # settlements to submit listed on the page; the bulk button takes them all


def age(period: Period, today: date) -> str:
    """How long ago the period ended, in the aging buckets."""
    days = (today - period.end).days
    if days <= 0:
        return AGES[0]
    return AGES[1] if days <= 30 else AGES[2] if days <= 90 else AGES[3]


@dataclass
class Owed:
    """One program's liability in one currency: open (its period not closed) or settled and
    unpaid, and by age."""

    program_id: str
    program: str
    currency: str
    open: Decimal = Decimal(0)
    settled: Decimal = Decimal(0)
    ages: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(AGES, Decimal(0)))

    @property
    def total(self) -> Decimal:
        return self.open + self.settled


class Due(BaseModel):
    """A closed settlement with something to pay and no approval asked for (or one refused)."""

    settlement: int
    partner_id: str
    partner: str
    program: str
    period: str
    currency: str
    owed: str


class LiabilityLine(BaseModel):
    program_id: str
    program: str
    currency: str
    open: str
    settled: str
    total: str


@dataclass(frozen=True)
class FinanceView:
    owed: list[Owed]
    totals: dict[str, Decimal]  # currency → all that is owed
    due: list[Due]  # settlements to submit, largest first
    approvals: list[ApprovalRow]
    subjects: dict[int, str]  # approval request → what it is about, by name
    batches: list[tuple[PayoutBatchRow, list[str]]]  # with the files it offers
    payable: int  # approved settlements waiting for a batch

    def awaiting(self, user) -> dict[str, int]:
        """What waits for this person, of what their role lets them act on."""
        others = [a for a in self.approvals if a.prepared_by != user.username]
        released = sum(b.status == "approved" for b, _ in self.batches)
        waiting = (
            ("approvals:submit", "settlements to submit for approval", len(self.due)),
            ("approvals:decide", "requests to approve", len(others)),
            ("payouts:write", "approved settlements to batch", self.payable),
            ("payouts:write", "released batches to mark paid", released),
        )
        return {what: n for permission, what, n in waiting if allows(user.role, permission)}


def finance(context: Context) -> FinanceView:
    """What the finance page shows the viewer, worked out once per change of the books."""
    today = context.books.clock().date()
    key = ("finance", context.user.username, today)
    return context.books.remembered(key, lambda: _finance(context, today))


def _finance(context: Context, today: date) -> FinanceView:
    with context.books.session() as session:
        programs = program_names(context.books, session)
        owed = liability(context, session, today, programs)
        pending = session.scalars(
            select(ApprovalRow)
            .where(ApprovalRow.status == Status.PENDING.value)
            .order_by(ApprovalRow.id)
        ).all()
        batches = session.scalars(
            select(PayoutBatchRow).order_by(PayoutBatchRow.id.desc()).limit(20)
        ).all()
        payable = len(payouts.payable(session))
        found = due(session, programs)
        subjects = _subjects(context, session, pending)
    offered = [(b, _files(context, b)) for b in batches]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in owed:
        totals[row.currency] += row.total
    return FinanceView(owed, dict(totals), found, list(pending), subjects, offered, payable)


def _subjects(context: Context, session, requests: list[ApprovalRow]) -> dict[int, str]:
    """What each request waiting for approval is about, by name."""
    about = describe(context.books, session, [(r.subject, r.subject_id) for r in requests])
    keys = {r.id: (r.subject, r.subject_id) for r in requests}
    return {request: about[key] for request, key in keys.items() if key in about}


def liability(context: Context, session, today: date, programs: dict) -> list[Owed]:
    """Earned and unpaid by program name and currency, largest first."""
    accounts = context.books.liability_accounts(session)
    rows = ledger.liability(session, accounts, ("program_id", "period"))
    closed = ledger.closed(session)
    found: dict[tuple[str, str], Owed] = {}
    for row in rows:
        key = (row["program_id"], row["currency"])
        owed = found.setdefault(key, Owed(key[0], programs.get(key[0], key[0]), key[1]))
        period = Period.parse(row["period"])
        if period in closed:
            owed.settled += row["outstanding"]
        else:
            owed.open += row["outstanding"]
        owed.ages[age(period, today)] += row["outstanding"]
    return sorted(found.values(), key=lambda o: (-o.total, o.program))


def due(session, programs: dict[str, str]) -> list[Due]:
    """Settlements to submit for approval, largest first."""
    asked = select(ApprovalRow.subject_id).where(
        ApprovalRow.subject == Subject.SETTLEMENT.value,
        ApprovalRow.status.in_([Status.PENDING.value, Status.APPROVED.value]),
    )
    rows = session.scalars(select(SettlementRow).where(SettlementRow.id.not_in(asked))).all()
    owing = [(Decimal(r.payout) - Decimal(r.paid), r) for r in rows]
    owing = [(o, r) for o, r in owing if o > 0]
    names = names_of(session, {r.partner_id for _, r in owing})
    owing.sort(key=lambda pair: (-pair[0], pair[1].id))
    return [
        Due(
            settlement=r.id,
            partner_id=r.partner_id,
            partner=names.get(r.partner_id, r.partner_id),
            program=programs.get(r.program_id, r.program_id),
            period=r.period,
            currency=r.currency,
            owed=str(o),
        )
        for o, r in owing
    ]


def liability_lines(view: FinanceView) -> list[LiabilityLine]:
    names = ("program_id", "program", "currency", "open", "settled", "total")
    return [LiabilityLine(**{n: str(getattr(o, n)) for n in names}) for o in view.owed]


def _files(context: Context, batch: PayoutBatchRow) -> list[str]:
    if batch.status not in ("approved", "paid"):
        return []
    return [f.name for f in payouts.files(context.books, batch.id, context.books.clock().date())]
