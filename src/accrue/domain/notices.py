"""Notifications: what the books tell a person when something waits for them or concerns them —
an approval to give, a dispute opened or answered, a claim answered, a payment sent, a
statement ready, funds about to expire, a tier within reach.

Every notice says who and what, the amount where there is one, and the next step, with the
portal page where it is taken. Each person chooses, per kind, whether it shows in the portal
and whether it comes by e-mail; `DEFAULTS` is what they get until they choose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from accrue.domain.money import money_text, readable_money


class NoticeKind(StrEnum):
    APPROVAL_WAITING = "approval.waiting"
    DISPUTE_OPENED = "dispute.opened"
    DISPUTE_ANSWERED = "dispute.answered"
    CLAIM_ANSWERED = "claim.answered"
    PAYMENT_SENT = "payment.sent"
    STATEMENT_READY = "statement.ready"
    FUND_EXPIRING = "fund.expiring"
    TIER_NEAR = "tier.near"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {
    NoticeKind.APPROVAL_WAITING: "An approval waits for me",
    NoticeKind.DISPUTE_OPENED: "A dispute is opened",
    NoticeKind.DISPUTE_ANSWERED: "A dispute is answered",
    NoticeKind.CLAIM_ANSWERED: "A claim is answered",
    NoticeKind.PAYMENT_SENT: "A payment is sent",
    NoticeKind.STATEMENT_READY: "A statement is ready",
    NoticeKind.FUND_EXPIRING: "Funds are about to expire",
    NoticeKind.TIER_NEAR: "Close to the next tier",
}


@dataclass(frozen=True)
class Channels:
    portal: bool
    email: bool


# Everything shows in the portal; e-mail for what asks someone to act or moves money, not for
# the routine (a statement each period is in the portal, and its e-mail is one click away).
DEFAULTS = {kind: Channels(portal=True, email=True) for kind in NoticeKind} | {
    NoticeKind.STATEMENT_READY: Channels(portal=True, email=False)
}


def channels(kind: NoticeKind, chosen: dict[str, Channels]) -> Channels:
    """What a person chose for `kind`, or the default."""
    return chosen.get(kind.value, DEFAULTS[kind])


@dataclass(frozen=True)
class Notice:
    """One thing to tell: `key` names what it is about, so a person is told about it once."""

    kind: NoticeKind
    key: str
    partner_id: str | None  # the partner it concerns, if one
    subject: str
    text: str  # who, what, the amount, and the next step
    link: str  # the portal page of the next step
    facts: dict = field(default_factory=dict)  # for the webhook: plain JSON values


SUBJECTS = {
    "settlement": "settlement",
    "payout_batch": "payout batch",
    "claim": "claim",
    "dispute": "dispute adjustment",
}


def approval_waiting(
    request_id: int,
    subject: str,
    subject_id: int,
    amount: Decimal,
    currency: str,
    prepared_by: str,
    level: int,
    of: int,
) -> Notice:
    """An approver is asked for the next approval (`level` of `of`) of a request."""
    what = f"{SUBJECTS[subject]} {subject_id}"
    money = readable_money(amount, currency)
    return Notice(
        NoticeKind.APPROVAL_WAITING,
        f"approval:{request_id}:{level}",
        None,
        f"Approval {level} of {of} waits: {what}, {money}",
        f"{prepared_by} submitted {what} for {money}; it needs approval {level} of {of}. "
        "Approve or reject it (with a reason) on the finance page.",
        "/finance",
        {"request": request_id, "subject": subject, "subject_id": subject_id, "level": level},
    )


def dispute_opened(
    dispute_id: int, partner_id: str, partner_name: str, about: str, opened_by: str, reason: str
) -> Notice:
    return Notice(
        NoticeKind.DISPUTE_OPENED,
        f"dispute:{dispute_id}:opened",
        partner_id,
        f"Dispute {dispute_id} opened by {partner_name}",
        f"{opened_by} of {partner_name} disputes the {about}: “{reason}”. Look at the "
        "calculation behind it and dismiss it with a reason or propose an adjustment.",
        "/finance/disputes",
        {"dispute": dispute_id, "partner_id": partner_id, "about": about},
    )


def dispute_answered(
    dispute_id: int,
    partner_id: str,
    about: str,
    resolution: str,
    adjustment: Decimal | None,
    currency: str,
) -> Notice:
    """A dispute dismissed, or resolved with an adjustment that has been posted."""
    if adjustment:
        outcome = (
            f"resolved with an adjustment of {readable_money(adjustment, currency)}, posted to "
            "your account and paid with the next settlement"
        )
    else:
        outcome = "dismissed"
    return Notice(
        NoticeKind.DISPUTE_ANSWERED,
        f"dispute:{dispute_id}:answered",
        partner_id,
        f"Your dispute {dispute_id} was answered",
        f"Your dispute of the {about} was {outcome}: “{resolution}”. If you still disagree, "
        "open a new dispute from the claims and disputes page.",
        "/claims",
        {
            "dispute": dispute_id,
            "partner_id": partner_id,
            "adjustment": money_text(adjustment, currency),
        },
    )


def claim_answered(
    claim_id: int,
    number: str,
    partner_id: str,
    status: str,
    approved: Decimal,
    prevented: Decimal,
    currency: str,
) -> Notice:
    """A claim's final answer: approved (and posted), rejected, or nothing to pay."""
    refused = f" ({readable_money(prevented, currency)} refused)" if prevented else ""
    if status == "approved":
        headline = f"approved for {readable_money(approved, currency)}"
    elif status == "rejected":
        headline, refused = "rejected by an approver", ""
    else:
        headline = "answered with nothing to pay"
    return Notice(
        NoticeKind.CLAIM_ANSWERED,
        f"claim:{claim_id}:{status}",
        partner_id,
        f"Claim {number} {headline}",
        f"Your claim {number} was {headline}{refused}. The answer line by line, with each "
        "reason, is on "
        "the claims page; dispute a line there if you disagree.",
        "/claims",
        {"claim": claim_id, "number": number, "partner_id": partner_id, "status": status},
    )


