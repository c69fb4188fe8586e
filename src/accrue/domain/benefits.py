"""The benefit rules: which tier an aggregate reaches, what it earns, and the gap to the next.

Rules 2–6, 14, 15 and 18 of docs/rebate-semantics, applied to one aggregate at a time in
exact Decimal arithmetic; rounding to the cent happens later, once, on the standing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, localcontext

from accrue.domain.aggregate import Aggregate
from accrue.domain.money import ZERO, exactly, floor_to, quantum, readable_money, round_money
from accrue.domain.program import Base, Measure, Method, Program, Thresholds, Tier


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one aggregate earns. `tier` counts from 1; 0 means no tier reached."""

    measure: Decimal | None
    baseline: Decimal | None
    thresholds: tuple[Decimal, ...]
    tier: int
    amount: Decimal
    points: int
    status: str


@dataclass(frozen=True, slots=True)
class Gap:
    """How far the next tier is, in the measure's own unit, and what reaching it would pay."""

    tier: int
    tier_name: str | None
    threshold: Decimal
    needed: Decimal
    unit: str
    detail: str
    would_pay: Decimal | None


def measure_of(program: Program, agg: Aggregate) -> Decimal:
    q = agg.qualifying
    if program.measure is Measure.UNITS:
        return q.units
    if program.measure is Measure.AMOUNT:
        return q.amount
    if program.measure is Measure.MIX_SHARE:
        return agg.mix.amount / q.amount if q.amount > 0 else ZERO
    minimum = program.breadth.min_each  # type: ignore[union-attr]
    return Decimal(sum(1 for bucket in agg.buckets if bucket.amount >= minimum))


def thresholds_of(program: Program, baseline_measure: Decimal | None) -> tuple[Decimal, ...]:
    """Absolute thresholds; baseline ones (rule 15) are a share of last year's measure."""
    if program.thresholds is Thresholds.ABSOLUTE:
        return tuple(t.from_ for t in program.tiers)
    return tuple(t.from_ * (baseline_measure or ZERO) for t in program.tiers)


def weighted(program: Program, agg: Aggregate, quantity: str) -> Decimal:
    """Earning units or amount with multiplier windows applied (E7's off-season 1.5×)."""
    value = agg.earning.of(quantity)
    for multiplier, window in zip(program.multipliers, agg.windows, strict=True):
        value += (multiplier.factor - 1) * window.of(quantity)
    return value


def rate_base(program: Program, agg: Aggregate, baseline: Aggregate | None) -> Decimal:
    """What `rate` multiplies: the weighted earning amount, or its growth over the baseline."""
    if program.base is Base.GROWTH:
        grown = agg.earning.amount - (baseline.earning.amount if baseline else ZERO)
        return max(grown, ZERO)
    return weighted(program, agg, "amount")


@exactly
def evaluate(program: Program, agg: Aggregate, baseline: Aggregate | None) -> Outcome:
    measure = measure_of(program, agg)
    baseline_measure = measure_of(program, baseline) if baseline is not None else None
    if program.needs_baseline and (baseline_measure is None or baseline_measure <= 0):
        thresholds = thresholds_of(program, None)
        return Outcome(measure, baseline_measure, thresholds, 0, ZERO, 0, "no baseline")
    thresholds = thresholds_of(program, baseline_measure)
    tier = sum(1 for threshold in thresholds if measure >= threshold)
    base = rate_base(program, agg, baseline)
    units = weighted(program, agg, "units")
    points = _base_points(program, base) + sum(t.points or 0 for t in program.tiers[:tier])
    if tier:
        if program.method is Method.INCREMENTAL:
            amount = _incremental(program.tiers[:tier], thresholds, measure, base, units)
        else:
            amount = _tier_money(program.tiers[tier - 1], base, units)
        return Outcome(measure, baseline_measure, thresholds, tier, amount, points, "earning")
    if _in_pro_rata_band(program, measure, thresholds[0]):
        amount = _tier_money(program.tiers[0], base, units) * measure / thresholds[0]
        return Outcome(measure, baseline_measure, thresholds, 0, amount, points, "pro rata")
    return Outcome(measure, baseline_measure, thresholds, 0, ZERO, points, "below first tier")


def _base_points(program: Program, base: Decimal) -> int:
    if program.points is None:
        return 0
    return int(floor_to(base, program.points.per_amount)) * program.points.points


def _tier_money(tier: Tier, base: Decimal, units: Decimal) -> Decimal:
    return (tier.rate or ZERO) * base + (tier.per_unit or ZERO) * units + (tier.fixed or ZERO)


