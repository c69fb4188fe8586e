"""Double-entry rules: which journal each event posts, and that every journal balances (E15).

Amounts are signed: a debit is positive, a credit negative, so a journal balances when its
postings sum to zero. The accrued account of a program is its liability; its balance, negated,
is what is earned and not yet paid at any instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from accrue.domain.errors import Refused
from accrue.domain.money import ZERO, quantum

if TYPE_CHECKING:  # a type only: PayoutMethod, used by the CLI at start-up, needs no pydantic
    from accrue.domain.program import Accounts


class JournalKind(StrEnum):
    ACCRUAL = "accrual"  # first amount earned for a standing
    TRUE_UP = "true_up"  # a later change, or late data for a closed period (rule 11)
    CLAWBACK = "clawback"  # a standing whose amount is negative (E9)
    CARRY_FORWARD = "carry_forward"  # held under the minimum payout, moved to the next period
    SETTLEMENT = "settlement"  # a negative settled amount charged to the partner (debit memo)
    PAYOUT = "payout"  # credit memo, bank transfer or check
    REVERSAL = "reversal"  # the mirror of an earlier journal, with a reason
    FUND_ACCRUAL = "fund_accrual"  # market development funds credited to a partner's fund
    FUND_CLAIM = "fund_claim"  # a fund spent on an approved marketing claim
    FUND_EXPIRY = "fund_expiry"  # unused funds past their last day, written back
    SHIP_AND_DEBIT = "ship_and_debit"  # an approved ship-and-debit claim
    ADJUSTMENT = "adjustment"  # a resolved dispute's correction, approved


SHIP_AND_DEBIT_EXPENSE = "5300 Ship and debit"
SHIP_AND_DEBIT_RECEIVABLE = "1200 Accounts receivable"


class PayoutMethod(StrEnum):
    CREDIT_MEMO = "credit_memo"
    BANK_TRANSFER = "bank_transfer"
    CHECK = "check"


class UnbalancedJournal(ValueError):
    pass


@dataclass(frozen=True)
class Posting:
    account: str
    amount: Decimal  # debit positive, credit negative
    period: str | None = None  # the period it is booked in, if not the journal's


@dataclass(frozen=True)
class Journal:
    """Postings that sum to zero, for one program × partner, booked in one period."""

    kind: JournalKind
    program_id: str
    partner_id: str
    period: str  # the standing period the journal concerns
    booked_period: str  # the open period it is booked in (differs for late data, rule 11)
    currency: str
    postings: tuple[Posting, ...]
    memo: str = ""
    reverses: int | None = None

    def __post_init__(self):
        total = sum((p.amount for p in self.postings), ZERO)
        if total != 0:
            raise UnbalancedJournal(f"{self.kind} journal does not balance: off by {total}")
        step = quantum(self.currency)
        for posting in self.postings:
            if posting.amount % step:
                raise UnbalancedJournal(
                    f"{posting.amount} is not a whole number of {self.currency} minor units"
                )


def _pair(debit: str, credit: str, amount: Decimal, **periods) -> tuple[Posting, ...]:
    return (
        Posting(debit, amount, periods.get("debit_period")),
        Posting(credit, -amount, periods.get("credit_period")),
    )


def change_journal(
    accounts: Accounts,
    *,
    fund: bool,
    first: bool,
    delta: Decimal,
    program_id: str,
    partner_id: str,
    period: str,
    booked_period: str,
    currency: str,
) -> Journal:
    """The journal for a standing whose amount moved by `delta` since it was last posted."""
    if fund:
        kind = JournalKind.FUND_ACCRUAL
    elif first and booked_period == period:
        kind = JournalKind.ACCRUAL if delta > 0 else JournalKind.CLAWBACK
    else:
        kind = JournalKind.TRUE_UP
    memo = "" if booked_period == period else f"late data for closed period {period}"
    return Journal(
        kind,
        program_id,
        partner_id,
        period,
        booked_period,
        currency,
        _pair(accounts.expense, accounts.accrued, delta),
        memo,
    )


def carry_forward_journal(
    accounts: Accounts,
    program_id: str,
    partner_id: str,
    period: str,
    to: str,
    currency: str,
    amount: Decimal,
) -> Journal:
    """Rule 7: an amount under the minimum stays owed, moved to the next period's liability."""
    return Journal(
        JournalKind.CARRY_FORWARD,
        program_id,
        partner_id,
        period,
        period,
        currency,
        _pair(accounts.accrued, accounts.accrued, amount, debit_period=period, credit_period=to),
        f"under the minimum payout: carried forward to {to}",
    )


