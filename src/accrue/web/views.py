"""What each page shows, gathered from the books for one viewer (already scoped)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from accrue.api.security import Context
from accrue.domain.funds import available
from accrue.domain.periods import Period, PeriodKind, running
from accrue.domain.program import Kind
from accrue.report import readable_gap
from accrue.store.funds import tranches
from accrue.store.tables import (
    AlertRow,
    ClaimLineRow,
    ClaimRow,
    DisputeRow,
    PartnerRow,
    ProgramVersionRow,
    RepRow,
    StandingRow,
    UserRow,
)


@dataclass(frozen=True)
class Card:
    """One program for one partner in the current period: where it stands and what is next."""

    program: str
    program_name: str
    partner: str
    partner_name: str
    period: str
    currency: str
    tier_name: str | None
    measure: Decimal
    amount: str
    gap: Decimal | None
    gap_unit: str | None
    next_pays: str | None
    projected: str | None
    progress: int | None  # percent of the way to the next tier; None where no bar is honest
    gap_text: str | None
    history: str  # JSON for the chart: [[period, amount], ...]
    kind: str  # rebate (money), points or fund (market development funds)
    points: int
    fund: Fund | None  # a fund's balance and when it runs out

    @property
    def gain(self) -> Decimal | None:
        """What reaching the next tier adds to what is earned (points for a points program)."""
        if self.next_pays is None:
            return None
        now = self.points if self.kind == "points" else Decimal(self.amount)
        return Decimal(self.next_pays) - now

    @property
    def rank(self) -> tuple:
        """The best next move first: money before points (not worth the same), the most value
        per unit still to go first, top tiers reached last."""
        return (self.gap is None, self.kind == "points", -self.gain_per_gap)

    @property
    def gain_per_gap(self) -> Decimal:
        """Value gained per unit of the way still to go: the best next move ranks first."""
        if not self.gain or not self.gap:
            return Decimal(0)
        return self.gain / self.gap


@dataclass(frozen=True)
class Fund:
    available: Decimal
    expires_on: date | None  # the first day funds still usable run out


def cards(context: Context, today: date, partner: str | None = None) -> list[Card]:
    """The standings in the periods running today, with their history, of the viewer's
    partners — or, for staff who see everyone, of the partner they chose (and its branches)."""
    key = ("cards", context.user.username, today, partner)
    return context.books.remembered(key, lambda: _cards(context, today, partner))


def _cards(context: Context, today: date, partner: str | None) -> list[Card]:
    with context.books.session() as session:
        family = chosen(context, session, partner)
        if family is not None and not family:
            return []
        running_now = StandingRow.period.in_(running(today))
        current = session.scalars(
            scoped(context, select(StandingRow), family).where(running_now)
        ).all()
        earned = session.execute(
            scoped(
                context,
                select(
                    StandingRow.program_id,
                    StandingRow.partner_id,
                    StandingRow.period,
                    StandingRow.amount,
                ),
                family,
            )
        ).all()
        names = names_of(session, {row.partner_id for row in current})
        titles = {  # the newest version of each program shown: ordered by version, last wins
            key: json.loads(document)
            for key, document in session.execute(
                select(ProgramVersionRow.program_id, ProgramVersionRow.document)
                .where(ProgramVersionRow.program_id.in_({row.program_id for row in current}))
                .order_by(ProgramVersionRow.version)
            )
        }
        fund_keys = [
            (r.program_id, r.partner_id)
            for r in current
            if json.loads(r.detail).get("kind") == Kind.FUND.value
        ]
        funds = funds_of(context, session, fund_keys, today)
    history: dict[tuple[str, str], list] = defaultdict(list)
    # one program's periods are all of one kind, so their labels sort as their dates do
    for program, partner, period, amount in sorted(earned, key=lambda r: r[2]):
        history[(program, partner)].append([period, amount])
    found = [_card(row, names, titles, history, funds) for row in current]
    return sorted(found, key=lambda c: (*c.rank, c.partner, c.program))


def funds_of(context: Context, session, keys, today: date) -> dict[tuple[str, str], Fund]:
    """(program, partner) → the fund's balance on `today` and when its oldest funds run out."""
    found = {}
    for program_id, partner_id in keys:
        program = context.books.program(session, program_id)
        usable = [t for t in tranches(session, program, partner_id) if t.usable_on(today)]
        expiries = [t.expires_on for t in usable if t.remaining > 0 and t.expires_on]
        found[(program_id, partner_id)] = Fund(
            available(usable, today), min(expiries, default=None)
        )
    return found


def names_of(session, partner_ids) -> dict[str, str]:
    query = select(PartnerRow.id, PartnerRow.name).where(PartnerRow.id.in_(sorted(partner_ids)))
    return dict(session.execute(query).tuples().all())


def people_names(session) -> dict[str, str]:
    """Each user as their name, with the login beside it when the two differ."""
    rows = session.execute(select(UserRow.username, UserRow.name)).tuples().all()
    return {login: name if name == login else f"{name} ({login})" for login, name in rows}


