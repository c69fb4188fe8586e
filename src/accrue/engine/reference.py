"""The plain-Python reference engine: the same cells as the relational plan, line by line.

Slow and obvious on purpose: tests run both over random data and demand identical results,
so the SQL plan can be optimised without fear.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from accrue.domain.aggregate import Aggregate, Sums
from accrue.domain.eligibility import (
    ProductRole,
    counts_on,
    partner_rollup,
    product_roles,
    window_index,
)
from accrue.domain.fx import FxTable
from accrue.domain.lines import Line
from accrue.domain.money import ZERO, allocate, exact
from accrue.domain.partners import PartnerTree
from accrue.domain.periods import Period
from accrue.domain.program import Program
from accrue.domain.standings import earning_rates, scope_of


def reference_cells(
    program: Program, tree: PartnerTree, products, fx: FxTable, lines: Iterable[Line]
) -> dict[tuple[str, Period], Aggregate]:
    rollup, roles = partner_rollup(program, tree), product_roles(program, products)
    kinds = set(program.eligibility.line_types)
    cells: dict[tuple[str, Period], list[Entry]] = defaultdict(list)
    for line in lines:
        role = roles.get(line.sku)
        if line.kind not in kinds or line.partner_id not in rollup or role is None:
            continue
        if not counts_on(program, line.date):
            continue
        with exact():
            amount = line.amount * fx.rate(line.currency, program.currency, line.date)
        key = (rollup[line.partner_id], Period.containing(program.period, line.date))
        cells[key].append(Entry(role, line, amount, window_index(program, line.date)))
    return {key: _aggregate(program, entries) for key, entries in cells.items()}


@dataclass(frozen=True)
class Entry:
    role: ProductRole
    line: Line
    amount: Decimal
    window: int


def _aggregate(program: Program, entries: list[Entry]) -> Aggregate:
    windows, buckets = program.shape

    def sums(pick) -> Sums:
        chosen = [e for e in entries if pick(e)]
        units = sum((Fraction(e.line.quantity) * e.role.unit_factor for e in chosen), Fraction())
        with exact():  # one exact division, as the plan divides its integer sum once
            converted = Decimal(units.numerator) / units.denominator
        return Sums(converted, sum((e.amount for e in chosen), ZERO))

    return Aggregate(
        qualifying=sums(lambda e: e.role.qualifies),
        earning=sums(lambda e: e.role.earns),
        windows=tuple(sums(lambda e, i=i: e.role.earns and e.window == i) for i in range(windows)),
        mix=sums(lambda e: e.role.qualifies and e.role.in_mix),
        buckets=tuple(
            sums(lambda e, i=i: e.role.qualifies and e.role.bucket == i) for i in range(buckets)
        ),
        lines=len(entries),
    )


def reference_attribution(result, standing, lines: Iterable[Line]) -> dict[tuple, Decimal]:
    """A standing's shares line by line in Decimal (rule 1), keyed by (source, document,
    line): the oracle the plan's set-wise largest remainder is held to."""
    program = result.versions[(standing.program_id, standing.version)]
    data = result.engine.data
    scope = scope_of(program, standing.period, result.periods[program.id])
    earning = _earning_entries(program, data, standing.partner_id, lines)
    shares = _allocation(program, result, standing, scope, earning)
    if len(scope) > 1:
        for key, share in _allocation(program, result, standing, scope[:-1], earning).items():
            shares[key] -= share
    return shares


def _earning_entries(program: Program, data, partner: str, lines: Iterable[Line]):
    rollup, roles = partner_rollup(program, data.tree), product_roles(program, data.products)
    kinds = set(program.eligibility.line_types)
    chosen = [
        line
        for line in lines
        if line.kind in kinds
        and rollup.get(line.partner_id) == partner
        and line.sku in roles
        and roles[line.sku].earns
        and counts_on(program, line.date)
    ]
    chosen.sort(key=lambda x: (x.date, x.document, x.line_no, x.source))
    return [(line, roles[line.sku]) for line in chosen]


def _allocation(program, result, standing, scope, earning) -> dict[tuple, Decimal]:
    periods = set(scope)
    chosen = [
        (line, role)
        for line, role in earning
        if Period.containing(program.period, line.date) in periods
    ]
    fx = result.engine.data.fx
    last = result.get(program.id, standing.partner_id, scope[-1].label)  # its tier applies
    by_amount, by_units = earning_rates(program, last)
    weights = []
    for line, role in chosen:
        window = window_index(program, line.date)
        factor = Fraction(program.multipliers[window].factor) if window >= 0 else Fraction(1)
        amount = Fraction(line.amount) * Fraction(
            fx.rate(line.currency, program.currency, line.date)
        )
        units = Fraction(line.quantity) * role.unit_factor
        weights.append((by_amount * amount + by_units * units) * factor)
    entitlement = sum(
        (result.get(program.id, standing.partner_id, p.label).amount for p in scope), ZERO
    )
    shares = allocate(entitlement, weights, program.currency)
    return {(x.source, x.document, x.line_no): s for (x, _), s in zip(chosen, shares, strict=True)}
