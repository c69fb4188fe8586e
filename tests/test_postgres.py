"""The same relational plan on PostgreSQL: identical standings and attributions to DuckDB.

Uses the server at ACCRUE_TEST_POSTGRES (default host 127.0.0.1, user postgres, database
test). Without one the test is skipped with a loud notice — except under CI, where a missing
server is a failure: `.ci/run` starts it.
"""

from __future__ import annotations

import os
import random
import uuid
import warnings
from datetime import date, timedelta
from decimal import Decimal

import ibis
import pytest
from conftest import PARTNERS, PRODUCTS, run
from test_properties import PROGRAMS, RATES

from accrue.domain.lines import Line, LineKind
from accrue.engine import DataSet, Engine
from accrue.engine.dataset import lines_to_arrow

SETTINGS = dict(
    part.split("=", 1)
    for part in os.environ.get(
        "ACCRUE_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres database=test"
    ).split()
)


@pytest.fixture(scope="module")
def postgres():
    try:
        backend = ibis.postgres.connect(**SETTINGS)
    except Exception as error:  # any failure to connect means: no server here
        if os.environ.get("CI"):
            pytest.fail(f"CI needs PostgreSQL ({SETTINGS}): {error}")
        warnings.warn(f"PostgreSQL NOT TESTED: no server at {SETTINGS} ({error})", stacklevel=1)
        pytest.skip(f"PostgreSQL not reachable at {SETTINGS}")
    yield backend
    backend.disconnect()


def _lines(seed: int, count: int) -> list[Line]:
    rnd = random.Random(seed)
    lines = []
    for n in range(1, count + 1):
        kind = rnd.choice([LineKind.SALE] * 6 + [LineKind.RETURN, LineKind.POS])
        sign = -1 if kind is LineKind.RETURN else 1
        lines.append(
            Line(
                "erp",
                f"D{n // 3}",
                n,
                kind,
                rnd.choice([p.id for p in PARTNERS]),
                rnd.choice([p.sku for p in PRODUCTS]),
                date(2025, 1, 1) + timedelta(days=rnd.randrange(730)),
                sign * Decimal(rnd.randrange(1, 200)),
                sign * Decimal(rnd.randrange(1, 5_000_000)).scaleb(-2),
                rnd.choice(["USD", "USD", "USD", "EUR"]),
            )
        )
    return lines


def test_postgres_computes_exactly_what_duckdb_computes(postgres):
    lines = _lines(seed=11, count=400)
    table = postgres.create_table(
        f"lines_{uuid.uuid4().hex[:10]}", lines_to_arrow(lines), temp=True
    )
    data = DataSet(partners=PARTNERS, products=PRODUCTS, lines=table, fx_rates=RATES)
    on_postgres = Engine(data).run(PROGRAMS, as_of=date(2026, 11, 24))
    on_duckdb = run(PROGRAMS, lines, as_of=date(2026, 11, 24), fx_rates=RATES)
    assert on_postgres.standings == on_duckdb.standings
    paid = [s for s in on_duckdb.standings if s.amount][:25]
    assert paid
    for standing in paid:
        assert on_postgres.attribute(standing) == on_duckdb.attribute(standing)
