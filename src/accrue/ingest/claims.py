"""Ship-and-debit agreements and claims from CSV or Excel (and claims as JSON): every bad
value is reported with its file, line and field, and a file with any is refused whole — a
claim is answered as sent or not at all."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from accrue.domain.numbers import read_decimal
from accrue.domain.shipdebit import Agreement, ClaimLine, Pricing
from accrue.ingest.errors import InputError, Problem
from accrue.ingest.master import filled, identifiers, table_rows
from accrue.ingest.tabular import json_document

AGREEMENT_COLUMNS = (
    "agreement_id",
    "partner_id",
    "end_customer",
    "sku",
    "book_cost",
    "authorized_cost",
    "max_quantity",
    "valid_from",
    "valid_to",
    "claim_window_days",
)
CLAIM_COLUMNS = (
    "claim_number",
    "partner_id",
    "agreement_id",
    "end_customer",
    "sku",
    "invoice",
    "invoice_line",
    "quantity",
    "sold_on",
    "claimed_on",
)
CLAIM_IDS = ("claim_number", "partner_id", "agreement_id", "sku", "invoice")
INVOICE_LINE_LENGTH = 32  # as the records keep it
MAX_DAYS = 36_500  # a claim window of a century: more is a typo, and overflows date arithmetic
AGREEMENT_LEVEL = (
    "partner_id",
    "end_customer",
    "valid_from",
    "valid_to",
    "claim_window_days",
    "currency",
    "exclusive_of",
)


@dataclass
class Fields:
    """One row's values, parsed; each bad one becomes a Problem naming file, line, field."""

    source: str
    line: int
    row: dict[str, str]
    problems: list[Problem]

    def _bad(self, name: str, message: str) -> None:
        self.problems.append(Problem(self.source, self.line, name, self.row.get(name), message))

    def text(self, name: str, default: str = "") -> str:
        return (self.row.get(name) or default).strip()

    def day(self, name: str, default: date | None = None) -> date:
        value = self.text(name)
        if not value and default is not None:
            return default
        try:
            return date.fromisoformat(value)
        except ValueError:
            self._bad(name, "not a YYYY-MM-DD date")
            return date.min

    def number(self, name: str, places: int = 6, optional: bool = False) -> Decimal | None:
        value = self.text(name)
        if not value and optional:
            return None
        try:
            number = read_decimal(value)
        except ValueError as error:
            self._bad(name, f"{error} (write 1234.50: no separators, no currency sign)")
            return None
        if number < 0 or number.as_tuple().exponent < -places:
            self._bad(name, f"must be zero or positive, with at most {places} decimals")
        return number

    def count(self, name: str) -> int:
        """Whole days, at most MAX_DAYS, in ASCII digits ("²" is a digit to `isdigit`, not
        to `int`)."""
        value = self.text(name)
        short = value.isascii() and value.isdigit() and len(value) <= len(str(MAX_DAYS))
        if not short or int(value) > MAX_DAYS:
            self._bad(name, f"not a whole number of days up to {MAX_DAYS}")
            return 0
        return int(value)


def _checked(found, problems: list[Problem]):
    if problems:
        raise InputError(problems)
    return found


def read_agreements(path: Path) -> list[Agreement]:
    """Agreements, one row per product; the agreement's own fields must agree across rows."""
    problems: list[Problem] = []
    grouped: dict[str, list[Fields]] = defaultdict(list)
    for line, row in table_rows(path, AGREEMENT_COLUMNS, problems):
        if filled(path, line, row, AGREEMENT_COLUMNS, problems) and identifiers(
            path, line, row, ("agreement_id", "partner_id", "sku"), problems
        ):
            grouped[row["agreement_id"]].append(Fields(str(path), line, row, problems))
    agreements = [_agreement(agreement_id, rows) for agreement_id, rows in grouped.items()]
    return _checked(agreements, problems)


