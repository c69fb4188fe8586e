"""The partner's landing page: what was earned, is waiting and was paid, the best next moves,
then every program's card under the kind of period it runs over."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from accrue.api.security import Context
from accrue.domain.approvals import Status, Subject
from accrue.domain.periods import Period, PeriodKind
from accrue.store.tables import ApprovalRow, SettlementRow
from accrue.web import views
from accrue.web.views import Card

MOVES = 3
HEADINGS = {
    PeriodKind.MONTH: "Monthly programs",
    PeriodKind.QUARTER: "Quarterly programs",
    PeriodKind.HALF: "Half-year programs",
    PeriodKind.YEAR: "Yearly programs",
}


@dataclass(frozen=True)
class Totals:
    """Money by currency: earned in the running periods, settled and waiting, paid."""

    earned: dict[str, Decimal]
    pending: dict[str, Decimal]
    paid: dict[str, Decimal]
    next_payment: date | None
    next_payment_why: str


@dataclass(frozen=True)
class Landing:
    totals: Totals
    moves: list[Card]
    groups: list[tuple[str, str, list[Card]]]  # (heading, periods, cards)


def landing(context: Context, today: date, partner: str | None) -> Landing:
    found = views.cards(context, today, partner)
    with context.books.session() as session:
        family = views.chosen(context, session, partner)
        settled = session.scalars(
            views.scoped(context, select(SettlementRow), family, SettlementRow.partner_id)
        ).all()
        approved = set(session.scalars(_approved(settled)))
    totals = _totals(found, settled, approved)
    return Landing(totals, best_moves(found), by_period_kind(found))


def _approved(settled: list[SettlementRow]):
    return select(ApprovalRow.subject_id).where(
        ApprovalRow.subject == Subject.SETTLEMENT.value,
        ApprovalRow.status == Status.APPROVED.value,
        ApprovalRow.subject_id.in_([s.id for s in settled]),
    )


def _totals(found: list[Card], settled: list[SettlementRow], approved: set[int]) -> Totals:
    earned, pending, paid = defaultdict(Decimal), defaultdict(Decimal), defaultdict(Decimal)
    for card in found:
        if card.kind == "rebate":
            earned[card.currency] += Decimal(card.amount)
    owed_approved = False
    for row in settled:
        paid[row.currency] += Decimal(row.paid)
        owed = Decimal(row.payout) - Decimal(row.paid)
        if owed > 0 and row.id in approved:
            owed_approved = True
        elif owed > 0:
            pending[row.currency] += owed
    when, why = _next_payment(found, owed_approved)
    return Totals(dict(earned), dict(pending), dict(paid), when, why)


def _next_payment(found: list[Card], owed_approved: bool) -> tuple[date | None, str]:
    """Approved settlements go out with the next payout batch; otherwise what is earned now is
    settled when its period closes, the day after it ends."""
    if owed_approved:
        return None, "approved settlements go out with finance's next payout batch"
    ends = {Period.parse(c.period).end for c in found if c.kind == "rebate" and Decimal(c.amount)}
    if not ends:
        return None, "nothing earned is waiting to be settled"
    end = min(ends)
    labels = sorted({c.period for c in found if Period.parse(c.period).end == end})
    closes = "closes" if len(labels) == 1 else "close"
    return end + timedelta(days=1), f"when {' and '.join(labels)} {closes}"


def best_moves(found: list[Card]) -> list[Card]:
    """The cards where the least still to go gains the most, best first (`cards` ranks them)."""
    return [c for c in found if c.gain and c.gain > 0 and c.gap][:MOVES]


def by_period_kind(found: list[Card]) -> list[tuple[str, str, list[Card]]]:
    """The cards under the kind of period they run over (monthly first), in their order."""
    grouped: dict[PeriodKind, list[Card]] = defaultdict(list)
    for card in found:
        grouped[Period.parse(card.period).kind].append(card)
    return [
        (HEADINGS[kind], ", ".join(sorted({c.period for c in grouped[kind]})), grouped[kind])
        for kind in PeriodKind
        if grouped[kind]
    ]
