"""The per-standing rules inside the plan: tier, earned amount, cap, gap to the next tier and
projection for every partner × period at once, in exact integer arithmetic.

Covered here: units or amount measures with absolute thresholds, retroactive and incremental
tiers paying a rate, an amount per unit, a fixed sum and points, multiplier windows, the
pro-rata floor, the per-partner cap, period, year-to-date and program-to-date evaluation
(rule 8), in the program's currency (lines in others converted exactly: plan.Conversion).
Budgets, stacking (exclusive groups) and carry-forward apply afterwards to every standing
alike. Thresholds may be shares of last year's measure (money measures), and retroactive
tiers may pay on growth over it. A program using anything else (mix, breadth, guarantees,
unit measures against a baseline, growth paid by incremental tiers) is evaluated by the
Decimal rules of the domain, which are also the oracle these are tested against
(tests/test_rules.py), as is a program whose sums are too wide for the products here:
the backend refuses a product beyond 38 digits (DuckDB and PostgreSQL always, Spark in ANSI
mode) and the runner falls back.

Every amount is a fraction `num / den` of integers: sums in the plan's integer units, and the
program's decimals scaled to integers once, here, by their common denominators.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from accrue.domain.benefits import Gap
from accrue.domain.forecast import UNIT_PLACES, Projection
from accrue.domain.money import ZERO, minor_unit
from accrue.domain.periods import Period
from accrue.domain.program import Base, Evaluation, Kind, Measure, Method, Program, Thresholds
from accrue.domain.standings import Standing
from accrue.engine.exact import WIDE, fence, wide, with_floor_div, with_round_half_up
from accrue.engine.plan import decimals, decimals_divided


def _scale(values) -> int:
    """The power of ten that makes every decimal an integer."""
    places = [max(0, -Decimal(v).as_tuple().exponent) for v in values if v is not None]
    return 10 ** max(places, default=0)


@dataclass(frozen=True)
class Constants:
    """A program's decimals as integers over common denominators."""

    measure_scale: int  # the measure's integer units per unit (units divisor, or 10**6)
    thresholds: tuple[int, ...]  # × threshold_scale: measure integer units, or baseline shares
    threshold_scale: int
    relative: bool  # thresholds are shares of the baseline measure (rule 15)
    needs_baseline: bool  # no baseline, no tier (rule 5)
    growth: bool  # the rate applies to growth over the baseline's earning amount
    factors: tuple[int, ...]  # multiplier factors × `factor_scale`
    factor_scale: int
    rates: tuple[int, ...]  # × rate_scale
    per_units: tuple[int, ...]  # × per_unit_scale
    fixed: tuple[int, ...]  # × the denominator: already in `den` units
    rate_weight: int  # den / (rate_scale × factor_scale × amount scale)
    unit_weight: int  # den / (per_unit_scale × factor_scale × units divisor)
    den: int
    minor: int  # the currency's minor-unit exponent
    cap: int | None  # in minor units
    floor: Fraction | None  # pro-rata floor, a share of the first threshold
    points_step: int | None  # base points: one award per this much base (base units)
    points_each: int  # points an award
    tier_points: tuple[int, ...]  # points of the tiers reached so far, by tier

    @property
    def tiers(self) -> int:
        return len(self.thresholds)

    @property
    def sums(self) -> tuple[str, ...]:
        """The sums a standing is evaluated on (the earning amount only for growth)."""
        return ("measure", "base", "units", "earning") if self.growth else SUMS

    @property
    def awards_points(self) -> bool:
        return self.points_step is not None or any(self.tier_points)


