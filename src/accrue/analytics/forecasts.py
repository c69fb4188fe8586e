"""Each open standing projected to its period's end — at the run rate, and at last year's
seasonal shape — with the projected tier and payout; and finance's projected liability."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from accrue.analytics.common import engine, over
from accrue.domain.aggregate import Aggregate
from accrue.domain.forecast import Projection, project, run_rate, seasonal_factor
from accrue.domain.money import ZERO
from accrue.domain.periods import Period
from accrue.domain.program import Kind, Program
from accrue.domain.standings import scope_of
from accrue.store.books import Books
from accrue.store.ledger import closed


@dataclass(frozen=True)
class Forecast:
    program_id: str
    partner_id: str
    period: str
    currency: str
    measure: Decimal
    amount: Decimal
    run_rate: Projection
    seasonal: Projection | None  # None without last year's data for this partner


def forecasts(books: Books, as_of: date) -> list[Forecast]:
    """Every standing of an open period containing `as_of` — all programs from three scans of
    the lines: this year's standings, this year's aggregates with last year's under this
    year's rules, and last year's up to the same day."""
    with books.session() as session:
        shut = closed(session)
        programs = [
            p
            for p in books.latest_programs(session).values()
            if p.kind is not Kind.POINTS
            and p.effective.contains(as_of)
            and Period.containing(p.period, as_of) not in shut
        ]
    if not programs:
        return []
    now = engine(books, until=as_of)
    shape = engine(books, until=as_of.replace(year=as_of.year - 1))
    last_year = [over(p, Period.containing(p.period, as_of).shifted_years(-1)) for p in programs]
    result = now.run(programs, as_of=as_of)
    cells = now.all_cells([*programs, *last_year])
    to_date = shape.all_cells(last_year)
    n = len(programs)
    return [
        forecast
        for i, program in enumerate(programs)
        for forecast in _program(program, as_of, result, cells[i], cells[n + i], to_date[i])
    ]


def _program(program: Program, as_of: date, result, cells, full_last_year, to_date_last_year):
    period = Period.containing(program.period, as_of)
    periods = result.periods[program.id]
    empty = Aggregate.empty(*program.shape)
    found = []
    for standing in result.for_program(program.id):
        if standing.period != period:
            continue
        key = (standing.partner_id, period)
        earlier_periods = [p for p in scope_of(program, period, periods) if p != period]
        earlier = sum((cells.get((standing.partner_id, p), empty) for p in earlier_periods), empty)
        last_year = (standing.partner_id, period.shifted_years(-1))
        baseline = cells.get(last_year) if program.needs_baseline else None
        current = cells.get(key, empty)
        factor = seasonal_factor(
            program, to_date_last_year.get(last_year, empty), full_last_year.get(last_year, empty)
        )
        found.append(
            Forecast(
                program.id,
                standing.partner_id,
                period.label,
                standing.currency,
                standing.measure or ZERO,
                standing.amount,
                project(program, current, earlier, baseline, run_rate(period, as_of)),
                project(program, current, earlier, baseline, factor) if factor else None,
            )
        )
    return found


def projected_liability(found: list[Forecast]) -> list[dict]:
    """By program: earned so far, and projected at period end at the run rate and seasonally
    (the run rate where a partner has no last year)."""
    totals: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for f in found:
        entry = totals[(f.program_id, f.period, f.currency)]
        entry[0] += f.amount
        entry[1] += f.run_rate.amount
        entry[2] += (f.seasonal or f.run_rate).amount
    return [
        {
            "program_id": p,
            "period": period,
            "currency": c,
            "earned": e,
            "run_rate": r,
            "seasonal": s,
        }
        for (p, period, c), (e, r, s) in sorted(totals.items())
    ]
