"""Sales, return and point-of-sale lines from CSV or Parquet, validated in DuckDB.

Every value is read as text and checked with TRY_CAST, so a bad amount on line 40,312 is
reported as such (file, line, field, value) instead of failing the whole read; only clean files
reach the line store, converted to exact integers (quantity in thousandths, amount in micros).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa

from accrue.domain.identifiers import CONTROL, MAX_LENGTH
from accrue.engine.dataset import LINE_HASH, LINE_SCHEMA
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
    *(
        check
        for column in ("source", "document")
        for check in (
            (
                column,
                f"coalesce(length({column}), 0) > {MAX_LENGTH}",
                f"at most {MAX_LENGTH} characters",
            ),
            (
                column,
                f"coalesce(regexp_matches({column}, '{CONTROL}'), false)",
                "must not contain control characters such as NUL",
            ),
        )
    ),
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
) -> tuple[ibis.Table, tuple[int, int] | None]:
    """Validate every file, then present them all as one line table, with the line count and
    hash sum when the files were hashed on the way in; any problem refuses the load and lists
    every problem found (up to 200 a file).

    A Parquet file whose columns are already typed is validated by one aggregate query over
    its values and then read in place by the plan (nothing is copied); any other file, or a
    typed one with a problem, is staged as text so each problem names its row and field."""
    raw: duckdb.DuckDBPyConnection = backend.con
    register_known(raw, partner_ids, skus)
    problems, selects, hashes = [], [], []
    for i, path in enumerate(paths):
        typed = typed_parquet(raw, path)
        clean = _clean(raw, typed) if typed is not None else None
        if clean is not None:
            selects.append(typed)
            hashes.append(clean)
        else:
            name = f"staged_lines_{i}"
            check(raw, path, name)
            problems += [r.problem for r in rejections(raw, path, name, LIMIT)]
            problems += _duplicates(raw, path, name)
            raw.execute(f"CREATE OR REPLACE TEMP TABLE {name}_lines AS {normalized(name)}")
            raw.execute(f"DROP TABLE {name}_checked")  # free the text copy
            selects.append(f"SELECT * FROM {name}_lines")
        if progress:
            progress(path)
    if problems:
        raise InputError(problems)
    columns = ", ".join(LINE_SCHEMA.names)
    union = " UNION ALL ".join(f"SELECT {columns} FROM ({select})" for select in selects)
    raw.execute(f"CREATE OR REPLACE TEMP VIEW lines AS {union}")
    _check_unique(raw, paths)
    whole = len(hashes) == len(paths)  # every file hashed on the way in
    lines_hash = (sum(c for c, _ in hashes), sum(h for _, h in hashes)) if whole else None
    return backend.table("lines"), lines_hash


# What each column of a typed Parquet file must be to be read as it is: text, a date, a whole
# number, or a number of at most so many decimal places (an integer or a DECIMAL).
TYPED_COLUMNS = {
    "source": "text",
    "document": "text",
    "line_no": 0,
    "kind": "text",
    "partner_id": "text",
    "sku": "text",
    "date": "date",
    "quantity": 3,
    "amount": 6,
    "currency": "text",
}
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")


def _fits(expected: str | int, column_type: str) -> bool:
    if expected == "text":
        return column_type == "VARCHAR"
    if expected == "date":
        return column_type == "DATE"
    if column_type in _INTEGERS:
        return True
    decimal = re.fullmatch(r"DECIMAL\(\d+,(\d+)\)", column_type)
    return decimal is not None and int(decimal[1]) <= expected and expected > 0


def typed_parquet(raw: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """The SELECT that reads a typed Parquet file as line-store columns, or None when the
    file is not Parquet or a column needs the text path (text numbers, floats, a revision)."""
    if path.suffix.lower() != ".parquet":
        return None
    source = f"read_parquet({_quoted(str(path))})"
    try:
        described = raw.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except duckdb.Error:
        return None  # the text path says what is wrong with it
    types = {row[0]: row[1] for row in described}
    if set(OPTIONAL) & set(types) or not all(
        name in types and _fits(expected, types[name]) for name, expected in TYPED_COLUMNS.items()
    ):
        return None
    return (
        "SELECT trim(source) AS source, trim(document) AS document, "
        "CAST(line_no AS BIGINT) AS line_no, lower(trim(kind)) AS kind, partner_id, sku, date, "
        "CAST(quantity * 1000 AS BIGINT) AS quantity_milli, "
        f"CAST(amount * 1000000 AS BIGINT) AS amount_micros, trim(currency) AS currency "
        f"FROM {source}"
    )


TYPED_CHECKS = " OR ".join(
    (
        "coalesce(source, '') = ''",
        "coalesce(document, '') = ''",
        f"length(source) > {MAX_LENGTH} OR length(document) > {MAX_LENGTH}",
        f"regexp_matches(source, '{CONTROL}') OR regexp_matches(document, '{CONTROL}')",
        "line_no IS NULL OR line_no < 0",
        "coalesce(kind, '') NOT IN ('sale', 'return', 'pos', 'activity')",
        "date IS NULL OR date NOT BETWEEN DATE '1990-01-01' AND DATE '2100-12-31'",
        f"quantity_milli IS NULL OR abs(quantity_milli) >= {10**18}",
        f"amount_micros IS NULL OR abs(amount_micros) >= {10**18}",
        "NOT regexp_full_match(coalesce(currency, ''), '[A-Z]{3}')",
        "kind = 'return' AND (amount_micros > 0 OR quantity_milli > 0)",
        "kind <> 'return' AND (amount_micros < 0 OR quantity_milli < 0)",
        "partner_id NOT IN (SELECT id FROM known_partners)",
        "sku NOT IN (SELECT sku FROM known_products)",
    )
)


def _clean(raw: duckdb.DuckDBPyConnection, typed: str) -> tuple[int, int] | None:
    """One aggregate over the typed values: no row fails a check and no line repeats (the
    keys' hashes are distinct; a collision only sends the file to the text path, which then
    finds no repeat). Returns the line count and the sum of the lines' hashes (the input
    digest's, computed here in the same scan), or None."""
    key = "hash(source, document, line_no)"
    query = (
        f"SELECT count(*) FILTER (WHERE {TYPED_CHECKS}), count(*), count(DISTINCT {key}), "
        f"sum({LINE_HASH}) FROM ({typed})"
    )
    try:
        bad, count, keys, total = raw.execute(query).fetchone()
    except duckdb.Error:
        return None  # e.g. an amount too large for the line store: the text path names it
    return (count, int(total or 0)) if bad == 0 and keys == count else None


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _check_unique(raw, paths: Sequence[Path]) -> None:
    """A line (source, document, line) once across all files (each file was checked alone)."""
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