def constants(program: Program, amount_exponent: int, units_divisor: int) -> Constants | None:
    """The program as integers, or None when it uses a rule the plan does not compute."""
    if not _covered(program):
        return None
    amount_scale = 10**-amount_exponent
    measure_scale = units_divisor if program.measure is Measure.UNITS else amount_scale
    relative = program.thresholds is Thresholds.BASELINE
    threshold_scale = _scale(t.from_ for t in program.tiers) if relative else 1
    per_threshold = threshold_scale if relative else measure_scale
    thresholds = [Fraction(t.from_) * per_threshold for t in program.tiers]
    minor = minor_unit(program.currency)
    cap = program.caps.per_partner_period
    if any(t.denominator != 1 for t in thresholds) or (
        cap is not None and cap != round(cap, minor)
    ):
        return None
    factors = [Fraction(m.factor) for m in program.multipliers]
    factor_scale = math.lcm(1, *(f.denominator for f in factors))
    rate_scale = _scale(t.rate for t in program.tiers)
    unit_scale = _scale(t.per_unit for t in program.tiers)
    fixed_scale = _scale(t.fixed for t in program.tiers)
    rate_den = rate_scale * factor_scale * amount_scale
    unit_den = unit_scale * factor_scale * units_divisor
    den = math.lcm(rate_den, unit_den, fixed_scale)
    floor = program.pro_rata_floor
    step = None
    if program.points is not None:
        step = Fraction(program.points.per_amount) * amount_scale * factor_scale
        if step.denominator != 1:
            return None
    return Constants(
        measure_scale=measure_scale,
        thresholds=tuple(int(t) for t in thresholds),
        threshold_scale=threshold_scale,
        relative=relative,
        needs_baseline=program.needs_baseline,
        growth=program.base is Base.GROWTH,
        factors=tuple(int(f * factor_scale) for f in factors),
        factor_scale=factor_scale,
        rates=tuple(int((t.rate or 0) * rate_scale) for t in program.tiers),
        per_units=tuple(int((t.per_unit or 0) * unit_scale) for t in program.tiers),
        fixed=tuple(int((t.fixed or 0) * den) for t in program.tiers),
        rate_weight=den // rate_den,
        unit_weight=den // unit_den,
        den=den,
        minor=minor,
        cap=None if cap is None else int(cap * 10**minor),
        floor=None if floor is None else Fraction(floor),
        points_step=None if step is None else int(step),
        points_each=program.points.points if program.points else 0,
        tier_points=tuple(
            sum(t.points or 0 for t in program.tiers[:reached])
            for reached in range(len(program.tiers) + 1)
        ),
    )


def _covered(program: Program) -> bool:
    """Shares of a baseline measure in money (a gap rounds up to the cent); growth paid by
    retroactive tiers."""
    return (
        program.measure in (Measure.UNITS, Measure.AMOUNT)
        and (program.thresholds is Thresholds.ABSOLUTE or program.measure is Measure.AMOUNT)
        and (program.base is Base.AMOUNT or program.method is Method.RETROACTIVE)
        and program.guarantee is None
    )


PERIODS = pa.schema(
    [
        ("year", pa.int64()),
        ("index", pa.int64()),
        ("days", pa.int64()),
        ("elapsed", pa.int64()),  # null: no projection (no as-of date, or a later period)
    ]
)


def period_tables(k: Constants, periods: list[Period], as_of: date | None) -> dict[str, pa.Table]:
    """The grid's periods, and a year earlier where thresholds or growth need a baseline:
    small Arrow tables a kept statement reads as its inputs."""
    tables = {"periods": _period_table(periods, as_of)}
    if k.needs_baseline:
        tables["earlier"] = _period_table([p.shifted_years(-1) for p in periods], None)
    return tables


def _period_table(periods: list[Period], as_of: date | None) -> pa.Table:
    rows = [
        (
            p.year,
            p.index,
            p.days,
            None if as_of is None or as_of < p.start else p.days_elapsed(as_of),
        )
        for p in periods
    ]
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(PERIODS)
    return pa.table(dict(zip(PERIODS.names, columns, strict=True)), schema=PERIODS)


