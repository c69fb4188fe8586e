"""X12 transaction sets as Accrue reads and writes them (ECIA layouts, see
`../shared/edi/NOTES.md`): 844 claims in, 849 answers out, 867 resale reports in as
point-of-sale lines. Qualifiers that would change the meaning are checked: an unknown one is
an error naming its segment and element, never a guess.

844:  BAA*00*<type>*<claim date>**<claim number>  N1*DS*<name>*91*<partner id>
      CON*AU*<agreement>*<status>  N1*EN*<end customer>
      PAD*<line>*SD  LIN**VP*<sku>  QTY*39*<units>*EA  REF*IV*<invoice>  REF*LI*<invoice line>
      DTM*003*<invoice date>  [AMT*CL*<amount claimed>]
849:  BRC*00*<date>*<claim number>  N1*DS  CON*AU*<agreement>*<status>
      PAD*<line>*SD  LIN  AAA*<Y|N>**<reason>  QTY*39*<units approved>*EA  AMT*AP*<amount>
      REF*IV  REF*LI  … CTT*<CON count>*<units approved>
867:  BPT*00*<report>*<date>*<type>  [CUR*<entity>*<currency>]  N1*DS|BY*<name>*91*<partner id>
      PTD*<transfer type>  REF*DI*<invoice>  DTM*003*<date>
      QTY*<q>*<units>*EA  LIN*<n>*VP*<sku>  UIT*EA*<price>  (or SII*VP*<sku>*<units>*EA*<price>)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from accrue.domain.identifiers import MAX_RECORD_ID
from accrue.domain.money import exact, money_text
from accrue.domain.numbers import read_decimal
from accrue.domain.shipdebit import ClaimLine
from accrue.ingest.claims import ClaimIn
from accrue.ingest.x12 import Segment, Transaction, X12Error, build, parse

PARTNER_ENTITIES = ("DS", "BY", "DB")  # distributor, buying party, distributor branch
END_CUSTOMER_ENTITIES = ("EN", "ST", "EU")  # end user, ship to, end customer
OTHER_PARTIES = ("SU", "MF", "SE")  # supplier, manufacturer, selling party: named, not used
INVOICE_QUALIFIERS = ("IV", "DI")
SALE_TYPES = {"SD": "pos", "SS": "pos", "DS": "pos", "SH": "pos", "BP": "pos", "PT": "pos"}
RETURN_TYPES = {"RP": "return", "RB": "return", "RV": "return"}
CURRENCY = re.compile(r"[A-Z]{3}")
X12_NAMES = (".edi", ".x12")


def x12_text(content: bytes, name: str) -> str | None:
    """The text of an X12 file (one that starts with ISA or a bare ST, or is named .edi or
    .x12, whatever it holds), or None for any other file. X12 is ASCII, so the text must be
    UTF-8: a Latin-1 file is refused, naming its line, rather than read with its accents
    turned into replacement characters; an empty one is refused by the reader as X12."""
    if not (content.lstrip()[:3] in (b"ISA", b"ST*") or Path(name).suffix.lower() in X12_NAMES):
        return None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        byte = content[error.start]
        raise X12Error(
            f"not UTF-8 text (byte {byte:#04x} at offset {error.start}): send the file as UTF-8",
            source=name,
            line=line,
        ) from None


@dataclass
class _Reader:
    """Checked access to one transaction's segments, for errors that name the element."""

    source: str
    transaction: Transaction

    def fail(self, segment: Segment, element: int, message: str) -> X12Error:
        name = f"{segment.id}{element:02d}"
        return X12Error(
            f"{message} ({segment.get(element)!r})",
            source=self.source,
            line=segment.line,
            segment=segment.id,
            element=name,
        )

    def one_of(self, segment: Segment, element: int, allowed) -> str:
        value = segment.get(element)
        if value not in allowed:
            raise self.fail(segment, element, f"expected one of {', '.join(allowed)}")
        return value

    def text(self, segment: Segment, element: int) -> str:
        value = segment.get(element).strip()
        if not value:
            raise self.fail(segment, element, "must not be empty")
        return value

    def day(self, segment: Segment, element: int) -> date:
        try:
            return datetime.strptime(segment.get(element), "%Y%m%d").date()
        except ValueError:
            raise self.fail(segment, element, "not a CCYYMMDD date") from None

    def number(self, segment: Segment, element: int) -> Decimal:
        try:
            value = read_decimal(segment.get(element))
        except ValueError as error:
            raise self.fail(segment, element, str(error)) from None
        if value < 0:
            raise self.fail(segment, element, "not a positive number")
        return value

    def line_number(self, segment: Segment, element: int) -> int:
        """A line's number: whole, from 1, and within the records' 32-bit integers."""
        value = self.number(segment, element)
        if value != value.to_integral_value() or not 1 <= value <= MAX_RECORD_ID:
            raise self.fail(segment, element, f"not a whole line number from 1 to {MAX_RECORD_ID}")
        return int(value)


