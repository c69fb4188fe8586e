"""Standings: every program × partner × period, from aggregates to what is paid and when.

The sequence for one program is: evaluate each period (cumulatively for year-to-date and
program-to-date programs, rule 8), cap the period's increase (rule 7), keep only the best
program of an exclusive group (rule 9), share a budget pro rata, then pay what is due while
holding amounts under the minimum payout as carried forward (rule 7).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

from accrue.domain.aggregate import Aggregate, Sums, total
from accrue.domain.benefits import Gap, Outcome, evaluate, gap_to_next, thresholds_of
from accrue.domain.forecast import Projection, project, run_rate
from accrue.domain.money import ZERO, allocate, exactly, round_money
from accrue.domain.periods import Period
from accrue.domain.program import Evaluation, Kind, Method, Program
from accrue.domain.settlement import settle

Cells = Mapping[tuple[str, Period], Aggregate]


@dataclass(frozen=True, slots=True)
class Standing:
    program_id: str
    version: int
    partner_id: str
    period: Period
    currency: str
    kind: Kind
    measure: Decimal | None
    baseline: Decimal | None
    tier: int
    tier_name: str | None
    status: str
    earned: Decimal  # rounded; year- or program-to-date for cumulative evaluation
    increment: Decimal  # this period's change in what is earned, before caps
    cap_excess: Decimal
    amount: Decimal  # this period's entitlement after caps, stacking and budget
    carried_in: Decimal
    payout: Decimal  # what is due now: the amount plus anything carried in, unless held
    carried_out: Decimal
    points: int  # awarded this period (the change, for cumulative evaluation)
    gap: Gap | None
    projection: Projection | None
    note: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.program_id, self.partner_id, self.period.label)


@exactly
def standings_for(
    program: Program,
    cells: Cells,
    periods: list[Period],
    as_of: date | None = None,
) -> list[Standing]:
    """Evaluate and cap every partner's periods; stacking and payouts come after (finish)."""
    partners = sorted({partner for partner, _ in cells})
    drafts = [
        standing
        for partner in partners
        for standing in _partner_periods(program, cells, partner, periods, as_of)
    ]
    return share_budget(program, drafts)


@exactly
def finish(standings: Iterable[Standing], programs: Mapping[str, Program]) -> list[Standing]:
    """Apply exclusive groups across programs, then the payout sequence of each program."""
    stacked = apply_exclusive_groups(list(standings), programs)
    by_series: dict[tuple[str, str], list[Standing]] = defaultdict(list)
    for standing in stacked:
        by_series[(standing.program_id, standing.partner_id)].append(standing)
    paid = []
    for (program_id, _), series in sorted(by_series.items()):
        paid.extend(_pay(programs[program_id], sorted(series, key=lambda s: s.period)))
    return paid


def scope_of(program: Program, period: Period, periods: list[Period]) -> list[Period]:
    """The reported periods whose lines a period's evaluation adds up (rule 8, E19)."""
    if program.evaluation is Evaluation.PERIOD:
        return [period]
    if program.evaluation is Evaluation.YEAR_TO_DATE:
        return [p for p in periods if p.year == period.year and p <= period]
    return [p for p in periods if p <= period]


def _cumulative(program: Program, cells: Cells, partner: str, scope: list[Period]) -> Aggregate:
    empty = Aggregate.empty(*program.shape)
    if len(scope) == 1:
        return cells.get((partner, scope[0]), empty)
    return total([empty, *(cells.get((partner, p), empty) for p in scope)])


def _partner_periods(program, cells, partner, periods, as_of) -> list[Standing]:
    standings, earned_before, points_before, paid_to_date = [], ZERO, 0, ZERO
    for period in periods:
        scope = scope_of(program, period, periods)
        agg = _cumulative(program, cells, partner, scope)
        baseline = None
        if program.needs_baseline:
            baseline = _cumulative(program, cells, partner, [p.shifted_years(-1) for p in scope])
        outcome = evaluate(program, agg, baseline)
        earned = round_money(outcome.amount, program.currency)
        # A cumulative period pays what it adds to the periods before it in its scope.
        cumulative = len(scope) > 1
        increment = earned - earned_before if cumulative else earned
        points = outcome.points - points_before if cumulative else outcome.points
        capped = _cap(program, increment)
        active = cells.get((partner, period), Aggregate()).earning != Sums()
        entitled = _guaranteed(program, capped, paid_to_date, len(standings) + 1, active)
        paid_to_date += entitled
        standings.append(
            Standing(
                program_id=program.id,
                version=program.version,
                partner_id=partner,
                period=period,
                currency=program.currency,
                kind=program.kind,
                measure=outcome.measure,
                baseline=outcome.baseline,
                tier=outcome.tier,
                tier_name=_tier_name(program, outcome),
                status=outcome.status,
                earned=earned,
                increment=increment,
                cap_excess=increment - capped,
                amount=entitled if program.kind is not Kind.POINTS else ZERO,
                payout=entitled if program.kind is not Kind.POINTS else ZERO,
                carried_in=ZERO,
                carried_out=ZERO,
                points=points,
                gap=gap_to_next(program, agg, baseline, outcome),
                projection=_project(program, cells, partner, period, scope, baseline, as_of),
                note="guaranteed minimum applied" if entitled != capped else "",
            )
        )
        earned_before, points_before = earned, outcome.points
    return standings


