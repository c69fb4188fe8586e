"""SQL compiled once and run again over new data.

Building a program's Ibis plan and compiling it to SQL costs far more than running it over one
partner tree's lines: a one-line recalculation spent about nine tenths of its engine time in
Ibis, none in DuckDB. A statement's SQL depends only on what shapes it (the program version,
its periods, the as-of date, the schemas it reads), not on the rows it reads, so it is kept by
that key with its input tables as named slots; a later run fills the slots with the new data's
tables and runs the SQL as it is.

Only DuckDB keeps statements (the books' engine; other engines build and run the plan each
time), and only statements that read nothing but their inputs: a statement is compiled over
placeholder tables, so one that reads anything else is seen and run through Ibis as before.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.operations as ops
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends.duckdb.converter import DuckDBPyArrowData

Input = pa.Table | ir.Table  # a small table made in Python, or one in the backend
Build = Callable[[Mapping[str, ir.Table]], ir.Table]
SLOT = '"accrue_slot_{}__"'  # a quoted identifier: never part of a column's name
KEPT = 512  # statements: every program version × its periods × as-of dates in use


@dataclass(frozen=True)
class Statement:
    """SQL with a slot for each input table, and the schema of what it returns."""

    sql: str
    schema: sch.Schema

    def filled(self, tables: Mapping[str, str]) -> str:
        """The SQL reading `tables` (slot → a table's quoted name, or a subquery)."""
        sql = self.sql
        for slot, table in tables.items():
            sql = sql.replace(SLOT.format(slot), table)
        return sql


class Remembered:
    """Values made once by key, the least recently used dropped first. Safe across threads:
    two threads may make the same value at once, both right, and one is kept."""

    def __init__(self, size: int):
        self._kept: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def get(self, key: Hashable, make: Callable[[], object]):
        """The value kept for `key`, or `make()`'s (kept unless it is None)."""
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        value = make()
        if value is not None:
            with self._lock:
                self._kept[key] = value
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)

    def __iter__(self) -> Iterator[Hashable]:
        with self._lock:
            return iter(list(self._kept))


class Statements(Remembered):
    """The statements kept by what shapes them."""

    def __init__(self, size: int = KEPT):
        super().__init__(size)

    def fetch(self, key: Hashable, inputs: Mapping[str, Input], build: Build) -> pa.Table:
        """What `build` over the inputs returns, as Arrow."""
        backend = _backend(inputs)
        statement = self._statement(backend, key, inputs, build)
        if statement is None:
            return build(_tables(inputs)).to_pyarrow()
        with _filled(backend, statement, inputs) as sql:
            table = backend.con.sql(sql).to_arrow_table()
        return DuckDBPyArrowData.convert_table(table, statement.schema)

    def table(self, key: Hashable, inputs: Mapping[str, Input], build: Build) -> ir.Table:
        """What `build` over the inputs returns, computed once into a temporary table that
        lives as long as the returned expression (what Ibis's `.cache()` does)."""
        backend = _backend(inputs)
        statement = self._statement(backend, key, inputs, build)
        if statement is None:
            return build(_tables(inputs)).cache()
        name = ibis.util.gen_name("accrue_kept")
        # the columns typed as the plan declares them, as Ibis's cache does: a sum past 64
        # bits is refused on the way in, not kept as DuckDB's 128-bit integer
        table = backend.create_table(name, schema=statement.schema, temp=True)
        weakref.finalize(table.op(), _drop, backend.con, name)
        with _filled(backend, statement, inputs) as sql:
            backend.con.execute(f'INSERT INTO "{name}" {sql}')
        return table

    def _statement(self, backend, key, inputs, build) -> Statement | None:
        """The kept statement, compiled now if it is new; None where none can be kept."""
        if backend.name != "duckdb" or not all(map(_fillable, inputs.values())):
            return None
        shapes = {slot: _schema(value) for slot, value in inputs.items()}
        key = (key, tuple(sorted(shapes.items())))
        return self.get(key, lambda: _compiled(backend, build, shapes))


STATEMENTS = Statements()


def _compiled(backend, build: Build, shapes: Mapping[str, sch.Schema]) -> Statement | None:
    """What `build` makes over placeholder tables, as SQL; None if it reads anything else."""
    slots = {
        slot: ibis.table(shape, name=SLOT.format(slot)[1:-1]) for slot, shape in shapes.items()
    }
    expr = build(slots)
    names = {slot.op().name for slot in slots.values()}
    if not {op.name for op in expr.op().find(ops.PhysicalTable)} <= names:
        return None  # it reads a table that is not an input: never kept
    return Statement(backend.compile(expr), expr.schema())


def _backend(inputs: Mapping[str, Input]):
    for value in inputs.values():
        if isinstance(value, ir.Table):
            return value._find_backend()
    raise ValueError("a statement needs at least one table already in a backend")


def _schema(value: Input) -> sch.Schema:
    return sch.Schema.from_pyarrow(value.schema) if isinstance(value, pa.Table) else value.schema()


def _fillable(value: Input) -> bool:
    """Arrow, or an expression over the backend's own tables only (no in-memory tables Ibis
    would have to register first)."""
    if isinstance(value, pa.Table):
        return True
    found = value.op().find(ops.PhysicalTable)
    return all(isinstance(op, ops.DatabaseTable) for op in found)


def _tables(inputs: Mapping[str, Input]) -> dict[str, ir.Table]:
    return {
        slot: ibis.memtable(value) if isinstance(value, pa.Table) else value
        for slot, value in inputs.items()
    }


@contextlib.contextmanager
def _filled(backend, statement: Statement, inputs: Mapping[str, Input]) -> Iterator[str]:
    """The statement's SQL over these inputs, Arrow inputs registered while it runs (and
    unregistered whatever happens, even if registering a later one fails)."""
    registered: list[str] = []
    try:
        tables = {}
        for slot, value in inputs.items():
            if isinstance(value, pa.Table):
                registered.append(ibis.util.gen_name(f"accrue_{slot}"))
                backend.con.register(registered[-1], value)
                tables[slot] = f'"{registered[-1]}"'
            else:
                tables[slot] = f"({backend.compile(value)})"
        yield statement.filled(tables)
    finally:
        for name in registered:
            backend.con.unregister(name)


def _drop(con, name: str) -> None:
    with contextlib.suppress(Exception):  # a closed connection took its temporary tables
        con.execute(f'DROP TABLE IF EXISTS "{name}"')
