"""Approvals with segregation of duties: how many approvals an amount needs, and who may give
the next one.

An amount at or above a step's threshold needs that step's number of approvals, each by a
different person, none of them the one who prepared the item. A rejection needs a reason and
ends the request; the preparer may submit again. Thresholds are in the item's own currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from accrue.domain.errors import Conflict


class Subject(StrEnum):
    SETTLEMENT = "settlement"
    PAYOUT_BATCH = "payout_batch"
    CLAIM = "claim"
    DISPUTE = "dispute"  # a resolution that adjusts an amount


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ApprovalError(Conflict):
    """A decision the rules refuse; the message says which rule."""


@dataclass(frozen=True)
class Levels:
    """(threshold, approvals needed) in ascending order; below the first threshold, none."""

    steps: tuple[tuple[Decimal, int], ...]

    @classmethod
    def parse(cls, text: str) -> Levels:
        """`"0:1,25000:2"`: one approval for any amount, two from 25,000."""
        steps = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            try:
                threshold, count = part.split(":")
                steps.append((Decimal(threshold), int(count)))
            except (ValueError, InvalidOperation):
                raise ValueError(
                    f"approval level {part!r}: write AMOUNT:APPROVALS, e.g. 25000:2"
                ) from None
        if steps != sorted(steps) or any(c < 1 for _, c in steps):
            raise ValueError(f"approval levels {text!r} must ascend, each needing ≥ 1 approval")
        return cls(tuple(steps))

    def required(self, amount: Decimal) -> int:
        return max(
            (count for threshold, count in self.steps if abs(amount) >= threshold), default=0
        )


@dataclass(frozen=True)
class Decision:
    level: int
    user: str
    approve: bool
    reason: str = ""


def may_decide(user: str, prepared_by: str, decisions: list[Decision]) -> bool:
    """Whether segregation of duties lets `user` give a request's next decision: never the
    one who prepared it, nor one who already decided it."""
    return user != prepared_by and all(d.user != user for d in decisions)


def decide(
    prepared_by: str,
    required: int,
    status: Status,
    decisions: list[Decision],
    user: str,
    approve: bool,
    reason: str = "",
) -> tuple[Status, Decision]:
    """The request's next status and the decision to record, or ApprovalError."""
    if status is not Status.PENDING:
        raise ApprovalError(f"this request is already {status.value}")
    if user == prepared_by:
        raise ApprovalError(
            f"segregation of duties: {user} prepared this item, so someone else must decide"
        )
    if any(d.user == user for d in decisions):
        raise ApprovalError(f"{user} has already approved this item; another approver must")
    if not approve and not reason.strip():
        raise ApprovalError("a rejection needs a reason")
    decision = Decision(len(decisions) + 1, user, approve, reason.strip())
    if not approve:
        return Status.REJECTED, decision
    return (Status.APPROVED if decision.level >= required else Status.PENDING), decision
