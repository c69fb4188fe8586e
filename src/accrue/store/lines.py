"""The line store: every version of every line, with the batch that brought it and the batch
that superseded it, so the current lines, or the lines as of any batch, are one filter away.

Embedded, the lines live in a DuckDB file beside the SQLite records (a column store the engine
scans fast); with PostgreSQL they live in the same database as the records, written in the
same transaction as their batch.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
from pyarrow import csv
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

from accrue.domain.errors import Conflict
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

SEALED_COLUMNS = ", ".join(name for name in STORED_SCHEMA.names if name != "superseded_by")
_DIGESTS = """
SELECT batch_id, count(*), sum({high}), sum({low}) FROM (
    SELECT batch_id, {sha256} AS h FROM (
        SELECT batch_id, concat_ws('|', '+', {sealed}) AS row FROM {table}
        WHERE batch_id = coalesce({{batch}}, batch_id)
        UNION ALL
        SELECT superseded_by, concat_ws('|', '-', source, document, line_no, revision)
        FROM {table} WHERE superseded_by = coalesce({{batch}}, superseded_by)
    ) AS rows
) AS hashed GROUP BY batch_id
"""


def _digests_sql(table: str, sha256: str, to_int: str) -> str:
    """Each batch's lines digest: its count and two sums of 60-bit slices of each row's
    SHA-256, over the lines it added (everything but `superseded_by`, which later batches
    set) and the versions it superseded. A sum does not depend on order, so no sort and no
    collation, and it is the same number on DuckDB and PostgreSQL."""
    return _DIGESTS.format(
        table=table,
        sealed=SEALED_COLUMNS,
        sha256=sha256.format("row"),
        high=to_int.format("substr(h, 1, 15)"),
        low=to_int.format("substr(h, 16, 15)"),
    )


def _for(digests: str, batch_id: int | None) -> str:
    return digests.format(batch="NULL" if batch_id is None else int(batch_id))


def _batch_digests(rows) -> dict[int, str]:
    return {int(batch): f"{count}:{int(high):x}:{int(low):x}" for batch, count, high, low in rows}


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


def _held_elsewhere(path: Path, error: duckdb.IOException) -> Exception:
    """The embedded line store is one file one process holds: say who holds it and what to
    do, instead of DuckDB's lock error."""
    if "lock" not in str(error).lower():
        return error
    pid = re.search(r"PID (\d+)", str(error))
    holder = f"process {pid[1]}" if pid else "another process"
    return Conflict(
        f"the books in {path.parent} are open in {holder} (a running `accrue serve`?): "
        "embedded books serve one process at a time. Make the change through that server's "
        "API or portal, or stop it first; books on PostgreSQL (ACCRUE_DATABASE_URL) take both."
    )


class DuckDBLines:
    """Lines in `lines.duckdb`; staging of incoming files happens in the same connection."""

    def __init__(self, path: Path):
        try:
            self.backend = ibis.duckdb.connect(str(path))
        except duckdb.IOException as error:
            raise _held_elsewhere(path, error) from None
        self.raw: duckdb.DuckDBPyConnection = self.backend.con
        columns = ", ".join(f"{f.name} {_DUCKDB_TYPES[f.type]}" for f in STORED_SCHEMA)
        self.raw.execute(f"CREATE TABLE IF NOT EXISTS lines ({columns})")

    @property
    def staging(self) -> duckdb.DuckDBPyConnection:
        return self.raw

    def lines(self, as_of_batch: int | None = None) -> ibis.Table:
        return _select(self.backend.table("lines"), as_of_batch)

    def stage_versions(self, keys: str, records: Connection) -> None:
        """`stored_versions` in staging, the stored versions of the wanted lines: read where
        they are (same connection), and a table of its own so the judging joins see how few
        there are (a join against all lines would hash them all)."""
        self.raw.execute(
            "CREATE OR REPLACE TEMP TABLE stored_versions AS SELECT "
            f"{', '.join(VERSION_COLUMNS)} FROM lines SEMI JOIN ({keys}) AS wanted "
            f"USING ({', '.join(KEY)})"
        )

    def write(self, batch_id: int, rows: str, replaced: str, records: Connection):
        """Add a batch's lines (a query over staging) and mark the versions they replace, in
        one DuckDB transaction. The records commit after; `discard` undoes a batch whose
        records never committed."""
        self.raw.begin()
        try:
            self.raw.execute(f"INSERT INTO lines SELECT * FROM ({rows})")
            self.raw.execute(_supersede_sql("lines", f"({replaced})", batch_id))
            self.raw.commit()
        except BaseException:
            self.raw.rollback()
            raise

    def digests(self, records: Connection, batch_id: int | None = None) -> dict[int, str]:
        """Every batch's lines digest (see `_digests_sql`), or one batch's, by batch id."""
        return _batch_digests(self.raw.execute(_for(DUCKDB_DIGESTS, batch_id)).fetchall())

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