def _agreement(agreement_id: str, rows: list[Fields]) -> Agreement:
    first = rows[0]
    for fields in rows[1:]:
        for name in AGREEMENT_LEVEL:
            if fields.text(name) != first.text(name):
                fields._bad(name, f"differs from line {first.line} of agreement {agreement_id}")
    products = {}
    for fields in rows:
        sku = fields.text("sku")
        if sku in products:
            fields._bad("sku", f"listed twice for agreement {agreement_id}")
        book, authorized = fields.number("book_cost"), fields.number("authorized_cost")
        if authorized is not None and book is not None and authorized > book:
            fields._bad("authorized_cost", "above book_cost: nothing to claim back")
        products[sku] = Pricing(book, authorized, fields.number("max_quantity", places=3))
    valid_from, valid_to = first.day("valid_from"), first.day("valid_to")
    if valid_to < valid_from:
        first._bad("valid_to", "before valid_from")
    exclusive = tuple(p for p in first.text("exclusive_of").replace(",", ";").split(";") if p)
    return Agreement(
        id=agreement_id,
        version=0,
        partner_id=first.text("partner_id"),
        end_customer=first.text("end_customer"),
        currency=first.text("currency", "USD").upper(),
        valid_from=valid_from,
        valid_to=valid_to,
        claim_window_days=first.count("claim_window_days"),
        products=products,
        exclusive_of=tuple(p.strip() for p in exclusive),
    )


@dataclass(frozen=True)
class ClaimIn:
    """A claim as sent: its number, partner, date and lines."""

    number: str
    partner_id: str
    claimed_on: date
    currency: str
    lines: list[ClaimLine]
    source: str


def read_claims(path: Path, today: date, name: str | None = None) -> list[ClaimIn]:
    """Claims in a CSV, Excel or JSON file: one row per claimed invoice line; a claim without
    `claimed_on` is dated `today`; `name` is what the claims call the file (its path when not
    given)."""
    problems: list[Problem] = []
    if path.suffix.lower() == ".json":
        rows = _json_rows(path, problems)
    else:
        rows = table_rows(path, CLAIM_COLUMNS, problems)
    return _checked(claims_from_rows(name or str(path), rows, problems, today), problems)


def _json_rows(path: Path, problems: list[Problem]) -> Iterator[tuple[int, dict]]:
    try:
        document = json_document(path)
    except InputError as refused:
        problems.extend(refused.problems)
        return
    yield from json_claim_rows(document, str(path), problems)


def json_claim_rows(document, source: str, problems: list[Problem]):
    """{"claims": [...]} or a list of line objects: item N is line N."""
    items = document.get("lines") if isinstance(document, dict) else document
    if not isinstance(items, list) or not items:
        problems.append(Problem(source, None, None, None, 'expected {"lines": [objects]}'))
        return
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            problems.append(Problem(source, n, None, None, "not an object"))
            continue
        missing = [c for c in CLAIM_COLUMNS if c not in item and c != "claimed_on"]
        if missing:
            problems.append(Problem(source, n, ", ".join(missing), None, "missing"))
            continue
        yield n, {k: "" if v is None else str(v) for k, v in item.items()}


def claims_from_rows(
    source: str, rows: Iterable[tuple[int, dict]], problems: list[Problem], today: date
) -> list[ClaimIn]:
    grouped: dict[tuple[str, str], list[ClaimLine]] = defaultdict(list)
    dates: dict[tuple[str, str], date] = {}
    currencies: dict[tuple[str, str], str] = {}
    required = tuple(c for c in CLAIM_COLUMNS if c != "claimed_on")
    for line, row in rows:
        if not (
            filled(source, line, row, required, problems)
            and identifiers(source, line, row, CLAIM_IDS, problems)
            and identifiers(source, line, row, ("invoice_line",), problems, INVOICE_LINE_LENGTH)
        ):
            continue
        fields = Fields(source, line, row, problems)
        key = (fields.text("partner_id"), fields.text("claim_number"))
        claimed_on = dates.setdefault(key, fields.day("claimed_on", today))
        currencies.setdefault(key, fields.text("currency", "USD").upper())
        grouped[key].append(_claim_line(fields, len(grouped[key]) + 1, claimed_on))
    return [
        ClaimIn(
            number, partner, dates[(partner, number)], currencies[(partner, number)], lines, source
        )
        for (partner, number), lines in grouped.items()
    ]


def _claim_line(fields: Fields, line_no: int, claimed_on: date) -> ClaimLine:
    quantity = fields.number("quantity", places=3)
    if quantity == 0:
        fields._bad("quantity", "must be more than zero")
    return ClaimLine(
        line_no=line_no,
        partner_id=fields.text("partner_id"),
        agreement_id=fields.text("agreement_id"),
        end_customer=fields.text("end_customer"),
        sku=fields.text("sku"),
        invoice=fields.text("invoice"),
        invoice_line=fields.text("invoice_line"),
        quantity=quantity or Decimal(0),  # a bad one is a problem already: nothing is kept
        sold_on=fields.day("sold_on"),
        claimed_on=claimed_on,
        claimed_amount=fields.number("amount", places=2, optional=True),
    )