def standings_table(
    program: Program, k: Constants, cells: ir.Table, tables: Mapping[str, ir.Table]
) -> ir.Table:
    """Every measured partner × period of `tables` (see `period_tables`; none missing: a
    quiet period still has a gap), with the measure, tier, earned and capped amounts, gap and
    projection as integers."""
    partners = cells.select("rollup_id").distinct()
    grid = partners.cross_join(tables["periods"])
    checks = [cells.missing_rates] if "missing_rates" in cells.columns else []
    joined = grid.left_join(cells, ["rollup_id", "year", "index"]).select(
        grid.rollup_id,
        grid.year,
        grid.index,
        grid.days,
        grid.elapsed,
        *checks,
        *_sums(program, k, cells),
    )
    table = _cumulated(program, k, joined)
    if k.needs_baseline:
        table = _with_baseline(program, k, cells, partners, tables["earlier"], table)
    table = fence(table)
    table = fence(table.mutate(tier=_tier(k, table, table.measure)))
    table = table.mutate(**_earned(program, k, table), **_projection(program, k, table))
    table = fence(_needed(program, k, table))
    table = table.mutate(**_would_pay(program, k, table))
    table = with_round_half_up(table, {name: (f"{name}_num", f"{name}_den") for name in ROUNDED})
    table = _with_points(k, table)
    if k.needs_baseline:
        table = table.mutate(status=_has_baseline(table).ifelse(table.status, "no baseline"))
    increment = table.earned - _before(program, table.earned)
    capped = increment if k.cap is None else ibis.least(increment, k.cap)
    fractions = (*ROUNDED, *POINTED) if k.awards_points else ROUNDED
    internal = [f"{name}_{part}" for name in fractions for part in ("num", "den")]
    if program.evaluation is not Evaluation.PERIOD:
        internal += [f"period_{name}" for name in k.sums]
    return table.mutate(
        increment=increment,
        amount=capped,
        points_awarded=table.points - _before(program, table.points),
    ).drop(*internal)


SUMS = ("measure", "base", "units")
KEYS = ["rollup_id", "year", "index"]


def _with_baseline(program, k, cells, partners, earlier_periods, table) -> ir.Table:
    """Rules 5 and 15: the same scope a year earlier: its measure, which relative thresholds
    are shares of, and its earning amount, which growth is paid over."""
    grid = partners.cross_join(earlier_periods)
    earlier = grid.left_join(cells, KEYS).select(
        grid.rollup_id, grid.year, grid.index, *_sums(program, k, cells)
    )
    earlier = _cumulated(program, k, earlier)
    carried = {"baseline": earlier.measure}
    if k.growth:
        carried["baseline_earning"] = earlier.earning
    last_year = earlier.select("rollup_id", "index", year=earlier.year + 1, **carried)
    current = table.view()  # the same cells on both sides: Ibis must not merge the joins
    joined = current.left_join(last_year, KEYS).select(
        current, **{name: last_year[name].fill_null(0) for name in carried}
    )
    if not k.growth:
        return joined
    return joined.mutate(base=_grown(joined.earning, joined.baseline_earning))


def _grown(earning: ir.Value, baseline: ir.Value) -> ir.Value:
    """Growth over the baseline, never negative."""
    return ibis.greatest(earning - baseline, wide(0))


def _has_baseline(table: ir.Table) -> ir.Value:
    return table.baseline > 0


def _scope(program: Program, cumulative: bool = False):
    """The periods a period's evaluation adds up (rule 8): a year's so far, the program's so
    far; `cumulative` frames it up to the current period."""
    keys = ["rollup_id", "year"] if program.evaluation is Evaluation.YEAR_TO_DATE else ["rollup_id"]
    if cumulative:
        return ibis.cumulative_window(group_by=keys, order_by=["year", "index"])
    return ibis.window(group_by=keys, order_by=["year", "index"])


def _cumulated(program: Program, k: Constants, table: ir.Table) -> ir.Table:
    """The sums a period is evaluated on: its own, or its scope's so far; `period_*` keep
    the period's own, which the projection scales (for period evaluation, the sums
    themselves)."""
    if program.evaluation is Evaluation.PERIOD:
        return table
    own = {f"period_{name}": table[name] for name in k.sums}
    scope = _scope(program, cumulative=True)
    return table.mutate(**own, **{name: table[name].sum().over(scope) for name in k.sums})


def _before(program: Program, earned: ir.Value) -> ir.Value:
    """What the earlier periods of the scope already earned: a cumulative period pays what it
    adds to them."""
    if program.evaluation is Evaluation.PERIOD:
        return ibis.literal(0)
    return earned.lag().over(_scope(program)).fill_null(0)


ROUNDED = ("earned", "would_pay", "projected_amount", "projected_measure")
POINTED = {
    "points": "tier",
    "projected_points": "projected_tier",
    "would_pay_points": "reached_tier",
}