def _first(segments, ids: str) -> Segment | None:
    return next((s for s in segments if s.id == ids), None)


def _currency(reader: _Reader, body) -> str:
    """The transaction's currency, CUR02 (USD when no CUR is sent). Every CUR must name the
    same one: a line is never booked in a currency guessed for it."""
    currency = None
    for segment in body:
        if segment.id == "CUR":
            code = reader.text(segment, 2)
            if not CURRENCY.fullmatch(code):
                raise reader.fail(segment, 2, "not a 3-letter ISO 4217 currency code")
            if currency not in (None, code):
                raise reader.fail(segment, 2, f"differs from the transaction's {currency}")
            currency = code
    return currency or "USD"


def _only(reader: _Reader, code: str) -> None:
    if reader.transaction.code != code:
        raise reader.fail(reader.transaction.st, 1, f"a {code} was expected")


# --- 844 in ------------------------------------------------------------------------------------


def claims_from_844(text: str, source: str) -> list[ClaimIn]:
    """Every 844 in the file as a claim; anything else in it is an error."""
    return [_claim(_Reader(source, t)) for t in parse(text, source).transactions()]


def _claim(reader: _Reader) -> ClaimIn:
    _only(reader, "844")
    body = reader.transaction.body
    head = _first(body, "BAA")
    if head is None:
        raise reader.fail(reader.transaction.st, 1, "an 844 starts with BAA")
    partner = _partner(reader, body)
    claimed_on, number = reader.day(head, 3), reader.text(head, 5)
    currency = _currency(reader, body)
    lines = list(_claim_lines(reader, body, partner, claimed_on))
    if not lines:
        raise reader.fail(head, 1, "the claim has no PAD lines")
    return ClaimIn(number, partner, claimed_on, currency, lines, reader.source)


def _partner(reader: _Reader, body) -> str:
    for segment in body:
        if segment.id in ("CON", "PTD"):
            break
        if segment.id == "N1":
            entity = reader.one_of(segment, 1, (*PARTNER_ENTITIES, *OTHER_PARTIES))
            if entity in PARTNER_ENTITIES:
                return reader.text(segment, 4)
    raise reader.fail(body[0], 1, "no N1*DS (distributor, with its id in N104) before the lines")


def _claim_lines(reader: _Reader, body, partner: str, claimed_on: date) -> Iterator[ClaimLine]:
    agreement, customer, line = "", "", None
    for segment in body:
        if segment.id == "CON":
            if line:
                yield _claim_line(reader, line, partner, agreement, customer, claimed_on)
                line = None
            agreement, customer = reader.text(segment, 2), ""
        elif segment.id == "N1" and agreement and line is None:
            reader.one_of(segment, 1, END_CUSTOMER_ENTITIES)
            customer = reader.text(segment, 2)
        elif segment.id == "PAD":
            if not agreement:
                raise reader.fail(segment, 1, "a PAD line comes after its CON (agreement)")
            if line:
                yield _claim_line(reader, line, partner, agreement, customer, claimed_on)
            line = [segment]
        elif segment.id == "CTT":  # the summary: the lines are over
            break
        elif line is not None:
            line.append(segment)
    if line:
        yield _claim_line(reader, line, partner, agreement, customer, claimed_on)