def program_names(books, session) -> dict[str, str]:
    """Each program's id → the name of its newest version."""
    return {key: program.name for key, program in books.latest_programs(session).items()}


def chosen(context: Context, session, partner: str | None) -> list[str] | None:
    """None: the viewer's own scope; a list: the partner chosen by staff and its branches."""
    if context.user.scope.partners is not None:
        return None
    tree = context.books.tree(session)
    return sorted(tree.under({partner})) if partner and partner in tree else []


def scoped(context: Context, query, family: list[str] | None, column=StandingRow.partner_id):
    """`query` narrowed to the viewer's partners, or to the `family` staff chose."""
    if family is None:
        return context.visible(query, column)
    return query.where(column.in_(family))


def _card(row: StandingRow, names: dict, titles: dict, history: dict, funds: dict) -> Card:
    detail = json.loads(row.detail)
    measure = Decimal(detail["measure"] or 0)
    gap = Decimal(detail["gap_needed"]) if detail.get("gap_needed") else None
    program = titles.get(row.program_id, {})
    if program.get("measure") == "mix_share" and gap is not None:
        progress = None  # a share against money to buy: no honest bar
    else:
        progress = (
            100 if gap is None else int(measure * 100 / (measure + gap)) if measure + gap else 0
        )
    return Card(
        row.program_id,
        program.get("name", row.program_id),
        row.partner_id,
        names.get(row.partner_id, row.partner_id),
        row.period,
        row.currency,
        detail.get("tier_name"),
        measure,
        detail["amount"],
        gap,
        detail.get("gap_unit"),
        detail.get("next_tier_pays"),
        detail.get("projected_amount"),
        None if progress is None else max(0, min(progress, 100)),
        None if gap is None else readable_gap(gap, detail.get("gap_unit"), row.currency),
        json.dumps(history[(row.program_id, row.partner_id)][-8:]),
        detail.get("kind", Kind.REBATE.value),
        row.points,
        funds.get((row.program_id, row.partner_id)),
    )


def statement_periods(context: Context, today: date) -> list[tuple[str, str, str]]:
    """(partner, name, quarter) for each partner the viewer answers for, this quarter and the
    three before it."""
    partners = context.user.scope.partners
    own = [context.user.partner_id] if context.user.partner_id else sorted(partners or [])[:1]
    with context.books.session() as session:
        names = names_of(session, own)
    quarter = Period.containing(PeriodKind.QUARTER, today)
    periods = [quarter]
    for _ in range(3):
        periods.append(periods[-1].previous())
    return [(p, names.get(p, p), q.label) for p in own if p for q in periods]


def alerts(context: Context, today: date) -> list[AlertRow]:
    """Alerts for the viewer's partners in periods running today, newest first."""
    query = context.visible(select(AlertRow), AlertRow.partner_id)
    with context.books.session() as session:
        return list(
            session.scalars(
                query.where(AlertRow.period.in_(running(today))).order_by(AlertRow.id.desc())
            )
        )


def rep_points(context: Context, today: date) -> list[tuple[str, str, int, int]]:
    """(program name, period, points this period, points this year) the rep earned through the
    partners assigned to them (E16)."""
    if not context.user.rep_id:
        return []
    with context.books.session() as session:
        rep = session.get(RepRow, context.user.rep_id)
        assigned = json.loads(rep.partner_ids) if rep else []
        rows = session.execute(
            select(StandingRow.program_id, StandingRow.period, StandingRow.points).where(
                StandingRow.partner_id.in_(assigned), StandingRow.points != 0
            )
        ).all()
        names = program_names(context.books, session)
    now = set(running(today))
    this_year: dict[str, int] = defaultdict(int)
    current: dict[str, tuple[str, int]] = {}
    for program, period, points in rows:
        if Period.parse(period).year == today.year:
            this_year[program] += points
        if period in now:
            label, before = current.get(program, (period, 0))
            current[program] = (label, before + points)
    return [
        (names.get(p, p), current.get(p, ("", 0))[0], current.get(p, ("", 0))[1], this_year[p])
        for p in sorted(this_year)
    ]


def claims(context: Context) -> tuple[list[tuple[ClaimRow, list[ClaimLineRow]]], list[DisputeRow]]:
    """The viewer's partners' claims, newest first, each with its answered lines; and their
    disputes."""
    with context.books.session() as session:
        found = session.scalars(
            context.visible(select(ClaimRow), ClaimRow.partner_id)
            .order_by(ClaimRow.id.desc())
            .limit(50)
        ).all()
        lines = defaultdict(list)
        for line in session.scalars(
            select(ClaimLineRow)
            .where(ClaimLineRow.claim_id.in_([c.id for c in found]))
            .order_by(ClaimLineRow.line_no)
        ):
            lines[line.claim_id].append(line)
        disputes = session.scalars(
            context.visible(select(DisputeRow), DisputeRow.partner_id).order_by(
                DisputeRow.id.desc()
            )
        ).all()
    return [(claim, lines[claim.id]) for claim in found], list(disputes)
