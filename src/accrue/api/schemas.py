"""What the API returns and takes. Money is exact decimal text ("1234.50"), never a float."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from fastapi import Path
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    computed_field,
)

from accrue.domain import notices
from accrue.domain.approvals import Status
from accrue.domain.identifiers import MAX_RECORD_ID
from accrue.domain.ledger import PayoutMethod
from accrue.domain.periods import PeriodKind
from accrue.domain.permissions import Role
from accrue.domain.program import Kind as ProgramKind
from accrue.store.master import KINDS

Money = Annotated[str, Field(description="exact decimal text", examples=["1234.50"])]
# Money sent in: read exactly as a Decimal, described as text so a generated client never
# sends a float
MONEY_TEXT = {"type": "string", "pattern": r"^[+-]?\d{1,18}(\.\d{1,4})?$", "examples": ["1234.50"]}
MoneyIn = Annotated[Decimal, WithJsonSchema(MONEY_TEXT)]
MAX_ID = MAX_RECORD_ID
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.@-]+$")]


# the closed sets of values the API answers with and filters by
BatchKind = StrEnum("BatchKind", {k.upper(): k for k in ("lines", "agreements", *KINDS)})


class BatchStatus(StrEnum):
    LOADING = "loading"
    COMMITTED = "committed"
    REFUSED = "refused"
    INTERRUPTED = "interrupted"  # the server stopped while loading it


class StandingStatus(StrEnum):
    EARNING = "earning"
    BELOW_FIRST_TIER = "below first tier"
    PRO_RATA = "pro rata"
    NO_BASELINE = "no baseline"
    EXCLUDED = "excluded"  # by an exclusive group


class ClaimKind(StrEnum):
    SHIP_AND_DEBIT = "ship_and_debit"
    FUND = "fund"


ClaimStatus = StrEnum("ClaimStatus", {**{s.name: s.value for s in Status}, "ANSWERED": "answered"})
PayoutBatchStatus = StrEnum(
    "PayoutBatchStatus", {**{s.name: s.value for s in Status}, "PAID": "paid"}
)


class DisputeStatus(StrEnum):
    OPEN = "open"
    PROPOSED = "proposed"  # awaiting approval
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def renamed(old: str, new: str):
    """A field under its new name, read from either name (the records keep the old)."""
    return Field(validation_alias=AliasChoices(new, old))


def old_name(new: str, type_: object = str):
    """A field's name before it was renamed `new`: the same value, for this release only."""
    return computed_field(
        property(lambda self: getattr(self, new)),
        return_type=type_,
        description=f"deprecated: renamed {new}",
        json_schema_extra={"deprecated": True},
    )


# --- people ------------------------------------------------------------------------------------


class LoginIn(BaseModel):
    username: Annotated[str, StringConstraints(max_length=64)]
    password: Annotated[str, StringConstraints(max_length=200)]


class TokenOut(Out):
    token: str = Field(description="send as Authorization: Bearer <token>; shown once")


class MeOut(Out):
    username: str
    role: Role
    partner_id: str | None
    rep_id: str | None
    partners: list[str] | None = Field(description="the partners visible to you; null = all")


class UserIn(BaseModel):
    username: Name
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    role: Role
    password: Annotated[str, StringConstraints(min_length=10, max_length=200)]
    partner_id: str | None = Field(None, description="for partner users", max_length=64)
    rep_id: str | None = Field(None, description="for sales reps", max_length=64)
    email: str | None = Field(
        None, description="where alerts go", max_length=200, pattern=r"^[^@\s]+@[^@\s]+$"
    )


class UserOut(Out):
    username: str
    name: str
    role: str
    partner_id: str | None
    rep_id: str | None
    email: str | None
    active: bool
    created_at: str


class TokenIn(BaseModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="what the token is for, e.g. the ERP integration"
    )


# --- programs and master data ----------------------------------------------------------------


class ProgramOut(Out):
    id: str
    version: int
    name: str
    kind: ProgramKind
    period: PeriodKind
    currency: str
    takes_effect: date | None
    digest: str


class ProgramDetailOut(ProgramOut):
    document: dict = Field(description="the program as stored (the program language)")
    versions: list[int]


