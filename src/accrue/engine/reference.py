"""The plain-Python reference engine: the same cells as the relational plan, line by line.

Slow and obvious on purpose: tests run both over random data and demand identical results,
so the SQL plan can be optimised without fear.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from accrue.domain.aggregate import Aggregate, Sums
from accrue.domain.eligibility import counts_on, partner_rollup, product_roles, window_index
from accrue.domain.fx import FxTable
from accrue.domain.lines import Line
from accrue.domain.money import ZERO, exact
from accrue.domain.partners import PartnerTree
from accrue.domain.periods import Period
from accrue.domain.program import Program


def reference_cells(
    program: Program, tree: PartnerTree, products, fx: FxTable, lines: Iterable[Line]
) -> dict[tuple[str, Period], Aggregate]:
    rollup, roles = partner_rollup(program, tree), product_roles(program, products)
    kinds = set(program.eligibility.line_types)
    cells: dict[tuple[str, Period], Aggregate] = defaultdict(
        lambda: Aggregate.empty(*program.shape)
    )
    for line in lines:
        role = roles.get(line.sku)
        if line.kind not in kinds or line.partner_id not in rollup or role is None:
            continue
        if not counts_on(program, line.date):
            continue
        with exact():
            amount = line.amount * fx.rate(line.currency, program.currency, line.date)
        sums = Sums(line.quantity, amount)
        key = (rollup[line.partner_id], Period.containing(program.period, line.date))
        cells[key] = cells[key] + _contribution(program, role, line, sums)
    return dict(cells)


def _contribution(program: Program, role, line: Line, sums: Sums) -> Aggregate:
    nothing = Sums(ZERO, ZERO)
    window = window_index(program, line.date)
    windows, buckets = program.shape
    return Aggregate(
        qualifying=sums if role.qualifies else nothing,
        earning=sums if role.earns else nothing,
        windows=tuple(sums if role.earns and i == window else nothing for i in range(windows)),
        mix=sums if role.qualifies and role.in_mix else nothing,
        buckets=tuple(
            sums if role.qualifies and i == role.bucket else nothing for i in range(buckets)
        ),
        lines=1,
    )