DUCKDB_DIGESTS = _digests_sql("lines", "sha256({})", "('0x' || {})::BIGINT")
POSTGRES_DIGESTS = _digests_sql(
    "line_store", "encode(sha256(convert_to({}, 'UTF8')), 'hex')", "('x' || {})::bit(60)::bigint"
)


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

    def stage_versions(self, keys: str, records: Connection) -> None:
        """`stored_versions` in staging: the keys go to PostgreSQL and the stored versions of
        those lines come back, both by COPY in CSV."""
        cursor = records.connection.driver_connection.cursor()
        cursor.execute(
            "CREATE TEMP TABLE wanted_keys (source text, document text, line_no bigint) "
            "ON COMMIT DROP"
        )
        _copy_in(cursor, "wanted_keys", self._staging.execute(keys).fetch_arrow_table())
        found = _copy_out(
            cursor,
            f"SELECT {', '.join(f'l.{c}' for c in VERSION_COLUMNS)} FROM line_store AS l "
            "JOIN wanted_keys USING (source, document, line_no)",
            pa.schema([STORED_SCHEMA.field(c) for c in VERSION_COLUMNS]),
        )
        cursor.execute("DROP TABLE wanted_keys")
        self._staging.register("found_versions", found)
        self._staging.execute("CREATE OR REPLACE TEMP TABLE stored_versions AS FROM found_versions")
        self._staging.unregister("found_versions")

    def write(self, batch_id: int, rows: str, replaced: str, records: Connection):
        cursor = records.connection.driver_connection.cursor()
        cursor.execute(
            "CREATE TEMP TABLE replaced_keys (source text, document text, line_no bigint) "
            "ON COMMIT DROP"
        )
        _copy_in(cursor, "replaced_keys", self._staging.execute(replaced).fetch_arrow_table())
        cursor.execute(_supersede_sql("line_store", "replaced_keys", batch_id))
        _copy_in(cursor, "line_store", self._staging.execute(rows).fetch_arrow_table())

    def digests(self, records: Connection, batch_id: int | None = None) -> dict[int, str]:
        """Every batch's lines digest, or one batch's, read in the records' transaction (which
        sees a batch's lines before it commits)."""
        return _batch_digests(records.exec_driver_sql(_for(POSTGRES_DIGESTS, batch_id)).all())

    def discard(self, batch_ids: list[int]) -> None:
        """Nothing to undo: the lines committed, or not, with their batch."""

    def close(self) -> None:
        self.backend.disconnect()
        self._staging.close()


def _copy_in(cursor, table: str, rows: pa.Table) -> None:
    """Arrow to a table as CSV: written and parsed in C, no Python per row (text is always
    quoted, so an empty text stays empty and only a missing value is NULL)."""
    out = io.BytesIO()
    csv.write_csv(rows, out, csv.WriteOptions(include_header=False, quoting_style="needed"))
    with cursor.copy(
        f"COPY {table} ({', '.join(rows.column_names)}) FROM STDIN (FORMAT csv)"
    ) as copy:
        copy.write(out.getbuffer())


def _copy_out(cursor, query: str, schema: pa.Schema) -> pa.Table:
    """A query's rows as Arrow, through COPY in CSV."""
    with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
        data = b"".join(copy)
    if not data:
        return schema.empty_table()
    return csv.read_csv(
        io.BytesIO(data),
        read_options=csv.ReadOptions(column_names=schema.names),
        convert_options=csv.ConvertOptions(column_types=schema),
    )
