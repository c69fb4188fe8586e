"""Master data from CSV: partners, products, exchange rates, sales reps."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

from accrue.domain.catalog import Product
from accrue.domain.fx import FxRate
from accrue.domain.identifiers import MAX_LENGTH, identifier_problem
from accrue.domain.numbers import read_decimal
from accrue.domain.partners import Partner, PartnerTree, PartnerTreeError
from accrue.domain.reps import SalesRep
from accrue.ingest.errors import InputError, Problem
from accrue.ingest.tabular import records

PARTNER_COLUMNS = ("id", "name", "parent_id", "segment", "region")
PRODUCT_COLUMNS = ("sku", "name", "category", "product_line")
FX_COLUMNS = ("valid_from", "from_currency", "to_currency", "rate")
REP_COLUMNS = ("rep_id", "name", "partner_id")


def table_rows(path: Path, required: tuple[str, ...], problems: list[Problem]):
    """(line number, row) for each data row; a missing column is one problem for the file."""
    try:
        for line, row in records(path):
            if line == 1:
                missing = [c for c in required if c not in row]
                if missing:
                    problems.append(
                        Problem(str(path), 1, ", ".join(missing), None, "missing column")
                    )
                    return
                continue
            yield line, row
    except InputError as error:
        problems.extend(error.problems)


def filled(path, line, row, fields, problems) -> bool:
    empty = [f for f in fields if not row.get(f)]
    for name in empty:
        problems.append(Problem(str(path), line, name, "", "must not be empty"))
    return not empty


def identifiers(path, line, row, fields, problems, longest: int = MAX_LENGTH) -> bool:
    """Each of `fields` that is given is a sound identifier (`accrue.domain.identifiers`)."""
    bad = [(f, why) for f in fields if (why := identifier_problem(row.get(f) or "", longest))]
    for name, why in bad:
        problems.append(Problem(str(path), line, name, row[name], why))
    return not bad


def read_partners(path: Path, complete: bool = True) -> list[Partner]:
    """The partners of a file; a `complete` file is the whole tree (the books instead check
    the tree an update leaves, so an update may name parents it does not list)."""
    problems: list[Problem] = []
    partners = []
    for line, row in table_rows(path, PARTNER_COLUMNS, problems):
        if filled(path, line, row, ("id", "name"), problems) and identifiers(
            path, line, row, ("id", "parent_id", "segment", "region"), problems
        ):
            extra = {k: v for k, v in row.items() if k not in PARTNER_COLUMNS and v}
            partners.append(
                Partner(
                    row["id"],
                    row["name"],
                    row["parent_id"] or None,
                    row["segment"] or None,
                    row["region"] or None,
                    extra,
                )
            )
    if not problems:
        try:
            PartnerTree(partners if complete else [Partner(p.id, p.name) for p in partners])
        except PartnerTreeError as error:
            problems.append(Problem(str(path), None, "parent_id", None, str(error)))
    if problems:
        raise InputError(problems)
    return partners


def read_products(path: Path) -> list[Product]:
    problems: list[Problem] = []
    products, seen = [], set()
    for line, row in table_rows(path, PRODUCT_COLUMNS, problems):
        if not (
            filled(path, line, row, PRODUCT_COLUMNS, problems)
            and identifiers(path, line, row, ("sku",), problems)
        ):
            continue
        if row["sku"] in seen:
            problems.append(Problem(str(path), line, "sku", row["sku"], "listed twice"))
        seen.add(row["sku"])
        products.append(
            Product(
                row["sku"],
                row["name"],
                row["category"],
                row["product_line"],
                row.get("uom") or "EA",
            )
        )
    if problems:
        raise InputError(problems)
    return products


def read_fx(path: Path) -> list[FxRate]:
    problems: list[Problem] = []
    rates = []
    for line, row in table_rows(path, FX_COLUMNS, problems):
        if not filled(path, line, row, FX_COLUMNS, problems):
            continue
        try:
            valid_from = date.fromisoformat(row["valid_from"])
        except ValueError:
            problems.append(
                Problem(str(path), line, "valid_from", row["valid_from"], "not a YYYY-MM-DD date")
            )
            continue
        try:
            rate = read_decimal(row["rate"])
        except ValueError as error:
            problems.append(Problem(str(path), line, "rate", row["rate"], str(error)))
            continue
        if rate <= 0 or rate.as_tuple().exponent < -6:
            problems.append(
                Problem(str(path), line, "rate", row["rate"], "positive, at most 6 decimals")
            )
            continue
        rates.append(FxRate(valid_from, row["from_currency"], row["to_currency"], rate))
    if problems:
        raise InputError(problems)
    return rates


def read_reps(path: Path) -> list[SalesRep]:
    problems: list[Problem] = []
    names: dict[str, str] = {}
    assigned: dict[str, set[str]] = defaultdict(set)
    for line, row in table_rows(path, REP_COLUMNS, problems):
        if filled(path, line, row, ("rep_id", "name"), problems) and identifiers(
            path, line, row, ("rep_id", "partner_id"), problems
        ):
            names[row["rep_id"]] = row["name"]
            if row["partner_id"]:
                assigned[row["rep_id"]].add(row["partner_id"])
    if problems:
        raise InputError(problems)
    return [SalesRep(rid, name, frozenset(assigned[rid])) for rid, name in sorted(names.items())]