class ExplainOut(Out):
    summary: list[str]
    example: list[str]


class ValidatedOut(Out):
    program: ProgramOut


class ImportedProgramOut(Out):
    program: ProgramOut
    status: str = Field(description="new, unchanged or new version")


class PartnerOut(Out):
    id: str
    name: str
    parent_id: str | None
    segment: str | None
    region: str | None


class ProductOut(Out):
    sku: str
    name: str
    category: str
    product_line: str
    uom: str


class RepOut(Out):
    id: str
    name: str
    partner_ids: list[str]

    @classmethod
    def of(cls, row) -> RepOut:
        return cls(id=row.id, name=row.name, partner_ids=json.loads(row.partner_ids))


# --- lines and batches -------------------------------------------------------------------------


class BatchOut(Out):
    id: int
    kind: BatchKind
    source_name: str
    status: BatchStatus
    received: int
    accepted: int
    duplicate: int
    corrected: int
    outdated: int
    rejected: int
    message: str
    received_at: str
    actor: str


class RejectionOut(Out):
    id: int
    batch_id: int
    row_no: int
    field: str
    value: str | None
    message: str
    row: dict
    resolved_by: int | None

    @classmethod
    def of(cls, row) -> RejectionOut:
        fields = {k: getattr(row, k) for k in cls.model_fields if k != "row"}
        return cls(**fields, row=json.loads(row.row))


class ReceivedOut(Out):
    batch: BatchOut
    rejections: list[RejectionOut] = Field(description="the first 100; page the batch for all")


# a cell as sent: judged like a file's (a bad value puts its row in quarantine, never the payload)
Cell = Annotated[str, StringConstraints(max_length=1000)]
DecimalCell = Annotated[Cell, Field(description="exact decimal text", examples=["1234.50"])]
DateCell = Annotated[Cell, Field(description="YYYY-MM-DD", examples=["2026-02-10"])]


class LineIn(BaseModel):
    """A line with the columns of a lines file."""

    source: Cell = Field(description="the system it comes from, e.g. erp")
    document: Cell = Field(description="invoice or credit note number")
    line_no: Annotated[int, Field(ge=0, le=MAX_ID)]
    kind: Cell = Field(description="sale, return or credit")
    partner_id: Cell
    sku: Cell
    date: DateCell
    quantity: DecimalCell
    amount: DecimalCell
    currency: Cell = Field(description="ISO 4217, e.g. USD")


class LinesIn(BaseModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="what the payload is called in batches and errors, e.g. erp-2026-11-24"
    )
    lines: list[LineIn] = Field(max_length=100_000)

    def document(self) -> dict:
        """The payload as the line store takes it."""
        return {"lines": [line.model_dump() for line in self.lines]}


class LineOut(Out):
    source: str
    document: str
    line_no: int
    kind: str
    partner_id: str
    sku: str
    date: date
    quantity: Money
    amount: Money
    currency: str


# --- standings, ledger, settlements ------------------------------------------------------------


class StandingOut(Out):
    program_id: str = renamed("program", "program_id")
    program_version: str
    partner_id: str = renamed("partner", "partner_id")
    period: str
    currency: str
    kind: ProgramKind
    status: StandingStatus
    measure: str | None
    baseline: str | None
    tier: int
    tier_name: str | None
    earned: Money
    amount: Money
    carried_in: Money
    payout: Money
    carried_out: Money
    points: int
    gap_needed: str | None
    gap_unit: str | None
    gap_detail: str | None
    next_tier_pays: str | None
    projected_measure: str | None
    projected_tier: int | None
    projected_amount: Money | None
    note: str
    program = old_name("program_id")
    partner = old_name("partner_id")


class AsOfIn(BaseModel):
    as_of: date | None = Field(None, description="business date (default: today)")


class CloseIn(AsOfIn):
    force_reason: str | None = Field(
        None, max_length=500, description="closes a period that has not ended; audited"
    )


class RecalcIn(AsOfIn):
    full: bool = Field(False, description="recompute everything, not only what changed")


class RecalculatedOut(Out):
    scope: str
    standings: int
    changed: int
    removed: int
    journals: int


