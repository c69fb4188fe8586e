"""Ship and debit (E13): a distributor sells below book cost to an end customer the
manufacturer authorized, and claims back the difference, line by line.

Every claim line is answered — accepted, adjusted (fewer units than claimed) or rejected — with
a two-letter reason code that travels back in the EDI 849 (AAA03). The checks run in a fixed
order, so a line has one reason: the first rule it breaks (a line claimed before is a
duplicate, whatever else is wrong with it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from accrue.domain.money import ZERO, round_money


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    ADJUSTED = "adjusted"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Why a line was adjusted or rejected; the value is the code sent back (849 AAA03)."""

    UNKNOWN_AGREEMENT = "UA"
    DISTRIBUTOR = "DA"
    PRODUCT = "PR"
    CUSTOMER = "CU"
    DATES = "EX"
    LATE = "LT"
    DUPLICATE = "DU"
    EXCLUSIVE = "XP"
    OVER_SOLD = "QS"
    OVER_AGREEMENT = "QA"

    @property
    def text(self) -> str:
        return REASON_TEXT[self]


REASON_TEXT = {
    Reason.UNKNOWN_AGREEMENT: "no such agreement",
    Reason.DISTRIBUTOR: "distributor not on agreement",
    Reason.PRODUCT: "product not on agreement",
    Reason.CUSTOMER: "customer not on agreement",
    Reason.DATES: "sale outside the agreement's dates (expired or not yet valid)",
    Reason.LATE: "claim window passed",
    Reason.DUPLICATE: "duplicate of an earlier claim line",
    Reason.EXCLUSIVE: "already paid by an exclusive program",
    Reason.OVER_SOLD: "quantity above quantity sold",
    Reason.OVER_AGREEMENT: "quantity over agreement",
}


@dataclass(frozen=True)
class Pricing:
    book_cost: Decimal
    authorized_cost: Decimal
    max_quantity: Decimal

    @property
    def credit(self) -> Decimal:
        """What the manufacturer gives back per unit."""
        return self.book_cost - self.authorized_cost


@dataclass(frozen=True)
class Agreement:
    """A special pricing authorization for one distributor and one end customer."""

    id: str
    version: int
    partner_id: str
    end_customer: str
    currency: str
    valid_from: date
    valid_to: date
    claim_window_days: int
    products: dict[str, Pricing]
    exclusive_of: tuple[str, ...] = ()

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class ClaimLine:
    line_no: int
    partner_id: str
    agreement_id: str
    end_customer: str
    sku: str
    invoice: str
    invoice_line: str
    quantity: Decimal
    sold_on: date
    claimed_on: date
    claimed_amount: Decimal | None = None  # what the distributor asked for, when it says

    @property
    def key(self) -> str:
        return invoice_key(self.partner_id, self.invoice, self.invoice_line)


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    quantity: Decimal
    amount: Decimal
    reason: Reason | None = None
    prevented: Decimal = ZERO  # what was asked and not granted: leakage stopped

    @property
    def message(self) -> str:
        return self.reason.text if self.reason else ""


@dataclass
class History:
    """What earlier claims already used: the invoice lines claimed, units per agreement and
    product, units sold per invoice line (sell-through, when known) and the invoice lines an
    exclusive program already paid for."""

    claimed: set[str] = field(default_factory=set)
    used: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    sold: dict[str, Decimal] = field(default_factory=dict)
    paid_elsewhere: dict[str, set[str]] = field(default_factory=dict)  # key → program ids

    def record(self, line: ClaimLine, verdict: Verdict) -> None:
        if verdict.outcome is Outcome.REJECTED:
            return
        self.claimed.add(line.key)
        usage = (line.agreement_id, line.sku)
        self.used[usage] = self.used.get(usage, ZERO) + verdict.quantity


_DIGITS = re.compile(r"\d+")


def invoice_key(partner_id: str, invoice: str, line: str) -> str:
    """One invoice line however it is written: case, spaces, punctuation and leading zeros do
    not matter ("inv 009001" line "01" is "INV-9001" line "1")."""

    def canonical(text: str) -> str:
        squeezed = re.sub(r"[\W_]+", "", text).upper()
        return _DIGITS.sub(lambda m: str(int(m.group())), squeezed)

    return f"{partner_id.strip().upper()}|{canonical(invoice)}|{canonical(line)}"


def same_customer(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def judge(line: ClaimLine, agreement: Agreement | None, history: History) -> Verdict:
    """The answer to one claim line; `history` is updated with what it used."""
    verdict = _verdict(line, agreement, history)
    history.record(line, verdict)
    return replace(verdict, prevented=_asked(line, agreement) - verdict.amount)


def _asked(line: ClaimLine, agreement: Agreement | None) -> Decimal:
    """The amount the line asks for: as claimed, or else as the agreement would pay it."""
    if line.claimed_amount is not None:
        return line.claimed_amount
    if agreement is None or line.sku not in agreement.products:
        return ZERO
    return round_money(line.quantity * agreement.products[line.sku].credit, agreement.currency)


def _verdict(line: ClaimLine, agreement: Agreement | None, history: History) -> Verdict:
    refused = _refusal(line, agreement, history)
    if refused:
        return Verdict(Outcome.REJECTED, ZERO, ZERO, refused)
    assert agreement is not None
    pricing = agreement.products[line.sku]
    quantity, reason = line.quantity, None
    sold = history.sold.get(line.key)
    if sold is not None and quantity > sold:
        quantity, reason = sold, Reason.OVER_SOLD
    left = pricing.max_quantity - history.used.get((agreement.id, line.sku), ZERO)
    if quantity > left:
        quantity, reason = max(left, ZERO), Reason.OVER_AGREEMENT
    if quantity <= 0:
        return Verdict(Outcome.REJECTED, ZERO, ZERO, reason)
    amount = round_money(quantity * pricing.credit, agreement.currency)
    outcome = Outcome.ADJUSTED if reason else Outcome.ACCEPTED
    return Verdict(outcome, quantity, amount, reason)


def _refusal(line: ClaimLine, agreement: Agreement | None, history: History) -> Reason | None:
    if agreement is None:
        return Reason.UNKNOWN_AGREEMENT
    window = timedelta(days=agreement.claim_window_days)
    checks = (
        (line.key not in history.claimed, Reason.DUPLICATE),
        (line.partner_id == agreement.partner_id, Reason.DISTRIBUTOR),
        (line.sku in agreement.products, Reason.PRODUCT),
        (same_customer(line.end_customer, agreement.end_customer), Reason.CUSTOMER),
        (agreement.covers(line.sold_on), Reason.DATES),
        (line.claimed_on <= line.sold_on + window, Reason.LATE),
        (
            not set(agreement.exclusive_of) & history.paid_elsewhere.get(line.key, set()),
            Reason.EXCLUSIVE,
        ),
    )
    return next((reason for passed, reason in checks if not passed), None)
