"""Sales, return and point-of-sale lines from CSV or Parquet, validated in DuckDB.

Every value is read as text and checked with TRY_CAST, so a bad amount on line 40,312 is
reported as such (file, line, field, value) instead of failing the whole read; only clean files
reach the line store, converted to exact integers (quantity in thousandths, amount in micros).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import ibis

from accrue.ingest.errors import InputError, Problem

LINE_COLUMNS = (
    "source",
    "document",
    "line_no",
    "kind",
    "partner_id",
    "sku",
    "date",
    "quantity",
    "amount",
    "currency",
)

# (field, SQL that is true when the value is bad, message). `v` is the row's text columns.
CHECKS = (
    ("source", "coalesce(trim(source), '') = ''", "must not be empty"),
    ("document", "coalesce(trim(document), '') = ''", "must not be empty"),
    ("line_no", "try_cast(line_no AS BIGINT) IS NULL", "must be a whole number"),
    (
        "kind",
        "coalesce(lower(trim(kind)), '') NOT IN ('sale', 'return', 'pos')",
        "must be sale, return or pos",
    ),
    ("date", "try_cast(date AS DATE) IS NULL", "must be a date, YYYY-MM-DD"),
    (
        "date",
        "try_cast(date AS DATE) NOT BETWEEN DATE '1990-01-01' AND DATE '2100-12-31'",
        "is out of range (1990–2100)",
    ),
    ("quantity", "try_cast(quantity AS DECIMAL(38, 10)) IS NULL", "must be a number"),
    (
        "quantity",
        "try_cast(quantity AS DECIMAL(38, 10)) <> "
        "try_cast(try_cast(quantity AS DECIMAL(38, 10)) AS DECIMAL(18, 3))",
        "has more than 3 decimals",
    ),
    ("amount", "try_cast(amount AS DECIMAL(38, 10)) IS NULL", "must be a number"),
    (
        "amount",
        "try_cast(amount AS DECIMAL(38, 10)) <> "
        "try_cast(try_cast(amount AS DECIMAL(38, 10)) AS DECIMAL(18, 6))",
        "has more than 6 decimals or is too large",
    ),
    (
        "currency",
        "NOT regexp_full_match(coalesce(trim(currency), ''), '[A-Z]{3}')",
        "must be a 3-letter ISO code such as USD",
    ),
    (
        "amount",
        "lower(trim(kind)) = 'return' AND (try_cast(amount AS DECIMAL(38, 10)) > 0 "
        "OR try_cast(quantity AS DECIMAL(38, 10)) > 0)",
        "a return must have a negative (or zero) quantity and amount",
    ),
    (
        "amount",
        "lower(trim(kind)) IN ('sale', 'pos') AND (try_cast(amount AS DECIMAL(38, 10)) < 0 "
        "OR try_cast(quantity AS DECIMAL(38, 10)) < 0)",
        "a sale must not be negative; record it as a return",
    ),
    ("partner_id", "partner_id NOT IN (SELECT id FROM known_partners)", "unknown partner"),
    ("sku", "sku NOT IN (SELECT sku FROM known_products)", "unknown SKU"),
)

LIMIT = 200


def _reader(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return f"read_parquet('{path}')"
    if suffix in (".csv", ".txt"):
        return f"read_csv('{path}', all_varchar = true, header = true, encoding = 'utf-8')"
    raise InputError([Problem(str(path), None, None, None, "not a .csv or .parquet file")])


def _stage(raw: duckdb.DuckDBPyConnection, path: Path, name: str) -> None:
    """The file as text columns plus its line number (the header is line 1 of a CSV)."""
    first = 2 if path.suffix.lower() != ".parquet" else 1
    try:
        columns = [c[0] for c in raw.execute(f"DESCRIBE SELECT * FROM {_reader(path)}").fetchall()]
    except duckdb.Error as error:
        message = str(error).splitlines()[0]
        raise InputError(
            [Problem(str(path), None, None, None, f"cannot be read: {message}")]
        ) from None
    missing = [c for c in LINE_COLUMNS if c not in columns]
    if missing:
        raise InputError([Problem(str(path), 1, ", ".join(missing), None, "missing column")])
    text = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in LINE_COLUMNS)
    raw.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT row_number() OVER () - 1 + {first} "
        f"AS file_line, {text} FROM {_reader(path)}"
    )


def _problems(raw: duckdb.DuckDBPyConnection, path: Path, name: str) -> list[Problem]:
    union = " UNION ALL ".join(
        f"SELECT file_line, '{field}' AS field, CAST(\"{field}\" AS VARCHAR) AS value, "
        f"'{message}' AS message FROM {name} WHERE coalesce({bad}, true)"
        for field, bad, message in CHECKS
    )
    duplicates = (
        f"SELECT min(file_line) FILTER (WHERE rn = 2), 'line_no', any_value(line_no), "
        f"'the same source, document and line appears more than once in the file' "
        f"FROM (SELECT *, row_number() OVER (PARTITION BY source, document, line_no "
        f"ORDER BY file_line) AS rn FROM {name}) GROUP BY source, document, line_no "
        f"HAVING count(*) > 1"
    )
    rows = raw.execute(
        f"SELECT * FROM ({union} UNION ALL {duplicates}) ORDER BY 1, 2 LIMIT {LIMIT}"
    ).fetchall()
    return [Problem(str(path), line, field, value, message) for line, field, value, message in rows]


def load_lines(
    backend,
    paths: Sequence[Path],
    partner_ids: Iterable[str],
    skus: Iterable[str],
    progress=None,
) -> ibis.Table:
    """Validate every file, then load them all into one line table; any problem refuses the
    load and lists every problem found (up to 200 a file)."""
    raw: duckdb.DuckDBPyConnection = backend.con
    raw.execute("CREATE OR REPLACE TEMP TABLE known_partners (id VARCHAR)")
    raw.executemany("INSERT INTO known_partners VALUES (?)", [[p] for p in partner_ids])
    raw.execute("CREATE OR REPLACE TEMP TABLE known_products (sku VARCHAR)")
    raw.executemany("INSERT INTO known_products VALUES (?)", [[s] for s in skus])
    problems, staged = [], []
    for i, path in enumerate(paths):
        name = f"staged_lines_{i}"
        _stage(raw, path, name)
        problems.extend(_problems(raw, path, name))
        staged.append(name)
        if progress:
            progress(path)
    if problems:
        raise InputError(problems)
    union = " UNION ALL ".join(f"SELECT * FROM {name}" for name in staged)
    raw.execute(
        "CREATE OR REPLACE TEMP TABLE lines AS SELECT trim(source) AS source, "
        "trim(document) AS document, CAST(line_no AS BIGINT) AS line_no, "
        "lower(trim(kind)) AS kind, partner_id, sku, CAST(date AS DATE) AS date, "
        "CAST(CAST(quantity AS DECIMAL(38, 3)) * 1000 AS BIGINT) AS quantity_milli, "
        "CAST(CAST(amount AS DECIMAL(38, 6)) * 1000000 AS BIGINT) AS amount_micros, "
        f"trim(currency) AS currency FROM ({union})"
    )
    _check_unique_across_files(raw, paths)
    return backend.table("lines")


def _check_unique_across_files(raw, paths: Sequence[Path]) -> None:
    if len(paths) < 2:
        return
    row = raw.execute(
        "SELECT source, document, line_no FROM lines GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if row:
        raise InputError(
            [
                Problem(
                    ", ".join(str(p) for p in paths),
                    None,
                    "line_no",
                    f"{row[0]}/{row[1]}/{row[2]}",
                    "the same line is in more than one file",
                )
            ]
        )