class ClosedOut(Out):
    label: str
    settlements: int
    payable: dict[str, Money]
    carried: dict[str, Money]
    charged: dict[str, Money]


class PeriodOut(Out):
    label: str
    closed_at: str
    actor: str


class BalanceOut(Out):
    account: str
    currency: str
    debit: Money
    credit: Money


class LiabilityOut(Out):
    program_id: str | None = None
    partner_id: str | None = None
    period: str | None = None
    booked_period: str | None = None
    currency: str
    outstanding: Money


class PostingOut(Out):
    journal: int
    kind: str
    program_id: str = renamed("program", "program_id")
    partner_id: str = renamed("partner", "partner_id")
    period: str
    booked_period: str
    posted_on: date
    account: str
    currency: str
    debit: Money
    credit: Money
    memo: str
    settlement_id: int | None = renamed("settlement", "settlement_id")
    reverses: int | None
    program = old_name("program_id")
    partner = old_name("partner_id")
    settlement = old_name("settlement_id", int | None)

    @classmethod
    def of(cls, row: dict) -> PostingOut:
        """A row of the journals export ("" for no settlement or reversal)."""
        return cls(
            **{
                k: (None if v == "" and k in ("settlement", "reverses") else v)
                for k, v in row.items()
            }
        )


class SettlementOut(Out):
    id: int
    program_id: str
    version: int
    partner_id: str
    period: str
    currency: str
    amount: Money
    adjustments: Money
    carried_in: Money
    payout: Money
    carried_out: Money
    paid: Money
    lines_as_of_batch: int
    closed_at: str
    approval: str | None = Field(None, description="status of the latest approval request")


class ShareOut(Out):
    date: date
    document: str
    line_no: int
    sku: str
    line_amount: Money
    share: Money


class TraceOut(Out):
    settlement: SettlementOut
    program_version: str
    measure: str | None
    tier_name: str | None
    recomputed: Money
    reproduced: bool
    journals: list[PostingOut]
    lines: list[ShareOut]


class ReverseIn(AsOfIn):
    reason: Annotated[str, StringConstraints(min_length=3, max_length=500)]


# --- approvals and payouts ---------------------------------------------------------------------


class DecisionOut(Out):
    level: int
    user: str
    approve: bool
    reason: str
    at: str


class ApprovalOut(Out):
    id: int
    subject: str
    subject_id: int
    amount: Money
    currency: str
    levels_required: int
    status: str
    prepared_by: str
    submitted_at: str
    decided_at: str | None


class ApprovalDetailOut(ApprovalOut):
    decisions: list[DecisionOut]


class DecideIn(BaseModel):
    reason: Annotated[str, StringConstraints(max_length=500)] = Field(
        "", description="required to reject"
    )


class BatchIn(BaseModel):
    method: PayoutMethod
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    settlement_ids: list[Id] | None = Field(None, description="default: every payable one")


class PayoutBatchOut(Out):
    id: int
    method: PayoutMethod
    currency: str
    status: PayoutBatchStatus
    total: Money
    reference: str
    created_by: str
    created_at: str
    paid_on: date | None


class PayoutItemOut(Out):
    settlement_id: int
    partner_id: str
    program_id: str
    period: str
    amount: Money
    journal_id: int | None


class PayoutBatchDetailOut(PayoutBatchOut):
    items: list[PayoutItemOut]
    files: list[str]


class PaidIn(BaseModel):
    on: date | None = Field(None, description="payment date (default: today)")


# --- claims, funds, disputes ---------------------------------------------------------------------


class AgreementProductOut(Out):
    sku: str
    book_cost: Money
    authorized_cost: Money
    max_quantity: str


class AgreementOut(Out):
    id: str
    version: int
    partner_id: str
    end_customer: str
    currency: str
    valid_from: date
    valid_to: date
    claim_window_days: int
    products: list[AgreementProductOut]
    exclusive_of: list[str]


class ClaimLineOut(Out):
    id: int
    line_no: int
    agreement_id: str
    sku: str
    end_customer: str
    invoice: str
    invoice_line: str
    quantity: str
    sold_on: date
    outcome: str = Field(description="accepted, adjusted or rejected")
    approved_quantity: str
    amount: Money
    prevented: Money
    reason: str | None = Field(description="code sent back in the 849 (AAA03)")
    reason_text: str | None = None


