"""The line store: every version of every line, with the batch that brought it and the batch
that superseded it, so the current lines, or the lines as of any batch, are one filter away.

Embedded, the lines live in a DuckDB file beside the SQLite records (a column store the engine
scans fast); with PostgreSQL they live in the same database as the records, written in the
same transaction as their batch.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

from accrue.engine.dataset import LINE_SCHEMA

STORED_SCHEMA = pa.schema(
    [
        *LINE_SCHEMA,
        ("revision", pa.int32()),
        ("batch_id", pa.int64()),
        ("row_digest", pa.string()),
        ("superseded_by", pa.int64()),
    ]
)
KEY = ("source", "document", "line_no")
VERSION_COLUMNS = (*KEY, "revision", "row_digest", "partner_id", "batch_id", "superseded_by")

LINES_METADATA = MetaData()
LINE_TABLE = Table(
    "line_store",
    LINES_METADATA,
    Column("source", String(100), nullable=False),
    Column("document", String(100), nullable=False),
    Column("line_no", BigInteger, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("partner_id", String(64), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("date", Date, nullable=False),
    Column("quantity_milli", BigInteger, nullable=False),
    Column("amount_micros", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("batch_id", BigInteger, nullable=False),
    Column("row_digest", String(32), nullable=False),
    Column("superseded_by", BigInteger),
    Index("ix_line_store_key", "source", "document", "line_no"),
    Index("ix_line_store_batch", "batch_id"),
)

_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.date32(): "DATE",
}


def _select(table: ibis.Table, as_of_batch: int | None) -> ibis.Table:
    """The current lines, or those that were current once batch `as_of_batch` was in."""
    if as_of_batch is None:
        live = table.superseded_by.isnull()
    else:
        live = (table.batch_id <= as_of_batch) & (
            table.superseded_by.isnull() | (table.superseded_by > as_of_batch)
        )
    return table.filter(live).select(*LINE_SCHEMA.names)


class DuckDBLines:
    """Lines in `lines.duckdb`; staging of incoming files happens in the same connection."""

    def __init__(self, path: Path):
        self.backend = ibis.duckdb.connect(str(path))
        self.raw: duckdb.DuckDBPyConnection = self.backend.con
        columns = ", ".join(f"{f.name} {_DUCKDB_TYPES[f.type]}" for f in STORED_SCHEMA)
        self.raw.execute(f"CREATE TABLE IF NOT EXISTS lines ({columns})")

    @property
    def staging(self) -> duckdb.DuckDBPyConnection:
        return self.raw

    def lines(self, as_of_batch: int | None = None) -> ibis.Table:
        return _select(self.backend.table("lines"), as_of_batch)

    def versions(self, keys: pa.Table, records: Connection) -> pa.Table:
        self.raw.register("wanted_keys", keys)
        return self.raw.execute(
            f"SELECT {', '.join(f'l.{c}' for c in VERSION_COLUMNS)} FROM lines AS l "
            "JOIN wanted_keys USING (source, document, line_no)"
        ).fetch_arrow_table()

    def write(self, batch_id: int, rows: pa.Table, replaced: pa.Table, records: Connection):
        """Add a batch's lines and mark the versions they replace, in one DuckDB transaction.
        The records commit after; `discard` undoes a batch whose records never committed."""
        self.raw.register("incoming_lines", rows)
        self.raw.register("replaced_keys", replaced)
        self.raw.begin()
        try:
            self.raw.execute(
                f"INSERT INTO lines SELECT {', '.join(STORED_SCHEMA.names)} FROM incoming_lines"
            )
            self.raw.execute(_supersede_sql("lines", "replaced_keys", batch_id))
            self.raw.commit()
        except BaseException:
            self.raw.rollback()
            raise

    def discard(self, batch_ids: list[int]) -> None:
        """Crash recovery: forget lines of batches that did not commit, and undo their marks."""
        if not batch_ids:
            return
        listed = ", ".join(str(int(b)) for b in batch_ids)
        self.raw.begin()
        self.raw.execute(f"DELETE FROM lines WHERE batch_id IN ({listed})")
        self.raw.execute(f"UPDATE lines SET superseded_by = NULL WHERE superseded_by IN ({listed})")
        self.raw.commit()

    def close(self) -> None:
        self.backend.disconnect()


def _supersede_sql(table: str, keys: str, batch_id: int) -> str:
    return (
        f"UPDATE {table} SET superseded_by = {int(batch_id)} FROM {keys} AS r "
        f"WHERE {table}.superseded_by IS NULL AND {table}.batch_id <> {int(batch_id)} "
        f"AND {table}.source = r.source AND {table}.document = r.document "
        f"AND {table}.line_no = r.line_no"
    )


class PostgresLines:
    """Lines in the records database: written with COPY in the batch's own transaction."""

    def __init__(self, backend: ibis.BaseBackend):
        self.backend = backend
        self._staging = duckdb.connect()

    @property
    def staging(self) -> duckdb.DuckDBPyConnection:
        return self._staging

    def lines(self, as_of_batch: int | None = None) -> ibis.Table:
        return _select(self.backend.table("line_store"), as_of_batch)

    def versions(self, keys: pa.Table, records: Connection) -> pa.Table:
        cursor = records.connection.driver_connection.cursor()
        cursor.execute(
            "CREATE TEMP TABLE wanted_keys (source text, document text, line_no bigint) "
            "ON COMMIT DROP"
        )
        _copy(cursor, "wanted_keys", keys, KEY)
        cursor.execute(
            f"SELECT {', '.join(f'l.{c}' for c in VERSION_COLUMNS)} FROM line_store AS l "
            "JOIN wanted_keys USING (source, document, line_no)"
        )
        found = cursor.fetchall()
        cursor.execute("DROP TABLE wanted_keys")
        columns = list(zip(*found, strict=True)) if found else [[] for _ in VERSION_COLUMNS]
        schema = pa.schema([STORED_SCHEMA.field(c) for c in VERSION_COLUMNS])
        return pa.table(dict(zip(VERSION_COLUMNS, columns, strict=True)), schema=schema)

    def write(self, batch_id: int, rows: pa.Table, replaced: pa.Table, records: Connection):
        cursor = records.connection.driver_connection.cursor()
        cursor.execute(
            "CREATE TEMP TABLE replaced_keys (source text, document text, line_no bigint) "
            "ON COMMIT DROP"
        )
        _copy(cursor, "replaced_keys", replaced, KEY)
        cursor.execute(_supersede_sql("line_store", "replaced_keys", batch_id))
        _copy(cursor, "line_store", rows, STORED_SCHEMA.names)

    def discard(self, batch_ids: list[int]) -> None:
        """Nothing to undo: the lines committed, or not, with their batch."""

    def close(self) -> None:
        self.backend.disconnect()
        self._staging.close()


def _copy(cursor, table: str, rows: pa.Table, columns) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for batch in rows.select(list(columns)).to_batches(max_chunksize=50_000):
            for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                copy.write_row(row)