def _sums(program: Program, k: Constants, cells: ir.Table) -> list[ir.Value]:
    """measure, base (multiplied amount), units (multiplied) and the earning amount (for
    growth), × the factor scale."""
    quantity = "units" if program.measure is Measure.UNITS else "amount"

    def weighted(kind: str) -> ir.Value:
        value = wide(cells[f"earning_{kind}"].fill_null(0)) * wide(k.factor_scale)
        for i, factor in enumerate(k.factors):
            window = wide(cells[f"window{i}_{kind}"].fill_null(0))
            value = value + window * wide(factor - k.factor_scale)
        return value

    sums = [
        wide(cells[f"qualifying_{quantity}"].fill_null(0)).name("measure"),
        weighted("amount").name("base"),
        weighted("units").name("units"),
    ]
    if k.growth:
        earning = wide(cells.earning_amount.fill_null(0)) * wide(k.factor_scale)
        sums.append(earning.name("earning"))
    return sums


def _threshold(k: Constants, table: ir.Table, i: int) -> ir.Value:
    """Tier i's threshold × the threshold scale, in measure integer units."""
    if k.relative:
        return wide(table.baseline) * wide(k.thresholds[i])
    return wide(k.thresholds[i])


def _scaled(k: Constants, measure: ir.Value) -> ir.Value:
    """A measure in the thresholds' units."""
    return measure * wide(k.threshold_scale) if k.threshold_scale != 1 else measure


def _tier(k: Constants, table: ir.Table, measure: ir.Value, per: ir.Value | int = 1):
    """Thresholds are inclusive (rule 2); `measure` is in units of 1 / `per`. Without a
    baseline a program that needs one reaches no tier (rule 5)."""
    scaled, per = _scaled(k, measure), wide(per)
    reached = sum(
        ((scaled >= per * _threshold(k, table, i)).ifelse(1, 0) for i in range(k.tiers)),
        ibis.literal(0),
    )
    return _has_baseline(table).ifelse(reached, 0) if k.needs_baseline else reached


def _with_points(k: Constants, table: ir.Table) -> ir.Table:
    """Points now, at the run rate and at the next tier (rule E16): `each` a whole
    `per_amount` of the rate base (floored), plus the points of every tier reached."""
    whole: dict[str, ir.Value] = dict.fromkeys(POINTED, wide(0))
    if not k.awards_points:
        return table.mutate(**whole)
    if k.points_step is not None:
        steps = {f"{n}_step": wide(table[f"{n}_den"]) * wide(k.points_step) for n in POINTED}
        table = with_floor_div(
            table.mutate(**steps), {f"{n}_whole": (f"{n}_num", f"{n}_step") for n in POINTED}
        )
        whole = {n: wide(table[f"{n}_whole"]) * wide(k.points_each) for n in POINTED}
    tiers = dict(enumerate(k.tier_points))
    points = {n: whole[n] + _by_tier(table[t], tiers, wide(0)) for n, t in POINTED.items()}
    if k.needs_baseline:  # no baseline, no points either
        points = {n: _has_baseline(table).ifelse(v, wide(0)) for n, v in points.items()}
    temporary = [f"{n}_{part}" for n in POINTED for part in ("step", "whole", "whole_rest")]
    return table.mutate(**points).drop(*(temporary if k.points_step is not None else ()))


def _points_of(k: Constants, name: str, base: ir.Value, per: ir.Value) -> dict[str, ir.Value]:
    """The rate base points are awarded on (base / per), for programs that award any."""
    return {f"{name}_num": base, f"{name}_den": per} if k.awards_points else {}


def _money(k: Constants, tier: int, base: ir.Value, units: ir.Value) -> ir.Value:
    """A tier's rate and per-unit amount on a base, in units of 1 / den (no fixed sum)."""
    i = tier - 1
    return base * wide(k.rates[i] * k.rate_weight) + units * wide(k.per_units[i] * k.unit_weight)


def _by_tier(tier: ir.Value, values: dict[int, ir.Value], default) -> ir.Value:
    result = default
    for t, value in values.items():
        result = (tier == t).ifelse(value, result)
    return result