def payment_sent(
    settlement_id: int,
    partner_id: str,
    program_name: str,
    period: str,
    amount: Decimal,
    currency: str,
    method: str,
    reference: str,
    on: date,
) -> Notice:
    money = readable_money(amount, currency)
    return Notice(
        NoticeKind.PAYMENT_SENT,
        f"payment:{settlement_id}:{reference}",
        partner_id,
        f"Payment sent: {money} for {program_name} {period}",
        f"{money} for {program_name}, {period} (settlement {settlement_id}), was sent on "
        f"{on.isoformat()} by {method.replace('_', ' ')}, reference {reference}. Expect it "
        "with your bank or post; your statement lists it.",
        "/partner",
        {
            "settlement": settlement_id,
            "partner_id": partner_id,
            "amount": money_text(amount, currency),
            "currency": currency,
            "reference": reference,
        },
    )


def statement_ready(partner_id: str, partner_name: str, period: str) -> Notice:
    return Notice(
        NoticeKind.STATEMENT_READY,
        f"statement:{partner_id}:{period}",
        partner_id,
        f"Your statement for {period} is ready",
        f"{period} is closed: the statement of {partner_name} for it (standings, settlements, "
        "payments and the lines behind them) is ready to download as a PDF.",
        f"/statements/{partner_id}/{period}.pdf",
        {"partner_id": partner_id, "period": period},
    )


def fund_expiring(
    fund_id: str,
    fund_name: str,
    partner_id: str,
    period: str,
    amount: Decimal,
    currency: str,
    last_day: date,
    days: int,
) -> Notice:
    """Funds accrued in `period` that nobody used, `days` (a threshold) before their last day."""
    money = readable_money(amount, currency)
    return Notice(
        NoticeKind.FUND_EXPIRING,
        f"fund:{fund_id}:{partner_id}:{period}:{days}",
        partner_id,
        f"{money} of {fund_name} expires on {last_day.isoformat()}",
        f"{money} of {fund_name} accrued in {period} is unused and expires after "
        f"{last_day.isoformat()}. Claim it with proof of performance before then, on the "
        "claims page.",
        "/claims",
        {
            "fund": fund_id,
            "partner_id": partner_id,
            "period": period,
            "amount": money_text(amount, currency),
            "currency": currency,
            "last_day": last_day.isoformat(),
        },
    )


def warning_due(last_day: date, today: date, thresholds: list[int]) -> int | None:
    """The smallest threshold (days before `last_day`) that `today` has reached, if any: the
    one to warn about now (a warning missed at 30 days is not sent late once 7 is due)."""
    left = (last_day - today).days
    reached = [days for days in thresholds if 0 <= left <= days]
    return min(reached, default=None)


def parse_thresholds(text: str) -> list[int]:
    """`"30,7"`: warn 30 days and 7 days before; ValueError naming the setting otherwise."""
    try:
        found = sorted({int(part) for part in text.split(",") if part.strip()}, reverse=True)
    except ValueError:
        raise ValueError(
            f"fund_expiry_warnings {text!r}: write days before expiry, e.g. 30,7"
        ) from None
    if any(days < 0 for days in found):
        raise ValueError(f"fund_expiry_warnings {text!r}: days cannot be negative")
    return found