def earning_rates(program: Program, standing: Standing) -> tuple[Fraction, Fraction]:
    """What a line earns per unit of its (converted) amount and per unit of its quantity under
    the tier that applies, so each line's share follows what it earned (rule 1's "each line
    that earned it") when a tier pays a rate and an amount per unit. A lump sum (and pro-rata
    or guarantee scaling) follows those earnings; a tier paying a lump sum alone is shared by
    amount, or by units when every tier pays per unit."""
    tier, measure = standing.tier, standing.measure
    rate = per_unit = Fraction(0)
    if tier and program.method is Method.INCREMENTAL and measure:
        thresholds = thresholds_of(program, standing.baseline)
        uppers = (*thresholds[1:tier], measure)
        for t, lower, upper in zip(program.tiers[:tier], thresholds, uppers, strict=False):
            band = Fraction(min(upper, measure) - lower)  # the /measure both share is dropped
            rate += Fraction(t.rate or ZERO) * band
            per_unit += Fraction(t.per_unit or ZERO) * band
    elif tier or standing.status == "pro rata":
        applying = program.tiers[max(tier, 1) - 1]
        rate, per_unit = Fraction(applying.rate or ZERO), Fraction(applying.per_unit or ZERO)
    if rate or per_unit:
        return rate, per_unit
    return (Fraction(0), Fraction(1)) if program.pays_per_unit_only else (Fraction(1), Fraction(0))


def _tier_name(program: Program, outcome: Outcome) -> str | None:
    if not outcome.tier:
        return None
    return program.tiers[outcome.tier - 1].name or f"Tier {outcome.tier}"


def _cap(program: Program, increment: Decimal) -> Decimal:
    """The period's increase, at most the cap; a capped amount is money like any other, at the
    currency's minor unit (1000.00, not the cap as written)."""
    cap = program.caps.per_partner_period
    return min(increment, round_money(cap, program.currency)) if cap is not None else increment


def _guaranteed(program: Program, amount, before, periods: int, active: bool) -> Decimal:
    """Rule 18: top the period up to the guarantee, or the running total to guarantee × n.
    Only a period in which the partner bought something earning is topped up, so every cent
    still traces to lines."""
    guarantee = program.guarantee
    if guarantee is None or not active:
        return amount
    floor = (
        guarantee.per_period * periods - before if guarantee.cumulative else guarantee.per_period
    )
    return max(amount, round_money(floor, program.currency))


def _project(program, cells, partner, period, scope, baseline, as_of) -> Projection | None:
    if as_of is None or as_of < period.start:
        return None
    current = cells.get((partner, period), Aggregate.empty(*program.shape))
    earlier = _cumulative(program, cells, partner, [p for p in scope if p != period])
    return project(program, current, earlier, baseline, run_rate(period, as_of))


def share_budget(program: Program, standings: list[Standing]) -> list[Standing]:
    """A program budget per period is shared pro rata to what each partner earned, to the
    cent by largest remainder (ties by partner id), so no partner's order matters: after
    every partner's standing is known, whichever rules computed them."""
    budget = program.caps.budget_per_period
    if budget is None:
        return standings
    by_period: dict[Period, list[int]] = defaultdict(list)
    for i, standing in enumerate(standings):
        by_period[standing.period].append(i)
    result = list(standings)
    for indices in by_period.values():
        indices.sort(key=lambda i: standings[i].partner_id)
        positive = [i for i in indices if standings[i].amount > 0]
        claimed = sum((standings[i].amount for i in positive), ZERO)
        if claimed <= budget:
            continue
        weights = [standings[i].amount for i in positive]
        for i, share in zip(positive, allocate(budget, weights, program.currency), strict=True):
            cut = standings[i].amount - share
            result[i] = replace(
                standings[i],
                amount=share,
                payout=share,
                cap_excess=standings[i].cap_excess + cut,
                note=f"program budget {budget} shared pro rata",
            )
    return result


def apply_exclusive_groups(
    standings: list[Standing], programs: Mapping[str, Program]
) -> list[Standing]:
    """Rule 9: in an exclusive group only the best-paying program pays a partner for a period
    (ties: the first program id); the others say why they paid nothing."""
    contenders: dict[tuple[str, str, Period], list[int]] = defaultdict(list)
    for i, standing in enumerate(standings):
        group = programs[standing.program_id].exclusive_group
        if group:
            contenders[(group, standing.partner_id, standing.period)].append(i)
    result = list(standings)
    for (group, _, _), indices in contenders.items():
        best = min(indices, key=lambda i: (-standings[i].amount, standings[i].program_id))
        for i in indices:
            if i != best and standings[i].amount:
                result[i] = replace(
                    standings[i],
                    amount=ZERO,
                    payout=ZERO,
                    status="excluded",
                    note=f"exclusive group {group}: {standings[best].program_id} pays more",
                )
    return result


def _pay(program: Program, series: list[Standing]) -> list[Standing]:
    """Pay what is due; hold a positive amount under the minimum as carried forward."""
    paid, carried = [], ZERO
    for standing in series:
        settled = settle(carried, standing.amount, program.minimum_payout)
        if settled.carried_out or carried:  # otherwise the draft already pays its amount
            standing = replace(
                standing, carried_in=carried, payout=settled.payout, carried_out=settled.carried_out
            )
        carried = settled.carried_out
        paid.append(standing)
    return paid
