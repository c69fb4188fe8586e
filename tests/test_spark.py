"""The same relational plan on Spark (local[2]): identical standings and attributions to DuckDB.

One Spark session serves every test here (starting one takes seconds), and the tests share
an xdist group so one worker runs them all. Without Java or PySpark the tests are skipped
with a loud notice — except under CI, where that is a failure: `.ci/run` installs Java and
`make test` installs PySpark.
"""

from __future__ import annotations

import inspect
import os
import uuid
import warnings
from datetime import date
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
import test_worked_examples
from conftest import PARTNERS, PRODUCTS, line, program, run
from test_postgres import _lines
from test_properties import PROGRAMS, RATES

from accrue.engine import DataSet, Engine
from accrue.engine.backends import connect, lines_from_parquet, spark_missing
from accrue.engine.dataset import lines_to_arrow

pytestmark = pytest.mark.xdist_group("spark")


@pytest.fixture(scope="session")
def spark():
    missing = spark_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs {missing} for the Spark tests")
        warnings.warn(f"SPARK NOT TESTED: {missing} is missing", stacklevel=1)
        pytest.skip(f"{missing} is missing")
    backend = connect("spark", {"master": "local[2]"})
    yield backend
    backend.disconnect()


@pytest.fixture
def on_spark(spark, tmp_path):
    """Runs programs over lines as Parquet on Spark; a `run` with the same signature."""

    def run_on_spark(programs, lines, as_of=None, **master):
        path = tmp_path / f"lines-{uuid.uuid4().hex[:8]}.parquet"
        pq.write_table(lines_to_arrow(lines), path)
        master.setdefault("partners", PARTNERS)
        master.setdefault("products", PRODUCTS)
        data = DataSet(lines=lines_from_parquet(spark, str(path)), **master)
        return Engine(data).run(list(programs), as_of=as_of)

    return run_on_spark


@pytest.fixture
def both(on_spark):
    """A `run` that computes on DuckDB and Spark, checks they agree to the cent (standings
    and every paid standing's attribution) and returns DuckDB's result."""

    def run_on_both(programs, lines, as_of=None, **master):
        expected = run(programs, lines, as_of, **master)
        actual = on_spark(programs, lines, as_of, **master)
        assert actual.standings == expected.standings
        for standing in (s for s in expected.standings if s.amount):
            assert actual.attribute(standing) == expected.attribute(standing), standing.key
        return expected

    return run_on_both


def test_worked_examples_on_spark(both, monkeypatch):
    monkeypatch.setattr(test_worked_examples, "run", both)
    examples = inspect.getmembers(test_worked_examples, inspect.isfunction)
    tests = [f for name, f in examples if name.startswith("test_")]
    assert len(tests) >= 15
    for test in tests:
        test()


def test_property_data_on_spark(both):
    """The property tests' programs (every measure, caps, multipliers, two currencies with
    rates) over random lines; and over no lines at all."""
    both(PROGRAMS, _lines(seed=7, count=600), as_of=date(2026, 11, 24), fx_rates=RATES)
    both(PROGRAMS, [], fx_rates=RATES)


def test_a_sum_past_64_bits_is_refused_not_wrapped(on_spark):
    """Sums are 64-bit integers on both engines: past 2**63 micros DuckDB refuses the cast
    and Spark, in ANSI mode, raises; neither returns a wrong or missing number."""
    big = program("id: big\nname: Big\neffective: {from: 2026-01-01}\ntiers: [{from: 0, rate: 1%}]")
    lines = [line("CORE", date(2026, 1, 5), Decimal("999999999999.999999")) for _ in range(10)]
    with pytest.raises(Exception, match="out of range"):
        run([big], lines)
    with pytest.raises(Exception, match="ARITHMETIC_OVERFLOW"):
        on_spark([big], lines)