def _claim_line(reader, segments, partner, agreement, customer, claimed_on) -> ClaimLine:
    pad = segments[0]
    found = {
        "invoice": "",
        "line": "",
        "sku": "",
        "quantity": None,
        "sold_on": None,
        "amount": None,
    }
    for segment in segments[1:]:
        _read_line_segment(reader, segment, found)
    for name, element in (
        ("sku", "LIN03"),
        ("quantity", "QTY02"),
        ("invoice", "REF02"),
        ("sold_on", "DTM02"),
    ):
        if found[name] in ("", None):
            raise reader.fail(pad, 1, f"line {pad.get(1)} has no {name} ({element})")
    if not customer:
        raise reader.fail(pad, 1, "no end customer (N1*EN after CON) for this line")
    return ClaimLine(
        line_no=reader.line_number(pad, 1),
        partner_id=partner,
        agreement_id=agreement,
        end_customer=customer,
        sku=found["sku"],
        invoice=found["invoice"],
        invoice_line=found["line"] or "1",
        quantity=found["quantity"],
        sold_on=found["sold_on"],
        claimed_on=claimed_on,
        claimed_amount=found["amount"],
    )


def _read_line_segment(reader: _Reader, segment: Segment, found: dict) -> None:
    if segment.id == "LIN":
        reader.one_of(segment, 2, ("VP", "BP", "MG"))
        found["sku"] = reader.text(segment, 3)
    elif segment.id == "QTY":
        found["quantity"] = reader.number(segment, 2)
    elif segment.id == "REF":
        kind = reader.one_of(segment, 1, (*INVOICE_QUALIFIERS, "LI", "PO", "CO"))
        if kind in INVOICE_QUALIFIERS:
            found["invoice"] = reader.text(segment, 2)
        elif kind == "LI":
            found["line"] = reader.text(segment, 2)
    elif segment.id == "DTM":
        reader.one_of(segment, 1, ("003", "011"))
        found["sold_on"] = reader.day(segment, 2)
    elif segment.id == "AMT":
        reader.one_of(segment, 1, ("CL",))
        found["amount"] = reader.number(segment, 2)
    elif segment.id not in ("UIT", "PID", "MEA", "CUR"):
        raise reader.fail(segment, 1, f"segment {segment.id} is not expected in a PAD line")


def build_844(claim: ClaimIn, partner_name: str, control: int, when: datetime) -> str:
    """An 844 for `claim` (used by tests and the demo to play the distributor)."""
    body = [
        Segment("BAA", ("00", "CP", claim.claimed_on.strftime("%Y%m%d"), "", claim.number)),
        Segment("N1", ("DS", partner_name, "91", claim.partner_id)),
    ]
    loop = None
    for line in claim.lines:
        if (line.agreement_id, line.end_customer) != loop:  # a CON loop names one end customer
            loop = (line.agreement_id, line.end_customer)
            body += [Segment("CON", ("AU", loop[0], "AC")), Segment("N1", ("EN", loop[1]))]
        body += [
            Segment("PAD", (str(line.line_no), "SD")),
            Segment("LIN", ("", "VP", line.sku)),
            Segment("QTY", ("39", _plain(line.quantity), "EA")),
            Segment("REF", ("IV", line.invoice)),
            Segment("REF", ("LI", line.invoice_line)),
            Segment("DTM", ("003", line.sold_on.strftime("%Y%m%d"))),
        ]
    body.append(Segment("CTT", (str(len(claim.lines)),)))
    return build(
        "CF",
        "004010",
        [("844", body)],
        sender=claim.partner_id,
        receiver="ACCRUE",
        control=control,
        when=when,
    )


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


# --- 849 out -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One answered claim line, as the 849 and the CSV response carry it."""

    line_no: int
    agreement_id: str
    sku: str
    invoice: str
    invoice_line: str
    quantity: Decimal
    outcome: str
    approved_quantity: Decimal
    amount: Decimal
    reason: str | None