class ClaimOut(Out):
    id: int
    kind: ClaimKind
    number: str
    partner_id: str
    program_id: str | None
    claimed_on: date
    currency: str
    requested: Money
    approved: Money
    prevented: Money
    status: ClaimStatus = Field(description="pending (approval), approved, rejected, answered")
    description: str
    received_at: str
    actor: str


class ClaimDetailOut(ClaimOut):
    lines: list[ClaimLineOut]
    proofs: list[str] = Field(description="proof of performance files, by SHA-256")


class ClaimLineIn(BaseModel):
    """A claim line with the columns of a claims file."""

    claim_number: Cell
    partner_id: Cell
    agreement_id: Cell
    end_customer: Cell
    sku: Cell
    invoice: Cell
    invoice_line: Cell
    quantity: DecimalCell
    sold_on: DateCell
    claimed_on: DateCell | None = Field(None, description="default: today")


class ClaimLinesIn(BaseModel):
    lines: list[ClaimLineIn] = Field(max_length=10_000)

    def document(self) -> dict:
        """The payload as the claims reader takes it."""
        return {"lines": [line.model_dump(exclude_none=True) for line in self.lines]}


class FundOut(Out):
    program_id: str
    partner_id: str
    currency: str
    accrued: Money
    used: Money
    expired: Money
    available: Money


class LeakageOut(Out):
    kind: str
    reason: str
    reason_text: str
    lines: int
    prevented: Money
    currency: str


class DisputeIn(BaseModel):
    about: Literal["standing", "settlement", "claim_line"]
    key: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="program/partner/period for a standing; the id of a settlement or claim line"
    )
    reason: Annotated[str, StringConstraints(min_length=3, max_length=2000)]


class ResolveIn(BaseModel):
    resolution: Annotated[str, StringConstraints(min_length=3, max_length=2000)]
    adjustment: MoneyIn | None = Field(
        None,
        description="amount to add (negative: to take back); none dismisses the dispute",
        allow_inf_nan=False,
        max_digits=18,
        decimal_places=4,
    )


class DisputeOut(Out):
    id: int
    partner_id: str
    subject: str
    subject_key: str
    program_id: str
    period: str
    currency: str
    reason: str
    status: DisputeStatus
    opened_by: str
    opened_at: str
    adjustment: Money | None
    resolution: str
    resolved_by: str | None
    resolved_at: str | None
    journal_id: int | None


# --- audit -------------------------------------------------------------------------------------


class AuditEntryOut(Out):
    seq: int
    at: str
    actor: str
    action: str
    entity: str
    key: str
    before: str
    after: str
    inputs_digest: str
    hash: str


class OutboxMessageOut(Out):
    """A message in the outbox and how its delivery went (never its body: alerts name
    partners, and the outbox is read by admins and auditors)."""

    id: int
    channel: Literal["email", "webhook"]
    event: str
    reference: str
    status: OutboxStatus
    attempts: int
    created_at: str
    next_attempt_at: str
    delivered_at: str | None
    last_error: str


class VerifiedOut(Out):
    ok: bool
    entries: int
    head: str
    problems: list[str]


class NotificationOut(Out):
    """One of the caller's own notifications (never another person's)."""

    id: int
    kind: notices.NoticeKind
    key: str = Field(description="what it is about; a person is told about one key once")
    partner_id: str | None
    subject: str
    text: str
    link: str
    created_at: str
    read_at: str | None
    by_email: bool


class PreferenceIn(BaseModel):
    """Whether one kind of notification shows in the portal and comes by e-mail."""

    model_config = ConfigDict(extra="forbid")
    kind: notices.NoticeKind
    portal: bool
    email: bool


class PreferenceOut(PreferenceIn):
    label: str


class ReadIn(BaseModel):
    """Which notifications to mark read: these ids, or all when `ids` is left out."""

    model_config = ConfigDict(extra="forbid")
    ids: list[Id] | None = Field(default=None, max_length=1000)


class ReadOut(BaseModel):
    marked: int
