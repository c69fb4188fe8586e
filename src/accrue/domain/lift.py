"""Lift: did a rebate program change behaviour, or pay for what would have happened anyway?

Enrolled partners are compared with matched non-enrolled partners (same segment and region,
similar baseline net revenue) by difference in differences: each pair's change from the
baseline period to the program period, enrolled minus control. Market growth that lifts
everyone cancels out; what is left is the program's effect, with a bootstrap interval that
says how sure we can be. It is observational: matching removes the differences we can see,
not those we cannot (partners who enrol may be the ones who were about to grow anyway), so
the report says plainly when the evidence is thin.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from accrue.domain.errors import Refused
from accrue.domain.money import ZERO, exactly, round_half_up, round_money

METRICS = ("net_revenue", "category_rate", "off_season")  # the metrics measured by default

SIZE = "net_revenue"  # what partners are matched on, and the money the ROI counts
MONEY_METRICS = frozenset({SIZE})
RATE = 4  # decimal places of a share, a ratio or a distance
BALANCE_LIMIT = Decimal("0.25")  # |standardized mean difference| above this: poorly matched
LOW_Q, HIGH_Q = Decimal("0.025"), Decimal("0.975")


@dataclass(frozen=True)
class Unit:
    """One partner: enrolled or not, its segment and region, and each metric in the baseline
    period and in the program period (Decimal values; net_revenue is money)."""

    partner_id: str
    enrolled: bool
    segment: str | None
    region: str | None
    baseline: dict[str, Decimal]
    after: dict[str, Decimal]


@dataclass(frozen=True)
class Match:
    treated: str  # enrolled partner id
    control: str | None  # matched non-enrolled partner id, None when none is close enough
    distance: Decimal | None  # |t - c| / max(|t|, |c|) of baseline net revenue (0 when both 0)


@dataclass(frozen=True)
class Effect:
    metric: str
    treated_change: Decimal  # mean(after - baseline) over matched enrolled partners
    control_change: Decimal  # same over their controls
    estimate: Decimal  # treated_change - control_change (rounded alone: may be a minor unit off)
    low: Decimal  # 95% bootstrap interval of the estimate (percentile method)
    high: Decimal
    relative: Decimal | None  # estimate / mean(treated after - estimate); None if that is 0
    relative_low: Decimal | None
    relative_high: Decimal | None


@dataclass(frozen=True)
class LiftReport:
    matches: list[Match]  # one per enrolled partner, in partner id order
    effects: dict[str, Effect]  # by metric (only those computable)
    matched: int
    unmatched: int
    balance: Decimal | None  # standardized mean difference of baseline net revenue (pooled SD)
    incremental_revenue: Decimal  # net_revenue estimate × matched, at the minor unit
    rebate_cost: Decimal
    roi: Decimal | None  # (incremental_revenue - rebate_cost) / rebate_cost
    warnings: list[str]
    currency: str  # the program's: money metrics and amounts are in it


def _rounded(metric: str, currency: str):
    """How a metric's values are rounded: money half-up at the currency's minor unit (the one
    rounding money gets), a rate or share to four places."""
    if metric in MONEY_METRICS:
        return lambda value: round_money(value, currency)
    return lambda value: round_half_up(value, RATE)


def _size(unit: Unit) -> Decimal | None:
    return unit.baseline.get(SIZE)


def _distance(a: Decimal, b: Decimal) -> Decimal:
    """Relative gap, so a $1M partner and a $10k partner are held to the same standard; absolute
    values keep it meaningful when returns make net revenue negative."""
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale else ZERO


def _mean(values: list[Decimal]) -> Decimal:
    return sum(values, ZERO) / len(values)


def _check_ids(units: list[Unit]) -> None:
    """Unique ids are what make the result independent of the order units come in."""
    ids = [u.partner_id for u in units]
    if len(set(ids)) != len(ids):
        raise Refused("partner ids must be unique")


# --- matching -----------------------------------------------------------------------------


@exactly
def match(units: list[Unit], caliper: Decimal = Decimal("0.25")) -> list[Match]:
    """Pair each enrolled partner with the nearest unused non-enrolled partner of the same
    segment and region (greedy, without replacement), or with none if the nearest is farther
    than `caliper`. Largest partners go first: they are the rarest, so they get first pick."""
    _check_ids(units)
    pools: dict[tuple[str | None, str | None], list[Unit]] = {}
    for unit in sorted(units, key=lambda u: u.partner_id):
        if not unit.enrolled and _size(unit) is not None:
            pools.setdefault((unit.segment, unit.region), []).append(unit)
    found = {}
    for treated in sorted((u for u in units if u.enrolled), key=_greedy_order):
        pool = pools.get((treated.segment, treated.region), [])
        found[treated.partner_id] = _take_nearest(treated, pool, caliper)
    return [found[pid] for pid in sorted(found)]


def _greedy_order(unit: Unit) -> tuple[bool, Decimal, str]:
    """Largest baseline first, ties by id; partners with no baseline last (they cannot match)."""
    size = _size(unit)
    return (size is None, -(size or ZERO), unit.partner_id)


def _take_nearest(treated: Unit, pool: list[Unit], caliper: Decimal) -> Match:
    """The nearest control in `pool` (ties by id), removed from the pool once used."""
    size = _size(treated)
    if size is None or not pool:
        return Match(treated.partner_id, None, None)
    best = min(pool, key=lambda c: (_distance(size, _size(c)), c.partner_id))
    gap = _distance(size, _size(best))
    if gap > caliper:
        return Match(treated.partner_id, None, None)
    pool.remove(best)
    return Match(treated.partner_id, best.partner_id, round_half_up(gap, RATE))


# --- effects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Series:
    """One metric over the matched pairs, in pair order: what the bootstrap resamples."""

    treated: list[Decimal]  # after - baseline, enrolled partner
    control: list[Decimal]  # after - baseline, its control
    diff: list[Decimal]  # treated - control: the pair's difference in differences
    after: list[Decimal]  # enrolled partner's program-period value

    @classmethod
    def of(cls, pairs: list[tuple[Unit, Unit]], metric: str) -> _Series:
        treated = [t.after[metric] - t.baseline[metric] for t, _ in pairs]
        control = [c.after[metric] - c.baseline[metric] for _, c in pairs]
        diff = [a - b for a, b in zip(treated, control, strict=True)]
        return cls(treated, control, diff, [t.after[metric] for t, _ in pairs])


def _relative(estimate: Decimal, after_mean: Decimal) -> Decimal | None:
    """The effect as a share of what enrolled partners would have done without the program."""
    counterfactual = after_mean - estimate
    return estimate / counterfactual if counterfactual else None


def _percentile(ordered: list[Decimal], q: Decimal) -> Decimal:
    """Linear interpolation between closest ranks: always within [min, max] of the values."""
    position = (len(ordered) - 1) * q
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _interval(values: list[Decimal | None]) -> tuple[Decimal, Decimal] | None:
    """2.5th and 97.5th percentiles; None if any resample left the value undefined."""
    if any(v is None for v in values):
        return None
    ordered = sorted(values)
    return _percentile(ordered, LOW_Q), _percentile(ordered, HIGH_Q)


def _draws(n: int, reps: int, seed: int) -> list[list[int]]:
    """Resampled pair indices, shared by all metrics so they are resampled together."""
    rng = random.Random(seed)
    return [rng.choices(range(n), k=n) for _ in range(reps)]


def _effect(metric: str, series: _Series, draws: list[list[int]], currency: str) -> Effect:
    estimate = _mean(series.diff)
    relative = _relative(estimate, _mean(series.after))
    boot = [
        (_mean([series.diff[i] for i in d]), _mean([series.after[i] for i in d])) for d in draws
    ]
    low, high = _interval([e for e, _ in boot])
    rel = _interval([_relative(e, a) for e, a in boot]) if relative is not None else None
    rounded = _rounded(metric, currency)
    return Effect(
        metric,
        rounded(_mean(series.treated)),
        rounded(_mean(series.control)),
        rounded(estimate),
        rounded(low),
        rounded(high),
        None if relative is None else round_half_up(relative, RATE),
        None if rel is None else round_half_up(rel[0], RATE),
        None if rel is None else round_half_up(rel[1], RATE),
    )


def _balance(pairs: list[tuple[Unit, Unit]]) -> Decimal | None:
    """Standardized mean difference of baseline net revenue (pooled sample SD): how alike the
    two groups were before the program, in standard deviations."""
    if len(pairs) < 2:
        return None
    treated = [_size(t) for t, _ in pairs]
    control = [_size(c) for _, c in pairs]
    pooled = ((_variance(treated) + _variance(control)) / 2).sqrt()
    if not pooled:
        return None
    return round_half_up((_mean(treated) - _mean(control)) / pooled, RATE)


def _variance(values: list[Decimal]) -> Decimal:
    mean = _mean(values)
    return sum(((v - mean) ** 2 for v in values), ZERO) / (len(values) - 1)


# --- the report ---------------------------------------------------------------------------


@exactly
def measure_lift(
    units: list[Unit],
    rebate_cost: Decimal,
    *,
    metrics: tuple[str, ...] = METRICS,
    caliper: Decimal = Decimal("0.25"),
    reps: int = 1000,
    seed: int = 7,
    min_pairs: int = 10,
    currency: str = "USD",
) -> LiftReport:
    """Match, estimate each metric's difference in differences with a bootstrap interval over
    matched pairs, and weigh the incremental revenue against the rebates paid (money in
    `currency`, the program's)."""
    if reps < 1:
        raise Refused("reps must be at least 1")
    matches = match(units, caliper)
    by_id = {u.partner_id: u for u in units}
    pairs = [(by_id[m.treated], by_id[m.control]) for m in matches if m.control is not None]
    warnings = _population_warnings(units)
    usable = _usable_metrics(pairs, metrics, warnings)
    draws = _draws(len(pairs), reps, seed) if usable else []
    effects = {m: _effect(m, _Series.of(pairs, m), draws, currency) for m in usable}
    balance = _balance(pairs)
    warnings += _matching_warnings(units, len(pairs), balance, caliper, min_pairs)
    diffs = _Series.of(pairs, SIZE).diff
    incremental = round_money(sum(diffs, ZERO), currency) if SIZE in effects else ZERO
    roi = _roi(incremental, rebate_cost) if SIZE in effects else None
    if SIZE not in effects and pairs:
        warnings.append(f"no {SIZE} effect: incremental revenue and ROI cannot be measured")
    return LiftReport(
        matches,
        effects,
        len(pairs),
        len(matches) - len(pairs),
        balance,
        incremental,
        rebate_cost,
        roi,
        warnings,
        currency,
    )


def _roi(incremental: Decimal, cost: Decimal) -> Decimal | None:
    """Return per rebate dollar on revenue, not margin: an upper bound on the profit it made."""
    return round_half_up((incremental - cost) / cost, RATE) if cost else None


def _usable_metrics(
    pairs: list[tuple[Unit, Unit]], metrics: tuple[str, ...], warnings: list[str]
) -> list[str]:
    """Metrics every matched partner has in both periods; the rest are left out, and said so:
    averaging over whoever happens to have a value would compare different partners."""
    usable = []
    for metric in metrics:
        missing = sum(
            1 for pair in pairs for u in pair if metric not in u.baseline or metric not in u.after
        )
        if missing:
            warnings.append(
                f"{metric} is missing for {missing} of {2 * len(pairs)} matched partners:"
                " left out of the effects"
            )
        elif pairs:
            usable.append(metric)
    return usable


def _population_warnings(units: list[Unit]) -> list[str]:
    warnings = []
    if not any(u.enrolled for u in units):
        warnings.append("no enrolled partners: there is nothing to measure")
    if not any(not u.enrolled for u in units):
        warnings.append("no non-enrolled partners: there are no controls to compare against")
    sizeless = sum(1 for u in units if _size(u) is None)
    if sizeless:
        warnings.append(f"{sizeless} partners have no baseline {SIZE}: they cannot be matched")
    return warnings


def _matching_warnings(
    units: list[Unit], matched: int, balance: Decimal | None, caliper: Decimal, min_pairs: int
) -> list[str]:
    enrolled = sum(1 for u in units if u.enrolled)
    if not enrolled or enrolled == len(units):
        return []  # already said why there is nothing to compare
    warnings = []
    if matched < min_pairs:
        warnings.append(
            f"only {matched} matched pairs: too few for a reliable estimate (at least {min_pairs})"
        )
    if 2 * matched < enrolled:
        warnings.append(
            f"only {matched} of {enrolled} enrolled partners have a control within {caliper}"
            " relative distance: the estimate does not describe the program as a whole"
        )
    elif matched < enrolled:
        warnings.append(
            f"{enrolled - matched} of {enrolled} enrolled partners have no control: incremental"
            " revenue counts only the matched ones"
        )
    if balance is not None and abs(balance) > BALANCE_LIMIT:
        warnings.append(
            f"poorly matched: baseline {SIZE} of enrolled partners and their controls differs by"
            f" {balance} pooled standard deviations (more than {BALANCE_LIMIT})"
        )
    return warnings