@dataclass(frozen=True)
class Purchases:
    """Purchases to evaluate: the measure in units of 1 / `per`, the base and units the rates
    apply to, and for a scaled copy of real purchases the ratio (num, den) of the scaling and
    the real measure (incremental bands spread the real base over the real measure)."""

    measure: ir.Value
    base: ir.Value
    units: ir.Value
    per: ir.Value | int = 1
    ratio: tuple[ir.Value | int, ir.Value | int] = (1, 1)
    spread_over: ir.Value | None = None


def _fraction(program: Program, k: Constants, table: ir.Table, tier: ir.Value, p: Purchases):
    """What a reached tier pays, as (numerator, denominator). Retroactive (rule 3): the
    tier's money on the whole base, scaled; incremental (rule 4): each band of the measure at
    its tier's money, the base spread over the measure in proportion."""
    fixed = {t: wide(sum(k.fixed[:t])) for t in range(1, k.tiers + 1)}
    if program.method is Method.RETROACTIVE:
        money = {t: _money(k, t, p.base, p.units) for t in range(1, k.tiers + 1)}
        lump = {t: wide(k.fixed[t - 1]) for t in range(1, k.tiers + 1)}
        scaled_by, over = (wide(r) for r in p.ratio)
        num = _by_tier(tier, money, wide(0)) * scaled_by + _by_tier(tier, lump, wide(0)) * over
        return num, over * wide(k.den)
    spread = ibis.greatest(p.measure if p.spread_over is None else p.spread_over, wide(1))
    spread, per, measure = _scaled(k, spread), wide(p.per), _scaled(k, p.measure)
    total = wide(0)
    for t in range(1, k.tiers + 1):
        lower = per * _threshold(k, table, t - 1)
        upper = per * _threshold(k, table, t) if t < k.tiers else measure
        band = (tier > t).ifelse(upper, measure) - lower
        total = total + (tier >= t).ifelse(band, wide(0)) * _money(k, t, p.base, p.units)
    return total + _by_tier(tier, fixed, wide(0)) * spread * per, spread * per * wide(k.den)


def _with_pro_rata(k: Constants, table: ir.Table, tier: ir.Value, p: Purchases, fraction):
    """Rule 6: below the first tier but at or above `floor` × its threshold, the first
    tier's money × measure / threshold. (band or None, numerator, denominator)."""
    num, den = fraction
    if k.floor is None or k.thresholds[0] <= 0:
        return None, num, den
    first_threshold, per, measure = _threshold(k, table, 0), wide(p.per), _scaled(k, p.measure)
    band = (tier == 0) & (
        measure * wide(k.floor.denominator) >= per * wide(k.floor.numerator) * first_threshold
    )
    if k.needs_baseline:
        band = band & _has_baseline(table)
    first = _money(k, 1, p.base, p.units) + wide(k.fixed[0]) * per
    pro_rata_den = per * per * wide(k.den) * first_threshold
    return band, band.ifelse(first * measure, num), band.ifelse(pro_rata_den, den)


def _earned(program: Program, k: Constants, table: ir.Table) -> dict[str, ir.Value]:
    """Rules 3–6: what the period's purchases earn, as a fraction to round once."""
    now = Purchases(table.measure, table.base, table.units)
    fraction = _fraction(program, k, table, table.tier, now)
    band, num, den = _with_pro_rata(k, table, table.tier, now, fraction)
    status = (table.tier > 0).ifelse("earning", "below first tier")
    if band is not None:
        status = band.ifelse("pro rata", status)
    return {
        "status": status,
        "earned_num": num * wide(10**k.minor),
        "earned_den": den,
        **_points_of(k, "points", table.base, wide(1)),
    }


