"""The program manager's landing page: every program's health in its running period, from the
standings and disputes the books hold (no forecast run: the standings carry their projection)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from accrue.domain.ledger import JournalKind
from accrue.domain.periods import Period
from accrue.domain.program import Kind, Measure, Program
from accrue.store.books import Books
from accrue.store.tables import DisputeRow, JournalRow, PartnerRow, StandingRow
from accrue.web.pages import page, pages
from accrue.web.session import Viewer


@dataclass(frozen=True)
class Health:
    """One program in its running period. Rates are fractions; None where not meaningful."""

    program: Program
    period: str
    eligible: int  # partners the program enrols, at the level its standings are kept
    buying: int  # of them, those with a measure above zero this period
    qualifying: int  # those with a tier reached
    earned: Decimal  # money, or points for a points program
    revenue: Decimal | None  # what they bought, where the program measures money
    projected: Decimal
    disputes: int  # disputes about the program, ever
    disputed_partners: int
    partners_ever: int  # partners with a standing in any period
    paid_after: tuple[int, ...] = ()  # days from each paid settlement's period end to payment
    terms: int = 60  # days within which a payment is on time

    @property
    def days_to_pay(self) -> int | None:
        """The median of `paid_after`; None when nothing was paid."""
        ordered = sorted(self.paid_after)
        return ordered[len(ordered) // 2] if ordered else None

    @property
    def on_time(self) -> Decimal | None:
        """The share of payments made within the terms."""
        return _share(sum(days <= self.terms for days in self.paid_after), len(self.paid_after))

    @property
    def participation(self) -> Decimal | None:
        return _share(self.buying, self.eligible)

    @property
    def average(self) -> Decimal | None:
        """Earned per qualifying partner."""
        return self.earned / self.qualifying if self.qualifying else None

    @property
    def cost_share(self) -> Decimal | None:
        return _share(self.earned, self.revenue)

    @property
    def budget(self) -> Decimal | None:
        return self.program.caps.budget_per_period

    @property
    def budget_used(self) -> Decimal | None:
        return _share(self.earned, self.budget)

    @property
    def budget_forecast(self) -> Decimal | None:
        return _share(self.projected, self.budget)

    @property
    def dispute_rate(self) -> Decimal | None:
        """Partners who disputed something of the program, of those it ever had."""
        return _share(self.disputed_partners, self.partners_ever)


def _share(part, whole) -> Decimal | None:
    return Decimal(part) / Decimal(whole) if whole else None


SHOWN = (
    StandingRow.program_id,
    StandingRow.period,
    StandingRow.amount,
    StandingRow.points,
    StandingRow.detail,
)


def health(books: Books, today: date) -> list[Health]:
    """Every program in effect today, by name."""
    with books.session() as session:
        programs = [
            p for p in books.latest_programs(session).values() if p.effective.contains(today)
        ]
        periods = {p.id: Period.containing(p.period, today).label for p in programs}
        current = session.execute(  # columns, not ORM rows: thousands are read each time
            select(*SHOWN).where(StandingRow.period.in_(set(periods.values())))
        ).all()
        ever = dict(
            session.execute(
                select(
                    StandingRow.program_id, func.count(StandingRow.partner_id.distinct())
                ).group_by(StandingRow.program_id)
            )
            .tuples()
            .all()
        )
        disputes = session.execute(
            select(
                DisputeRow.program_id,
                func.count(DisputeRow.id),
                func.count(DisputeRow.partner_id.distinct()),
            ).group_by(DisputeRow.program_id)
        ).all()
        partners = session.scalars(select(PartnerRow)).all()
        tree = books.tree(session)
        paid = _paid_after(session)
    terms = books.settings.payment_terms_days
    rows = defaultdict(list)
    for row in current:
        if periods.get(row.program_id) == row.period:
            rows[row.program_id].append(row)
    disputed = {program: (n, who) for program, n, who in disputes}
    return [
        replace(
            _health(p, periods[p.id], rows[p.id], _eligible(p, partners, tree), ever, disputed),
            paid_after=tuple(paid[p.id]),
            terms=terms,
        )
        for p in sorted(programs, key=lambda p: p.name)
    ]


def _paid_after(session) -> dict[str, list[int]]:
    """Days from each period's end to the day its settlement was paid, by program: every
    payout journal that was not reversed."""
    reversed_ = select(JournalRow.reverses).where(JournalRow.reverses.is_not(None))
    rows = session.execute(
        select(JournalRow.program_id, JournalRow.period, JournalRow.posted_on).where(
            JournalRow.kind == JournalKind.PAYOUT.value, JournalRow.id.not_in(reversed_)
        )
    ).all()
    found: dict[str, list[int]] = defaultdict(list)
    for program_id, period, posted_on in rows:
        found[program_id].append((posted_on - Period.parse(period).end).days)
    return found


def _health(program: Program, period: str, rows, eligible: int, ever, disputed) -> Health:
    details = [json.loads(r.detail) for r in rows]
    money = program.measure is Measure.AMOUNT
    return Health(
        program,
        period,
        eligible,
        sum(Decimal(d["measure"] or 0) > 0 for d in details),
        sum((d.get("tier") or 0) > 0 for d in details),
        _earned(program, rows),
        sum((Decimal(d["measure"] or 0) for d in details), Decimal(0)) if money else None,
        sum(
            (
                Decimal(d.get("projected_amount") or r.amount)
                for d, r in zip(details, rows, strict=True)
            ),
            Decimal(0),
        ),
        disputed.get(program.id, (0, 0))[0],
        disputed.get(program.id, (0, 0))[1],
        ever.get(program.id, 0),
    )


def _earned(program: Program, rows) -> Decimal:
    """Money earned, or points for a points program."""
    if program.kind is Kind.POINTS:
        return Decimal(sum(r.points for r in rows))
    return sum((Decimal(r.amount) for r in rows), Decimal(0))


def _eligible(program: Program, partners: list[PartnerRow], tree) -> int:
    """The partners the program's lists enrol, counted where its standings are kept: every
    partner when it does not roll up, otherwise the tops of the trees."""
    rules = program.eligibility
    enrolled = tree.under(set(rules.partners)) if rules.partners else None
    excluded = tree.under(set(rules.exclude.partners))
    return sum(
        (program.rollup == "self" or p.parent_id is None)
        and (enrolled is None or p.id in enrolled)
        and (not rules.segments or p.segment in rules.segments)
        and (not rules.regions or p.region in rules.regions)
        and p.id not in excluded
        for p in partners
    )


@pages.read("/programs", "analytics:read", response_class=HTMLResponse)
def programs(request: Request, viewer: Viewer):
    """Is each program working: participation, qualifying partners, cost, budget, disputes,
    and how soon its settlements are paid."""
    found = health(viewer.books, viewer.books.clock().date())
    terms = viewer.books.settings.payment_terms_days
    return page(request, "health.html", user=viewer.user, programs=found, terms=terms)
