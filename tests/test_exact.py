"""The plan's integer arithmetic (engine.exact) against Python's own integers, on DuckDB and
on PostgreSQL: floor division and half-up rounding, wide values and signs; and the exact text
integers leave the plan as."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_postgres import postgres  # noqa: F401  (the fixture)

from accrue.engine.exact import with_floor_div, with_round_half_up
from accrue.engine.plan import decimal_array

QUOTIENT = 2**50


@st.composite
def fractions(draw):
    """Numerators up to 10**30 (products of two sums) over denominators that keep the
    quotient below 2**50, as money and shares are."""
    denominator = draw(st.integers(1, 10**18))
    quotient = draw(st.integers(-QUOTIENT, QUOTIENT))
    numerator = quotient * denominator + draw(st.integers(-denominator, denominator))
    return numerator, denominator


def _compute(backend, pairs, values):
    table = ibis.memtable(
        pa.table(
            {
                "n": pa.array([Decimal(n) for n, _ in pairs], pa.decimal128(38, 0)),
                "d": pa.array([Decimal(d) for _, d in pairs], pa.decimal128(38, 0)),
                "v": pa.array(values, pa.int64()),
            }
        )
    )
    table = with_round_half_up(with_floor_div(table, {"q": ("n", "d")}), {"r": ("n", "d")})
    result = backend.to_pyarrow(table)
    result = result.append_column("money", decimal_array(result["v"], -2).cast(pa.string()))
    result = result.append_column("micros", decimal_array(result["v"], -6).cast(pa.string()))
    return result.to_pylist()


def _expected(n: int, d: int, v: int) -> dict:
    r = int((Decimal(n) / Decimal(d)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    money, micros = format(Decimal(v).scaleb(-2), "f"), format(Decimal(v).scaleb(-6), "f")
    return {"q": n // d, "q_rest": n - (n // d) * d, "r": r, "money": money, "micros": micros}


VALUES = st.integers(-(10**18), 10**18)


def _check(backend, pairs, values):
    rows = _compute(backend, pairs, values)
    for (n, d), v, row in zip(pairs, values, rows, strict=True):
        got = {k: row[k] for k in ("q", "q_rest", "r", "money", "micros")}
        got["q_rest"] = int(got["q_rest"])
        assert got == _expected(n, d, v), (n, d, v)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(fractions(), VALUES), min_size=1, max_size=30))
def test_integer_arithmetic_is_exact_on_duckdb(rows):
    _check(ibis.duckdb.connect(), [r[0] for r in rows], [r[1] for r in rows])


EDGES = [((7, 2), 7), ((-7, 2), -7), ((5, 10), 5), ((-5, 10), -5), ((15, 10), 0), ((0, 3), 0)]


@pytest.mark.parametrize(("pair", "value"), EDGES)
def test_half_up_and_floor_at_the_edges(pair, value):
    _check(ibis.duckdb.connect(), [pair], [value])


def test_integer_arithmetic_is_exact_on_postgres(postgres):  # noqa: F811
    wide = [((10**29 + 7) * s, 3 * 10**15 + 1) for s in (1, -1)]
    pairs = [pair for pair, _ in EDGES] + wide
    values = [v for _, v in EDGES] + [10**18 - 1, -(10**17) - 5]
    _check(postgres, pairs, values)