def _needed(program: Program, k: Constants, table: ir.Table) -> ir.Table:
    """The smallest extra purchase reaching the next tier: money rounded up to the minor
    unit, at least one; none above the top tier."""
    thresholds = {t: _threshold(k, table, t) for t in range(k.tiers)}
    table = table.mutate(
        _short=_by_tier(table.tier, thresholds, wide(0)) - _scaled(k, table.measure)
    )
    if program.measure is Measure.AMOUNT:  # whole minor units, rounded up, at least one
        step = k.measure_scale // 10**k.minor
        divisor = step * k.threshold_scale
        short = ibis.greatest(table._short, wide(1)) + (divisor - 1)
        table = with_floor_div(
            table.mutate(_short=short, _step=divisor), {"_steps": ("_short", "_step")}
        )
        table = table.mutate(_short=wide(ibis.greatest(table._steps, 1)) * step)
        table = table.drop("_step", "_steps", "_steps_rest")
    below_top = table.tier < k.tiers
    if k.needs_baseline:
        below_top = below_top & _has_baseline(table)
    needed = below_top.ifelse(table._short, ibis.null(WIDE))
    return table.mutate(needed=needed).drop("_short")


def _would_pay(program: Program, k: Constants, table: ir.Table) -> dict[str, ir.Value]:
    """What the next tier would pay: the same purchases scaled up to it, or, from nothing,
    that much more money (a unit measure from nothing has no answer)."""
    reached = table.measure + table.needed
    grows = table.measure > 0
    extra = table.needed * wide(k.factor_scale)
    if k.growth:  # retroactive: the growth of the scaled purchases, over the measure
        grown = _grown(table.earning * reached, table.baseline_earning * table.measure)
        scaled = Purchases(reached, grown, table.units * reached, ratio=(1, table.measure))
        more = Purchases(
            reached, _grown(table.earning + extra, table.baseline_earning), table.units
        )
    else:
        scaled = Purchases(
            reached,
            table.base,
            table.units,
            ratio=(reached, table.measure),
            spread_over=table.measure,
        )
        more = Purchases(reached, table.base + extra, table.units)
    tier = _tier(k, table, reached)
    num_scaled, den_scaled = _fraction(program, k, table, tier, scaled)
    num_more, den_more = _fraction(program, k, table, tier, more)
    pays = (table.tier < k.tiers) & (grows | (program.measure is Measure.AMOUNT))
    return {
        "pays": pays,
        "would_pay_num": pays.ifelse(grows.ifelse(num_scaled, num_more), wide(0))
        * wide(10**k.minor),
        "would_pay_den": grows.ifelse(den_scaled, den_more),
        "reached_tier": tier,
        **_points_of(
            k,
            "would_pay_points",
            grows.ifelse(scaled.base * wide(scaled.ratio[0]), more.base),
            grows.ifelse(wide(scaled.ratio[1]), wide(1)),
        ),
    }


def _projection(program: Program, k: Constants, table: ir.Table) -> dict[str, ir.Value]:
    """At the run rate (days in the period / days elapsed): the period's purchases scaled by
    that factor, added to the earlier periods of its scope, and evaluated again; the measure
    shown to the minor unit (money) or thousandths (units)."""
    days, elapsed = wide(table.days), wide(table.elapsed.fill_null(1))

    def at_run_rate(name: str) -> ir.Value:  # × elapsed: earlier periods + this one × rate
        if program.evaluation is Evaluation.PERIOD:
            return table[name] * days
        return table[name] * elapsed + table[f"period_{name}"] * (days - elapsed)

    base = at_run_rate("base")
    if k.growth:
        base = _grown(at_run_rate("earning"), table.baseline_earning * elapsed)
    projected = Purchases(
        at_run_rate("measure"), base, at_run_rate("units"), per=elapsed, ratio=(1, elapsed)
    )
    tier = _tier(k, table, projected.measure, elapsed)
    fraction = _fraction(program, k, table, tier, projected)
    _, num, den = _with_pro_rata(k, table, tier, projected, fraction)
    places = 10**k.minor if program.measure is Measure.AMOUNT else 10**UNIT_PLACES
    return {
        "projected_tier": tier,
        "projected_amount_num": num * wide(10**k.minor),
        "projected_amount_den": den,
        "projected_measure_num": projected.measure * wide(places),
        "projected_measure_den": elapsed * wide(k.measure_scale),
        **_points_of(k, "projected_points", projected.base, elapsed),
    }


PLAIN_COLUMNS = (
    "rollup_id",
    "year",
    "index",
    "tier",
    "status",
    "pays",
    "elapsed",
    "projected_tier",
)


