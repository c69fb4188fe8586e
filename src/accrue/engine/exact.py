"""Exact integer arithmetic as Ibis expressions that DuckDB, PostgreSQL and Spark all compute
the same way.

Ibis compiles `a // b` through a floating-point division on some backends, and decimal
division returns a double on DuckDB, so neither is exact for wide integers. Here a quotient is
estimated in floating point and then corrected with exact products and comparisons: the
estimate is within ±2 of the truth while the quotient is below 2**50 (money in minor units,
shares, rounded amounts), and wide products are DECIMAL(38, 0), exact on every backend.

Ibis inlines a column's expression wherever it is used, so these work on table columns and
add their results in stages: an expression reused three times is computed once.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

WIDE = "decimal(38, 0)"


def wide(value) -> ir.NumericValue:
    """An integer widened so products of two sums cannot overflow 64 bits."""
    if isinstance(value, int):
        return ibis.literal(value, WIDE)
    return value.cast(WIDE)


def _corrected(estimate, rest, denominator) -> ir.IntegerValue:
    """The estimate moved by the whole denominators the exact rest still holds (±2)."""
    return (
        estimate
        + (rest >= denominator).ifelse(1, 0)
        + (rest >= denominator * 2).ifelse(1, 0)
        - (rest < 0).ifelse(1, 0)
        - (rest < -denominator).ifelse(1, 0)
    )


def with_floor_div(table: ir.Table, name: str, numerator: str, denominator: str) -> ir.Table:
    """Adds `name` = floor(numerator / denominator) as int64 and `{name}_rest` = the exact
    remainder, for a positive denominator; both inputs are column names."""
    n, d = wide(table[numerator]), wide(table[denominator])
    estimate = (n.cast("float64") / d.cast("float64")).floor().cast("int64")
    staged = table.mutate(**{name: _corrected(estimate, n - wide(estimate) * d, d)})
    n, d = wide(staged[numerator]), wide(staged[denominator])
    return staged.mutate(**{f"{name}_rest": n - wide(staged[name]) * d})


def with_round_half_up(table: ir.Table, name: str, numerator: str, denominator: str) -> ir.Table:
    """Adds `name` = numerator / denominator rounded half away from zero (Decimal's
    ROUND_HALF_UP) for a positive denominator: the one rounding a standing's amount gets."""
    staged = table.mutate(
        _twice=wide(table[numerator]).abs() * 2 + wide(table[denominator]),
        _double=wide(table[denominator]) * 2,
    )
    staged = with_floor_div(staged, "_magnitude", "_twice", "_double")
    negative = wide(staged[numerator]) < 0
    staged = staged.mutate(**{name: negative.ifelse(-staged._magnitude, staged._magnitude)})
    return staged.drop("_twice", "_double", "_magnitude", "_magnitude_rest")


def decimal_text(value: ir.IntegerValue, exponent: int, trim: bool = False) -> ir.StringValue:
    """An int64 column × 10**exponent as exact text: every decimal place for money (12.50),
    or without trailing zeros for quantities when `trim` (12.5). Text, so that no reader of
    the output turns money into floats."""
    if exponent >= 0:
        return (value * 10**exponent).cast("string")
    scale = 10**-exponent
    magnitude = value.abs()
    whole = (magnitude.cast("float64") / scale).floor().cast("int64")
    digits = magnitude - whole * scale
    whole = whole + (digits >= scale).ifelse(1, 0) - (digits < 0).ifelse(1, 0)
    digits = (magnitude - whole * scale).cast("string").lpad(-exponent, "0")
    if trim:
        digits = digits.re_replace("0+$", "")
    number = whole.cast("string") + (digits.length() > 0).ifelse("." + digits, "")
    return (value < 0).ifelse("-" + number, number)