def debit_memo_journal(
    accounts: Accounts,
    program_id: str,
    partner_id: str,
    period: str,
    currency: str,
    amount: Decimal,
) -> Journal:
    """A negative settled amount (a clawback) becomes a charge on the partner's account."""
    return Journal(
        JournalKind.SETTLEMENT,
        program_id,
        partner_id,
        period,
        period,
        currency,
        _pair(accounts.receivable, accounts.accrued, -amount),
        "clawback charged to the partner's account (debit memo)",
    )


def payout_journal(
    accounts: Accounts,
    method: PayoutMethod,
    program_id: str,
    partner_id: str,
    period: str,
    currency: str,
    amount: Decimal,
    reference: str,
) -> Journal:
    """E15: a credit memo reduces what the partner owes us; a transfer or check is cash out."""
    credit = accounts.receivable if method is PayoutMethod.CREDIT_MEMO else accounts.cash
    return Journal(
        JournalKind.PAYOUT,
        program_id,
        partner_id,
        period,
        period,
        currency,
        _pair(accounts.accrued, credit, amount),
        f"{method.value.replace('_', ' ')} {reference}".strip(),
    )


def reversal_journal(original: Journal, original_id: int, reason: str) -> Journal:
    """Undo a journal by its mirror image; the original stays, as the books require."""
    if not reason.strip():
        raise Refused("a reversal needs a reason")
    return Journal(
        JournalKind.REVERSAL,
        original.program_id,
        original.partner_id,
        original.period,
        original.booked_period,
        original.currency,
        tuple(Posting(p.account, -p.amount, p.period) for p in original.postings),
        f"reverses journal {original_id}: {reason.strip()}",
        reverses=original_id,
    )


def _simple(
    kind: JournalKind,
    debit: str,
    credit: str,
    program_id: str,
    partner_id: str,
    period: str,
    currency: str,
    amount: Decimal,
    memo: str,
    booked: str | None = None,
):
    """One debit, one credit: the shape of every claim, fund and adjustment journal."""
    return Journal(
        kind,
        program_id,
        partner_id,
        period,
        booked or period,
        currency,
        _pair(debit, credit, amount),
        memo,
    )


def ship_and_debit_journal(
    agreement_id: str, partner_id: str, period: str, currency: str, amount: Decimal, claim: str
) -> Journal:
    """E13: the price concession is a cost; the distributor deducts it from what it owes."""
    return _simple(
        JournalKind.SHIP_AND_DEBIT,
        SHIP_AND_DEBIT_EXPENSE,
        SHIP_AND_DEBIT_RECEIVABLE,
        agreement_id,
        partner_id,
        period,
        currency,
        amount,
        f"ship and debit claim {claim}",
    )


def fund_claim_journal(
    accounts: Accounts,
    program_id: str,
    partner_id: str,
    period: str,
    currency: str,
    amount: Decimal,
    claim: str,
) -> Journal:
    """E14: funds spent on an approved claim leave the fund, credited to the partner."""
    return _simple(
        JournalKind.FUND_CLAIM,
        accounts.accrued,
        accounts.receivable,
        program_id,
        partner_id,
        period,
        currency,
        amount,
        f"market development claim {claim}",
    )


def fund_expiry_journal(
    accounts: Accounts,
    program_id: str,
    partner_id: str,
    period: str,
    currency: str,
    amount: Decimal,
) -> Journal:
    """E14: funds nobody used in time leave the liability and reduce the expense."""
    return _simple(
        JournalKind.FUND_EXPIRY,
        accounts.accrued,
        accounts.expense,
        program_id,
        partner_id,
        period,
        currency,
        amount,
        f"unused funds of {period} expired",
    )


def adjustment_journal(
    debit: str,
    credit: str,
    program_id: str,
    partner_id: str,
    period: str,
    booked_period: str,
    currency: str,
    amount: Decimal,
    memo: str,
) -> Journal:
    """A resolved dispute's correction (negative: in the manufacturer's favour), settled with
    the period it is booked in."""
    return _simple(
        JournalKind.ADJUSTMENT,
        debit,
        credit,
        program_id,
        partner_id,
        period,
        currency,
        amount,
        memo,
        booked_period,
    )
