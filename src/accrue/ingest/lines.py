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
import pyarrow as pa

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

# Numbers are checked and scaled as text: DuckDB parses text to DECIMAL(38) at about 5 µs a
# value, text functions at a fraction of that, and the result is the same exact integer.
QUANTITY = r"-?[0-9]{1,15}(\.[0-9]{1,3})?"
AMOUNT = r"-?[0-9]{1,12}(\.[0-9]{1,6})?"


def _positive(column: str) -> str:
    return f"(NOT starts_with(trim({column}), '-') AND regexp_matches({column}, '[1-9]'))"


def _negative(column: str) -> str:
    return f"(starts_with(trim({column}), '-') AND regexp_matches({column}, '[1-9]'))"


def _scaled(column: str, decimals: int) -> str:
    """Exact integer of `column` × 10**decimals, from its validated text."""
    digits = f"ltrim(trim({column}), '-')"
    whole = f"CAST(split_part({digits}, '.', 1) AS BIGINT) * {10**decimals}"
    fraction = f"CAST(rpad(split_part({digits}, '.', 2), {decimals}, '0') AS BIGINT)"
    sign = f"CASE WHEN starts_with(trim({column}), '-') THEN -1 ELSE 1 END"
    return f"{sign} * ({whole} + {fraction})"


# (field, SQL that is true when the value is bad, message), over the staged text columns.
CHECKS = (
    ("source", "coalesce(trim(source), '') = ''", "must not be empty"),
    ("document", "coalesce(trim(document), '') = ''", "must not be empty"),
    ("line_no", "try_cast(line_no AS BIGINT) IS NULL", "must be a whole number"),
    ("kind", "coalesce(lower(trim(kind)), '') NOT IN ('sale', 'return', 'pos')",
     "must be sale, return or pos"),
    ("date", "try_cast(date AS DATE) IS NULL", "must be a date, YYYY-MM-DD"),
    ("date", "try_cast(date AS DATE) NOT BETWEEN DATE '1990-01-01' AND DATE '2100-12-31'",
     "is out of range (1990–2100)"),
    ("quantity", f"NOT regexp_full_match(trim(quantity), '{QUANTITY}')",
     "must be a number with at most 3 decimals"),
    ("amount", f"NOT regexp_full_match(trim(amount), '{AMOUNT}')",
     "must be a number with at most 6 decimals and 12 digits before the point"),
    ("currency", "NOT regexp_full_match(coalesce(trim(currency), ''), '[A-Z]{3}')",
     "must be a 3-letter ISO code such as USD"),
    ("amount", f"lower(trim(kind)) = 'return' AND ({_positive('amount')} "
     f"OR {_positive('quantity')})",
     "a return must have a negative (or zero) quantity and amount"),
    ("amount", f"lower(trim(kind)) IN ('sale', 'pos') AND ({_negative('amount')} "
     f"OR {_negative('quantity')})",
     "a sale must not be negative; record it as a return"),
    ("partner_id", "known_partner.id IS NULL", "unknown partner"),
    ("sku", "known_product.sku IS NULL", "unknown SKU"),
)  # fmt: skip

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
    """One scan evaluates every check on every row; only failing rows come back."""
    flags = ", ".join(f"coalesce({bad}, true) AS bad_{i}" for i, (_, bad, _) in enumerate(CHECKS))
    rows = raw.execute(
        f"SELECT * FROM (SELECT staged.*, {flags} FROM {name} AS staged "
        "LEFT JOIN known_partners AS known_partner ON staged.partner_id = known_partner.id "
        "LEFT JOIN known_products AS known_product ON staged.sku = known_product.sku) "
        f"WHERE {' OR '.join(f'bad_{i}' for i in range(len(CHECKS)))} "
        f"ORDER BY file_line LIMIT {LIMIT}"
    ).fetchall()
    columns = ["file_line", *LINE_COLUMNS]
    problems = []
    for row in rows:
        values = dict(zip(columns, row, strict=False))
        for i, (field, _, message) in enumerate(CHECKS):
            if row[len(columns) + i]:
                problems.append(
                    Problem(str(path), values["file_line"], field, values[field], message)
                )
    return problems + _duplicates(raw, path, name)


def _duplicates(raw: duckdb.DuckDBPyConnection, path: Path, name: str) -> list[Problem]:
    rows = raw.execute(
        f"SELECT max(file_line), any_value(line_no) FROM {name} "
        f"GROUP BY source, document, line_no HAVING count(*) > 1 ORDER BY 1 LIMIT {LIMIT}"
    ).fetchall()
    message = "the same source, document and line appears more than once in the file"
    return [Problem(str(path), line, "line_no", value, message) for line, value in rows]


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
    raw.register("known_partners", pa.table({"id": pa.array(list(partner_ids), pa.string())}))
    raw.register("known_products", pa.table({"sku": pa.array(list(skus), pa.string())}))
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
        f"{_scaled('quantity', 3)} AS quantity_milli, {_scaled('amount', 6)} AS amount_micros, "
        f"trim(currency) AS currency FROM ({union})"
    )
    for name in staged:  # the text copies are no longer needed: free their memory
        raw.execute(f"DROP TABLE {name}")
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