def build_849(
    number: str, partner_id: str, partner_name: str, on: date, answers: list[Answer], control: int
) -> str:
    body = [
        Segment("BRC", ("00", on.strftime("%Y%m%d"), number)),
        Segment("N1", ("DS", partner_name, "91", partner_id)),
    ]
    agreements, units = 0, Decimal(0)
    agreement = None
    for answer in answers:
        if answer.agreement_id != agreement:
            agreement, agreements = answer.agreement_id, agreements + 1
            body.append(Segment("CON", ("AU", agreement, "AC")))
        valid = "N" if answer.outcome == "rejected" else "Y"
        body += [
            Segment("PAD", (str(answer.line_no), "SD")),
            Segment("LIN", ("", "VP", answer.sku)),
            Segment("AAA", (valid, "", answer.reason or "")),
            Segment("QTY", ("39", _plain(answer.approved_quantity), "EA")),
            Segment("AMT", ("AP", f"{answer.amount:f}")),
            Segment("REF", ("IV", answer.invoice)),
            Segment("REF", ("LI", answer.invoice_line)),
        ]
        units += answer.approved_quantity
    body.append(Segment("CTT", (str(agreements), _plain(units))))
    return build(
        "CF",
        "004010",
        [("849", body)],
        sender="ACCRUE",
        receiver=partner_id,
        control=control,
        when=datetime(on.year, on.month, on.day),
    )


# --- 867 in ------------------------------------------------------------------------------------


def lines_from_867(text: str, source: str) -> list[dict]:
    """Point-of-sale lines (as rows of a lines file) from every 867 in the file."""
    rows = []
    for transaction in parse(text, source).transactions():
        rows += _resale_rows(_Reader(source, transaction))
    return rows


def _resale_rows(reader: _Reader) -> list[dict]:
    _only(reader, "867")
    body = reader.transaction.body
    head = _first(body, "BPT")
    if head is None:
        raise reader.fail(reader.transaction.st, 1, "an 867 starts with BPT")
    partner, report, reported_on = _partner(reader, body), reader.text(head, 2), reader.day(head, 3)
    currency = _currency(reader, body)
    rows, transfer, numbered = [], None, Counter()
    for segment in body:
        if segment.id == "PTD":
            code = segment.get(1)
            kind = SALE_TYPES.get(code) or RETURN_TYPES.get(code)
            if kind is None:
                raise reader.fail(segment, 1, "not a resale or return transfer type")
            transfer = {
                "kind": kind,
                "document": f"{report}-{len(rows) + 1}",
                "date": reported_on,
                "currency": currency,
            }
        elif transfer is not None:
            row = _resale_segment(reader, segment, transfer, partner)
            if row:
                numbered[row["document"]] += 1
                rows.append({**row, "line_no": numbered[row["document"]]})
    return rows


def _resale_segment(reader: _Reader, segment: Segment, transfer: dict, partner: str) -> dict | None:
    """Updates `transfer` from its REF/DTM/QTY/LIN; a line is complete at UIT or SII."""
    if segment.id == "REF" and segment.get(1) in INVOICE_QUALIFIERS:
        transfer["document"] = reader.text(segment, 2)
    elif segment.id == "DTM":
        transfer["date"] = reader.day(segment, 2)
    elif segment.id == "QTY":
        transfer["quantity"] = reader.number(segment, 2)
    elif segment.id == "LIN":
        transfer["sku"] = reader.text(segment, 3)
    elif segment.id == "UIT" and "quantity" in transfer and "sku" in transfer:
        return _resale_row(transfer, partner, transfer.pop("quantity"), reader.number(segment, 2))
    elif segment.id == "SII":
        transfer["sku"] = reader.text(segment, 2)
        return _resale_row(transfer, partner, reader.number(segment, 3), reader.number(segment, 5))
    return None


def _resale_row(transfer: dict, partner: str, quantity: Decimal, price: Decimal) -> dict:
    """A line's amount is its quantity times the unit price, rounded as all money is."""
    sign = -1 if transfer["kind"] == "return" else 1
    with exact():
        amount = sign * quantity * price
    return {
        "source": "x12-867",
        "document": transfer["document"],
        "kind": transfer["kind"],
        "partner_id": partner,
        "sku": transfer["sku"],
        "date": transfer["date"].isoformat(),
        "quantity": _plain(sign * quantity),
        "amount": money_text(amount, transfer["currency"]),
        "currency": transfer["currency"],
    }