class _Row(NamedTuple):
    """One standing's decoded values, named so `decoded` and `_Maker` agree by name."""

    measure: Decimal
    needed: Decimal | None
    earned: Decimal
    increment: Decimal
    amount: Decimal
    would_pay: Decimal | None
    projected: Decimal | None
    projected_measure: Decimal | None
    baseline: Decimal | None
    rollup_id: str
    year: int
    index: int
    tier: int
    status: str
    pays: bool
    elapsed: int | None
    projected_tier: int | None
    points_awarded: int | None


def decoded(program: Program, k: Constants, table: pa.Table) -> list[Standing]:
    """The plan's integer columns as the domain's standings: each column converted at once,
    then one object a row, with what a program repeats (periods, tier names, the fixed parts
    of a gap) made once."""

    def money(name: str) -> list[Decimal | None]:
        return _keep_nulls(table[name], decimals(table[name], -k.minor))

    def quantity(name: str) -> list[Decimal | None]:
        return _keep_nulls(table[name], decimals_divided(table[name], k.measure_scale))

    shown = 10**k.minor if program.measure is Measure.AMOUNT else 10**UNIT_PLACES
    points = program.kind is Kind.POINTS
    columns = _Row(
        measure=quantity("measure"),
        needed=quantity("needed"),
        earned=money("earned"),
        increment=money("increment"),
        amount=money("amount"),
        would_pay=decimals(table["would_pay_points"], 0) if points else money("would_pay"),
        projected=decimals(table["projected_points"], 0) if points else money("projected_amount"),
        projected_measure=decimals_divided(table["projected_measure"], shown),
        baseline=quantity("baseline") if k.needs_baseline else [None] * table.num_rows,
        **{name: table[name].to_pylist() for name in PLAIN_COLUMNS},
        points_awarded=_whole(table["points_awarded"]),
    )
    make = _Maker(program)
    return [make(row) for row in map(_Row._make, zip(*columns, strict=True))]


def _whole(column: pa.ChunkedArray) -> list[int | None]:
    return column.cast(pa.int64()).to_pylist()


def _keep_nulls(column: pa.ChunkedArray, values: list) -> list:
    """The decoders read a null as 0; a null (no gap above the top tier) stays None."""
    if not column.null_count:
        return values
    nulls = column.is_null().to_pylist()
    return [None if null else value for value, null in zip(values, nulls, strict=True)]


class _Maker:
    """One program's standings from decoded rows."""

    def __init__(self, program: Program):
        self.program = program
        self.points = program.kind is Kind.POINTS
        self.periods: dict[tuple[int, int], Period] = {}
        self.names = [None] + [t.name or f"Tier {i}" for i, t in enumerate(program.tiers, 1)]
        units = program.measure is Measure.UNITS
        self.unit = "units" if units else program.currency
        self.detail = "more units" if units else "more purchases"
        self.relative = program.thresholds is Thresholds.BASELINE

    def __call__(self, row: _Row) -> Standing:
        """A points program pays no money: what it shows is points."""
        program = self.program
        period = self.periods.get((row.year, row.index))
        if period is None:
            period = self.periods[row.year, row.index] = Period(
                year=row.year, kind=program.period, index=row.index
            )
        amount = ZERO if self.points else row.amount
        return Standing(
            program_id=program.id,
            version=program.version,
            partner_id=row.rollup_id,
            period=period,
            currency=program.currency,
            kind=program.kind,
            measure=row.measure,
            baseline=row.baseline,
            tier=row.tier,
            tier_name=self.names[row.tier],
            status=row.status,
            earned=row.earned,
            increment=row.increment,
            cap_excess=row.increment - row.amount,
            amount=amount,
            carried_in=ZERO,
            payout=amount,
            carried_out=ZERO,
            points=row.points_awarded,
            gap=None if row.needed is None else self._gap(row),
            projection=None
            if row.elapsed is None
            else Projection(row.projected_measure, row.projected_tier, row.projected),
        )

    def _gap(self, row: _Row) -> Gap:
        upper = self.program.tiers[row.tier]
        threshold = upper.from_ * row.baseline if self.relative else upper.from_
        would_pay = row.would_pay if row.pays else None
        return Gap(
            row.tier + 1, upper.name, threshold, row.needed, self.unit, self.detail, would_pay
        )
