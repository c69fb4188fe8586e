"""Sales, return and point-of-sale lines from CSV or Parquet, validated in DuckDB.

Every value is read as text and checked with TRY_CAST, so a bad amount on line 40,312 is
reported as such (file, line, field, value) instead of failing the whole read; only clean files
reach the line store, converted to exact integers (quantity in thousandths, amount in micros).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa

from accrue.engine.dataset import LINE_SCHEMA
from accrue.ingest.errors import InputError, Problem
from accrue.ingest.tabular import create, staged

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


def _signed(column: str, negative: bool) -> str:
    """True when `column` has a nonzero digit and that sign (the pattern runs only on rows of
    that sign)."""
    minus = f"ltrim({column}) LIKE '-%'"
    sign = minus if negative else f"NOT {minus}"
    return f"(CASE WHEN {sign} THEN regexp_matches({column}, '[1-9]') ELSE false END)"


def _only_for(kinds: str, bad: str) -> str:
    """A check for some kinds of line, evaluated on those rows alone (CASE, unlike AND, does
    not compute the other side for every row)."""
    return f"CASE WHEN lower(trim(kind)) IN ({kinds}) THEN coalesce({bad}, false) ELSE false END"


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
    (
        "line_no",
        "NOT regexp_full_match(coalesce(trim(line_no), ''), '[0-9]{1,18}')",
        "must be a whole number",
    ),
    (
        "kind",
        "coalesce(lower(trim(kind)), '') NOT IN ('sale', 'return', 'pos', 'activity')",
        "must be sale, return, pos or activity",
    ),
    ("date", "try_cast(date AS DATE) IS NULL", "must be a date, YYYY-MM-DD"),
    (
        "date",
        "try_cast(date AS DATE) IS NOT NULL "
        "AND try_cast(date AS DATE) NOT BETWEEN DATE '1990-01-01' AND DATE '2100-12-31'",
        "is out of range (1990–2100)",
    ),
    (
        "quantity",
        f"NOT regexp_full_match(trim(quantity), '{QUANTITY}')",
        "must be a number with at most 3 decimals",
    ),
    (
        "amount",
        f"NOT regexp_full_match(trim(amount), '{AMOUNT}')",
        "must be a number with at most 6 decimals and 12 digits before the point",
    ),
    (
        "currency",
        "NOT regexp_full_match(coalesce(trim(currency), ''), '[A-Z]{3}')",
        "must be a 3-letter ISO code such as USD",
    ),
    (
        "amount",
        _only_for("'return'", f"{_signed('amount', False)} OR {_signed('quantity', False)}"),
        "a return must have a negative (or zero) quantity and amount",
    ),
    (
        "amount",
        _only_for(
            "'sale', 'pos', 'activity'", f"{_signed('amount', True)} OR {_signed('quantity', True)}"
        ),
        "a sale must not be negative; record it as a return",
    ),
    ("partner_id", "known_partner.id IS NULL", "unknown partner"),
    ("sku", "known_product.sku IS NULL", "unknown SKU"),
)

LIMIT = 200

# A line may carry a revision: a higher revision of the same source, document and line
# supersedes the earlier one explicitly, whatever order they arrive in.
OPTIONAL = {"revision": "1"}
REVISION_CHECK = (
    "revision",
    "NOT regexp_full_match(coalesce(trim(revision), ''), '0*[1-9][0-9]{0,8}')",
    "must be a whole number from 1 (a correction carries a higher revision)",
)
ALL_CHECKS = (*CHECKS, REVISION_CHECK)
_BAD = " OR ".join(f"bad_{i}" for i in range(len(ALL_CHECKS)))


@dataclass(frozen=True)
class Rejection:
    """A problem with one row, and the row as received so it can be corrected."""

    problem: Problem
    row: dict

    @property
    def key(self) -> str:
        return "/".join(str(self.row.get(c) or "") for c in ("source", "document", "line_no"))


def register_known(raw: duckdb.DuckDBPyConnection, partner_ids: Iterable[str], skus: Iterable[str]):
    raw.register("known_partners", pa.table({"id": pa.array(list(partner_ids), pa.string())}))
    raw.register("known_products", pa.table({"sku": pa.array(list(skus), pa.string())}))


def check(raw: duckdb.DuckDBPyConnection, path: Path, name: str, table=None) -> int:
    """Read a file and evaluate every check on every row in the same scan (`{name}_checked`)."""
    rows = staged(raw, path, name, LINE_COLUMNS, OPTIONAL, table)
    flags = ", ".join(
        f"coalesce({bad}, true) AS bad_{i}" for i, (_, bad, _) in enumerate(ALL_CHECKS)
    )
    create(
        raw,
        path,
        f"CREATE OR REPLACE TEMP TABLE {name}_checked AS SELECT staged.*, {flags} "
        f"FROM ({rows}) AS staged "
        "LEFT JOIN known_partners AS known_partner ON staged.partner_id = known_partner.id "
        "LEFT JOIN known_products AS known_product ON staged.sku = known_product.sku",
    )
    return raw.execute(f"SELECT count(*) FROM {name}_checked").fetchone()[0]


def rejections(raw, path: Path, name: str, limit: int | None = None) -> list[Rejection]:
    """Every failing check of every bad row, in file order."""
    columns = ["file_line", *LINE_COLUMNS, *OPTIONAL]
    cursor = raw.execute(
        f"SELECT {', '.join(columns)}, {', '.join(f'bad_{i}' for i in range(len(ALL_CHECKS)))} "
        f"FROM {name}_checked WHERE {_BAD} ORDER BY file_line"
        + (f" LIMIT {limit}" if limit else "")
    )
    found = []
    for values in cursor.fetchall():
        row = dict(zip(columns, values, strict=False))
        for i, (field, _, message) in enumerate(ALL_CHECKS):
            if values[len(columns) + i]:
                problem = Problem(str(path), row["file_line"], field, row[field], message)
                found.append(Rejection(problem, {c: row[c] for c in columns[1:]}))
    return found


def normalized(name: str) -> str:
    """The good rows of `{name}_checked` as exact typed columns, with a digest of the content
    that a correction changes (everything but the line's identity and revision)."""
    return (
        "SELECT file_line, trim(source) AS source, trim(document) AS document, "
        "CAST(trim(line_no) AS BIGINT) AS line_no, CAST(trim(revision) AS INTEGER) AS revision, "
        "lower(trim(kind)) AS kind, partner_id, sku, CAST(date AS DATE) AS date, "
        f"{_scaled('quantity', 3)} AS quantity_milli, {_scaled('amount', 6)} AS amount_micros, "
        "trim(currency) AS currency "
        f"FROM {name}_checked WHERE NOT ({_BAD})"
    )


def _duplicates(raw: duckdb.DuckDBPyConnection, path: Path, name: str) -> list[Problem]:
    rows = raw.execute(
        f"SELECT max(file_line), any_value(line_no) FROM {name}_checked "
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
    register_known(raw, partner_ids, skus)
    problems, staged = [], []
    for i, path in enumerate(paths):
        name = f"staged_lines_{i}"
        check(raw, path, name)
        problems += [r.problem for r in rejections(raw, path, name, LIMIT)]
        problems += _duplicates(raw, path, name)
        staged.append(name)
        if progress:
            progress(path)
    if problems:
        raise InputError(problems)
    union = " UNION ALL ".join(normalized(name) for name in staged)
    columns = ", ".join(LINE_SCHEMA.names)
    raw.execute(f"CREATE OR REPLACE TEMP TABLE lines AS SELECT {columns} FROM ({union})")
    for name in staged:  # the text copies are no longer needed: free their memory
        raw.execute(f"DROP TABLE {name}_checked")
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
