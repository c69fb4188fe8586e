"""Every cent of every standing to the lines that earned it (rule 1), set-wise in the plan.

Largest remainder as window functions: each line's exact share of the entitlement is floored
to the minor unit, and the units left over go to the largest remainders, ties in (date,
document, line, source) order. A cumulative period (rule 8, E19) gets the change in its
scope's allocation: the scope with it minus the scope without it, so early lines share a
retroactive uplift. All arithmetic is on integers (see engine.exact); the Decimal allocation
in engine.reference is the oracle the tests hold this to.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from accrue.domain.eligibility import product_roles
from accrue.domain.money import minor_unit
from accrue.domain.periods import Period
from accrue.domain.program import Program
from accrue.domain.standings import Standing, earning_rates, scope_of
from accrue.engine import plan
from accrue.engine.exact import wide, with_floor_div

COLUMNS = (
    "program_id",
    "partner_id",
    "period",
    "source",
    "document",
    "line_no",
    "date",
    "sku",
    "line_amount",
    "share",
)

LINE_KEYS = ("source", "document", "line_no", "date", "sku")  # what a share names

JOB_SCHEMA = pa.schema(
    [
        ("job", pa.int64()),
        ("target", pa.int64()),
        ("sign", pa.int64()),
        ("rollup_id", pa.string()),
        ("ordinal", pa.int64()),
        ("entitlement", pa.int64()),
        ("period", pa.string()),
        ("by_amount", pa.decimal128(38, 0)),
        ("by_units", pa.decimal128(38, 0)),
    ]
)


@dataclass(frozen=True)
class Part:
    """One program version's shares: `line_amount` and `share` are integers, × 10 to the
    power of their exponents."""

    table: ir.Table
    amount_exponent: int
    share_exponent: int

    def as_text(self) -> ir.Table:
        """The shares with `line_amount` and `share` as exact decimal text, computed by the
        backend, so a file is written from it without a row passing through Python."""
        return self.table.mutate(
            line_amount=decimal_text(self.table.line_amount, self.amount_exponent),
            share=decimal_text(self.table.share, self.share_exponent),
        )


def decimal_text(column: ir.IntegerValue, exponent: int) -> ir.StringValue:
    """Integers × 10**exponent as exact text (12345, -2 → "123.45"), by placing the point in
    the integer's digits: string functions every backend has, and far cheaper than decimal
    arithmetic on 38 digits."""
    if exponent >= 0:
        return (column * 10**exponent).cast("string")
    scale = -exponent
    digits = column.abs().cast("string").lpad(scale + 1, "0")
    whole = digits.substr(0, digits.length() - scale)
    sign = (column < 0).ifelse("-", "")
    return sign + whole + "." + digits.right(scale)


def attributions(result, standings: Iterable[Standing]) -> list[Part]:
    """Every line's share of the given standings (those with an amount), a part a program
    version."""
    by_version: dict[tuple[str, int], list[Standing]] = defaultdict(list)
    for standing in standings:
        if standing.amount:
            by_version[(standing.program_id, standing.version)].append(standing)
    return [
        _program_shares(result.versions[key], group, result)
        for key, group in sorted(by_version.items())
    ]


def ordinal(period: Period) -> int:
    """Periods of one kind numbered consecutively across years, so a scope is a range."""
    return period.year * (12 // period.kind.months) + period.index - 1


def _jobs(program: Program, standings: list[Standing], result) -> tuple[pa.Table, bool]:
    """One allocation per standing, and for a cumulative scope a second, negative one over
    the scope without its last period."""
    scale = 10 ** minor_unit(program.currency)
    coefficients = _coefficients(program, result.engine.data)
    rows: list[tuple] = []

    def add(target: int, sign: int, standing: Standing, scope: list[Period]) -> None:
        """One row per period of the scope, so lines meet their jobs on an equality join."""
        amounts = (result.get(program.id, standing.partner_id, p.label).amount for p in scope)
        entitlement = int(sum(amounts) * scale)
        last = result.get(program.id, standing.partner_id, scope[-1].label)  # its tier applies
        by_amount, by_units = coefficients(*earning_rates(program, last))
        job, label = (rows[-1][0] + 1 if rows else 0), standing.period.label
        for period in scope:
            row = (job, target, sign, standing.partner_id, ordinal(period), entitlement, label)
            rows.append((*row, by_amount, by_units))

    cumulative = False
    for target, standing in enumerate(standings):
        scope = scope_of(program, standing.period, result.periods[program.id])
        add(target, 1, standing, scope)
        if len(scope) > 1:
            cumulative = True
            add(target, -1, standing, scope[:-1])
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(JOB_SCHEMA)
    table = pa.table(dict(zip(JOB_SCHEMA.names, columns, strict=True)), schema=JOB_SCHEMA)
    return table, cumulative


def _coefficients(program: Program, data):
    """Earning rates (per unit of money, per unit of quantity) as the smallest integers in
    the same ratio over the plan's encodings: `amount` in 10**amount_exponent of the
    currency, `units` in thousandths of the unit times the conversion denominator."""
    money = Fraction(10) ** plan.amount_exponent(program, data)
    _, denominator = plan.unit_weights(product_roles(program, data.products))
    per_unit = Fraction(1, 1000 * denominator)

    def integers(by_amount: Fraction, by_units: Fraction) -> tuple[int, int]:
        p, q = by_amount * money, by_units * per_unit
        common = math.lcm(p.denominator, q.denominator)
        p, q = int(p * common), int(q * common)
        divisor = math.gcd(p, q) or 1
        return p // divisor, q // divisor

    return integers


def _weights(program: Program, lines: ir.Table) -> ir.NumericValue:
    """What each line's share is proportional to: what it earns under its job's tier (its
    amount and its units at the job's integer rates), times its multiplier window's factor.
    Factors are scaled to integers by their common denominator, which leaves the
    proportions unchanged."""
    factors = [Fraction(m.factor) for m in program.multipliers]
    common = math.lcm(1, *(f.denominator for f in factors))
    earned = wide(lines.by_amount) * wide(lines.amount) + wide(lines.by_units) * wide(lines.units)
    factor = ibis.literal(common, "int64")
    for i, f in enumerate(factors):
        factor = (lines.window == i).ifelse(int(f * common), factor)
    return earned * wide(factor)


def _program_shares(program: Program, standings: list[Standing], result) -> Part:
    data = result.engine.data
    jobs_table, cumulative = _jobs(program, standings, result)
    jobs = ibis.memtable(jobs_table)
    lines = plan.eligible_lines(program, data)
    months = program.period.months
    lines = lines.filter(lines.earns).select(
        *LINE_KEYS,
        "rollup_id",
        "amount",
        "units",
        "window",
        ordinal=lines.date.year().cast("int64") * (12 // months)
        + (lines.date.month().cast("int64") - 1) // months,
    )
    joined = lines.inner_join(jobs, ["rollup_id", "ordinal"])
    kept = [*LINE_KEYS, "rollup_id", "amount", "job", "target", "sign", "entitlement", "period"]
    shares = _largest_remainder(joined.select(*kept, weight=_weights(program, joined)))
    if cumulative:
        keys = ["target", "rollup_id", "period", "source", "document", "line_no", "date", "sku"]
        shares = shares.group_by([*keys, "amount"]).aggregate(
            alloc=(shares.alloc * shares.sign).sum()
        )
    return Part(
        shares.select(
            program_id=ibis.literal(program.id, "string"),
            partner_id=shares.rollup_id,
            period=shares.period,
            source=shares.source,
            document=shares.document,
            line_no=shares.line_no,
            date=shares.date,
            sku=shares.sku,
            line_amount=shares.amount,
            share=shares.alloc,
        ),
        plan.amount_exponent(program, data),
        -minor_unit(program.currency),
    )


def _largest_remainder(lines: ir.Table) -> ir.Table:
    """Each job's entitlement over its lines' weights, to the minor unit. Weights that sum to
    zero share evenly; a negative sum is turned positive (the shares are the same). One pass
    over the lines: the job's total is a window sum, and what the floors hand out and each
    remainder's rank come from one more window in the tie order, so the lines are read and
    joined to their jobs once (grouping and joining back re-reads them per aggregate)."""
    per_job = ibis.window(group_by="job")
    lines = lines.mutate(
        total=lines.weight.sum().over(per_job), count=lines.weight.count().over(per_job)
    )
    even, negative = lines.total == 0, lines.total < 0
    lines = lines.mutate(
        weight=even.ifelse(wide(1), negative.ifelse(-lines.weight, lines.weight)),
        total=even.ifelse(wide(lines["count"]), lines.total.abs()),
    )
    lines = lines.mutate(exact=wide(lines.entitlement) * lines.weight)
    lines = with_floor_div(lines, {"floor": ("exact", "total")})
    order = [lines.floor_rest.desc(), "date", "document", "line_no", "source"]
    ranked = ibis.window(group_by="job", order_by=order, rows=(None, None))
    rank = ibis.row_number().over(ranked)
    left = lines.entitlement - lines.floor.sum().over(ranked)
    return lines.mutate(alloc=lines.floor + (rank < left).ifelse(1, 0))
