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


def _latest(programs: list[Program]) -> list[Program]:
    newest: dict[str, Program] = {}
    for program in programs:
        if (
            program.kind is not Kind.POINTS
            and program.version >= newest.get(program.id, program).version
        ):
            newest[program.id] = program
    return [newest[key] for key in sorted(newest)]


def forecasts(books: Books, as_of: date) -> list[Forecast]:
    """Every standing of an open period containing `as_of`."""
    with books.session() as session:
        programs = _latest(books.programs(session))
        shut = closed(session)
    now = engine(books, until=as_of)
    shape = engine(books, until=as_of.replace(year=as_of.year - 1))
    found = []
    for program in programs:
        period = Period.containing(program.period, as_of)
        if period in shut or not program.effective.contains(as_of):
            continue
        found += _program(program, period, as_of, now, shape)
    return found


def _program(program: Program, period: Period, as_of: date, now, shape) -> list[Forecast]:
    result = now.run([program], as_of=as_of)
    last_year_rules = over(program, period.shifted_years(-1))  # last year under this year's rules
    cells = now.cells(program)
    full_last_year, to_date_last_year = now.cells(last_year_rules), shape.cells(last_year_rules)
    periods = result.periods[program.id]
    empty = Aggregate.empty(*program.shape)
    found = []
    for standing in result.for_program(program.id):
        if standing.period != period:
            continue
        key = (standing.partner_id, period)
        earlier_periods = [p for p in scope_of(program, period, periods) if p != period]
        earlier = sum((cells.get((standing.partner_id, p), empty) for p in earlier_periods), empty)
        baseline = (
            cells.get((standing.partner_id, period.shifted_years(-1)))
            if program.needs_baseline
            else None
        )
        current = cells.get(key, empty)
        last_year = (standing.partner_id, period.shifted_years(-1))
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
