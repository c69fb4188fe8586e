"""Exact integer arithmetic as Ibis expressions that DuckDB, PostgreSQL and Spark all compute
the same way.

Ibis compiles `a // b` through a floating-point division on some backends, and decimal
division returns a double on DuckDB, so neither is exact for wide integers. Here a quotient is
estimated in floating point and then corrected with exact products and comparisons: the
estimate is within ±2 of the truth while the quotient is below 2**50 (money in minor units,
shares, rounded amounts), and wide products are DECIMAL(38, 0), exact on every backend.

These work on table columns and add their results in a few projections, so an expression
used several times is computed once.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis.common.exceptions import IbisError

WIDE = "decimal(38, 0)"


def wide(value) -> ir.NumericValue:
    """An integer widened so products of two sums cannot overflow 64 bits."""
    if isinstance(value, int):
        return ibis.literal(value, WIDE)
    return value.cast(WIDE)


def fence(table: ir.Table) -> ir.Table:
    """A stage the backend computes before the next: PostgreSQL flattens nested subqueries
    and substitutes every column by the expression defining it, so a column used five times
    in each of several stages would grow the query five-fold a stage; there each stage is a
    temporary table. DuckDB and Spark keep projections as they are written."""
    if _backend_name(table) == "postgres":
        return table.cache()
    return table


def _backend_name(table: ir.Table) -> str | None:
    """None for a statement's placeholder tables (engine.compiled), which only DuckDB keeps."""
    try:
        return table._find_backend(use_default=True).name
    except IbisError:
        return None


def _corrected(estimate, rest, denominator) -> ir.IntegerValue:
    """The estimate moved by the whole denominators the exact rest still holds (±2)."""
    return (
        estimate
        + (rest >= denominator).ifelse(1, 0)
        + (rest >= denominator * 2).ifelse(1, 0)
        - (rest < 0).ifelse(1, 0)
        - (rest < -denominator).ifelse(1, 0)
    )


def with_floor_div(table: ir.Table, divisions: dict[str, tuple[str, str]]) -> ir.Table:
    """Adds, for each `name: (numerator, denominator)` (column names, the denominator
    positive), `name` = floor(numerator / denominator) as int64 and `{name}_rest` = the exact
    remainder. All divisions share two projections: Ibis compiles each projection as one
    more nested query, so fewer is faster to compile."""

    def quotient(n, d):
        n, d = wide(table[n]), wide(table[d])
        estimate = (n.cast("float64") / d.cast("float64")).floor().cast("int64")
        return _corrected(estimate, n - wide(estimate) * d, d)

    table = fence(table)
    staged = table.mutate(**{name: quotient(n, d) for name, (n, d) in divisions.items()})
    return staged.mutate(
        **{
            f"{name}_rest": wide(staged[n]) - wide(staged[name]) * wide(staged[d])
            for name, (n, d) in divisions.items()
        }
    )


def with_round_half_up(table: ir.Table, roundings: dict[str, tuple[str, str]]) -> ir.Table:
    """Adds, for each `name: (numerator, denominator)` (the denominator positive), `name` =
    the quotient rounded half away from zero (Decimal's ROUND_HALF_UP): the one rounding a
    standing's amount gets."""
    staged = table.mutate(
        **{
            f"{name}_twice": wide(table[n]).abs() * 2 + wide(table[d])
            for name, (n, d) in roundings.items()
        },
        **{f"{name}_double": wide(table[d]) * 2 for name, (_, d) in roundings.items()},
    )
    halves = {f"{name}_half": (f"{name}_twice", f"{name}_double") for name in roundings}
    staged = with_floor_div(staged, halves)
    rounded = {
        name: (wide(staged[n]) < 0).ifelse(-staged[f"{name}_half"], staged[f"{name}_half"])
        for name, (n, _) in roundings.items()
    }
    temporary = [f"{name}_{part}" for name in roundings for part in TEMPORARY]
    return staged.mutate(**rounded).drop(*temporary)


TEMPORARY = ("twice", "double", "half", "half_rest")
