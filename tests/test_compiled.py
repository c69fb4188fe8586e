"""Statements compiled once and run again (accrue.engine.compiled): a kept statement over new
data gives what building the plan afresh gives, and nothing is kept that reads a table other
than its inputs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ibis
import pyarrow as pa

from accrue.engine import DataSet, Engine
from accrue.engine.compiled import STATEMENTS, Statements
from accrue.ingest.dataset import load_directory
from accrue.ingest.programs import load_programs

EXAMPLES = Path(__file__).parent.parent / "examples"


def _table(con, name: str, values: list[int]):
    return con.create_table(name, pa.table({"k": ["a"] * len(values), "v": values}), temp=True)


def test_a_kept_statement_reads_the_new_inputs_not_the_ones_it_was_compiled_with():
    con, kept = ibis.duckdb.connect(), Statements()
    scale = pa.table({"k": ["a"], "times": [10]})

    def total(t):
        joined = t["lines"].inner_join(t["scale"], "k")
        return joined.aggregate(total=(joined.v * joined.times).sum())

    first = kept.fetch("sum", {"lines": _table(con, "l1", [1, 2]), "scale": scale}, total)
    again = kept.fetch(
        "sum",
        {"lines": _table(con, "l2", [5]), "scale": pa.table({"k": ["a"], "times": [3]})},
        total,
    )
    assert first["total"].to_pylist() == [30] and again["total"].to_pylist() == [15]
    assert len(kept) == 1  # the second run compiled nothing


def test_a_kept_table_lives_as_long_as_its_expression():
    con, kept = ibis.duckdb.connect(), Statements()
    for values in ([1, 2], [4]):
        table = kept.table("copy", {"lines": _table(con, f"c{len(values)}", values)}, _copy)
        assert sorted(table.v.to_pyarrow().to_pylist()) == values
        name = table.op().name
        del table
        assert name not in con.list_tables()


def _copy(t):
    return t["lines"].select("v")


def test_a_statement_reading_a_table_that_is_not_an_input_is_never_kept():
    con, kept = ibis.duckdb.connect(), Statements()
    other = _table(con, "other", [7])
    found = kept.fetch(
        "side", {"lines": _table(con, "mine", [1])}, lambda t: t["lines"].union(other)
    )
    assert sorted(found["v"].to_pylist()) == [1, 7] and not len(kept)


def test_statements_of_other_shapes_are_kept_apart_and_the_oldest_dropped():
    con, kept = ibis.duckdb.connect(), Statements(size=2)
    lines = _table(con, "few", [1])
    for n in range(3):
        found = kept.fetch(
            n, {"lines": lines}, lambda t, n=n: t["lines"].mutate(w=t["lines"].v + n)
        )
        assert found["w"].to_pylist() == [1 + n]
    assert [key for key, _ in kept] == [1, 2]


def test_the_engine_over_new_lines_from_kept_statements_equals_a_fresh_build():
    """Every program of the examples, first over some partners' lines (compiling), then over
    others' (kept statements only), compared with the same run compiled from scratch."""
    data = load_directory(EXAMPLES / "data")
    programs = load_programs([EXAMPLES / "programs"])
    as_of = date(2026, 11, 24)
    partners = sorted({p.id for p in data.partners})

    def some(chosen: list[str]) -> DataSet:
        lines = data.lines.filter(data.lines.partner_id.isin(chosen)).cache()
        return DataSet(lines=lines, **{k: getattr(data, k) for k in MASTER})

    Engine(some(partners[::2])).run(programs, as_of)
    kept = len(STATEMENTS)
    again = Engine(some(partners[1::2])).run(programs, as_of).standings
    assert len(STATEMENTS) == kept  # nothing new compiled
    STATEMENTS.clear()
    fresh = Engine(some(partners[1::2])).run(programs, as_of).standings
    assert again == fresh and again


MASTER = ("partners", "products", "fx_rates", "reps")
