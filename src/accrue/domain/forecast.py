"""Forecasts of a standing to its period's end: the run rate (what has been bought, at the
pace so far) and the season (at last year's shape: the share of last year's period that was
bought after this day)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from accrue.domain.aggregate import Aggregate
from accrue.domain.benefits import evaluate
from accrue.domain.money import ZERO, round_half_up, round_money
from accrue.domain.periods import Period
from accrue.domain.program import Kind, Measure, Program

UNIT_PLACES = 3  # a projected unit measure is shown to thousandths


@dataclass(frozen=True, slots=True)
class Projection:
    """A standing as it would be at period end."""

    measure: Decimal
    tier: int
    amount: Decimal


def run_rate(period: Period, as_of: date) -> Fraction:
    """Days in the period over days elapsed, as an exact fraction."""
    return Fraction(period.days, period.days_elapsed(as_of))


def seasonal_factor(
    program: Program, to_date_last_year: Aggregate, full_last_year: Aggregate
) -> Decimal | None:
    """Last year's full period over last year's same days; None without last year's data."""
    quantity = "units" if program.measure is Measure.UNITS else "amount"
    done = to_date_last_year.qualifying.of(quantity)
    if done <= 0:
        return None
    return full_last_year.qualifying.of(quantity) / done


def project(
    program: Program,
    current: Aggregate,
    earlier: Aggregate,
    baseline: Aggregate | None,
    factor: Decimal | Fraction,
) -> Projection:
    """The standing if this period's purchases grow by `factor` and nothing else changes."""
    outcome = evaluate(program, earlier + current.scaled(factor), baseline)
    amount = Decimal(outcome.points) if program.kind is Kind.POINTS else outcome.amount
    measure = _shown(program, outcome.measure or ZERO)
    return Projection(measure, outcome.tier, round_money(amount, program.currency))


def _shown(program: Program, measure: Decimal) -> Decimal:
    """A projected money measure to the minor unit, units to thousandths: a forecast, not a
    sum, so sixty digits of a run-rate division would only be noise."""
    if program.measure is Measure.AMOUNT:
        return round_money(measure, program.currency)
    if program.measure is Measure.UNITS:
        return round_half_up(measure, UNIT_PLACES)
    return measure