def _incremental(tiers, thresholds, measure, base, units) -> Decimal:
    """Rule 4: each tier's rate on the band of the measure between its `from` and the next's;
    the base (and units) are spread over the measure in proportion."""
    uppers = (*thresholds[1 : len(tiers)], measure)
    rate_bands = per_unit_bands = fixed = ZERO
    for tier, lower, upper in zip(tiers, thresholds, uppers, strict=False):
        band = min(upper, measure) - lower
        rate_bands += (tier.rate or ZERO) * band
        per_unit_bands += (tier.per_unit or ZERO) * band
        fixed += tier.fixed or ZERO
    if measure == 0:
        return fixed
    return (rate_bands * base + per_unit_bands * units) / measure + fixed


def _in_pro_rata_band(program: Program, measure: Decimal, first: Decimal) -> bool:
    floor = program.pro_rata_floor
    return floor is not None and first > 0 and measure >= floor * first


@exactly
def gap_to_next(program: Program, agg: Aggregate, baseline: Aggregate | None, outcome: Outcome):
    """The smallest extra purchase that reaches the next tier, and what that tier would pay."""
    if outcome.status == "no baseline" or outcome.tier >= len(program.tiers):
        return None
    tier = program.tiers[outcome.tier]
    threshold = outcome.thresholds[outcome.tier]
    found = _shortfall(program, agg, outcome.measure or ZERO, threshold)
    if found is None:
        return None
    needed, unit, detail, reached = found
    would_pay = None
    if reached is not None:
        would_pay = _money_or_points(program, evaluate(program, reached, baseline))
    return Gap(outcome.tier + 1, tier.name, threshold, needed, unit, detail, would_pay)


def _money_or_points(program: Program, outcome: Outcome) -> Decimal:
    if program.kind.value == "points":
        return Decimal(outcome.points)
    return round_money(outcome.amount, program.currency)


def _cents_up(value: Decimal, currency: str) -> Decimal:
    """What a partner must still buy: rounded up, and at least one cent when short."""
    return max(value.quantize(quantum(currency), rounding=ROUND_CEILING), quantum(currency))


def _scaled_up(agg: Aggregate, target: Decimal, measure: Decimal) -> Aggregate:
    """The same purchases scaled until the measure reaches `target`: rounding up, so a
    division's last digit never leaves the hypothetical a hair below the threshold."""
    with localcontext() as context:
        context.rounding = ROUND_CEILING
        return agg.scaled(target / measure)


def _shortfall(program: Program, agg: Aggregate, measure: Decimal, threshold: Decimal):
    """(needed, unit, detail, the aggregate with it added) for each kind of measure."""
    currency = program.currency
    if program.measure in (Measure.UNITS, Measure.AMOUNT):
        needed = threshold - measure
        if program.measure is Measure.AMOUNT:
            needed = _cents_up(needed, currency)
        unit = "units" if program.measure is Measure.UNITS else currency
        if measure > 0:
            reached = _scaled_up(agg, (measure + needed), measure)
        elif program.measure is Measure.AMOUNT:
            reached = agg.plus_purchases(needed)
        else:
            reached = None
        return needed, unit, f"more {'units' if unit == 'units' else 'purchases'}", reached
    if program.measure is Measure.MIX_SHARE:
        if threshold >= 1:
            return None
        raw = (threshold * agg.qualifying.amount - agg.mix.amount) / (1 - threshold)
        needed = _cents_up(raw, currency)
        return needed, currency, "more in the mix products", agg.plus_purchases(needed, mix=True)
    return _breadth_shortfall(program, agg, int(threshold))


def _breadth_shortfall(program: Program, agg: Aggregate, buckets_needed: int):
    """The cheapest buckets still short, each what it needs as money like any other gap
    (rounded up to the minor unit, written with its currency)."""
    breadth, currency = program.breadth, program.currency
    assert breadth is not None
    short = sorted(
        (_cents_up(breadth.min_each - bucket.amount, currency), i)
        for i, bucket in enumerate(agg.buckets)
        if bucket.amount < breadth.min_each
    )
    missing = buckets_needed - (len(agg.buckets) - len(short))
    if missing > len(short):
        return None
    reached, needed, names = agg, ZERO, []
    for amount, index in short[:missing]:
        reached = reached.plus_purchases(amount, bucket=index)
        needed += amount
        names.append(f"{readable_money(amount, currency)} in {breadth.values[index]}")
    return needed, currency, "; ".join(names), reached
