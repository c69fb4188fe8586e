"""The records: SQLAlchemy tables, the same on SQLite and PostgreSQL.

Money never passes through a float (SQLAlchemy's Numeric does on SQLite): amounts that are
summed in SQL are integer minor units with their currency; the others are exact decimal text.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = String(40)  # exact decimal text


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class PartnerRow(Base):
    __tablename__ = "partners"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(String(64))
    segment: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON


class ProductRow(Base):
    __tablename__ = "products"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100))
    product_line: Mapped[str] = mapped_column(String(100))
    uom: Mapped[str] = mapped_column(String(16), default="EA")


class RepRow(Base):
    __tablename__ = "reps"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    partner_ids: Mapped[str] = mapped_column(Text, default="[]")  # sorted JSON list


class FxRateRow(Base):
    __tablename__ = "fx_rates"
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    from_currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    to_currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    rate: Mapped[str] = mapped_column(Money)


class MasterChange(Base):
    """History of master data: every insert or change, with the row before and after."""

    __tablename__ = "master_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)


class ProgramVersionRow(Base):
    __tablename__ = "program_versions"
    program_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    takes_effect: Mapped[date | None] = mapped_column(Date)
    document: Mapped[str] = mapped_column(Text)  # canonical JSON of the program
    imported_at: Mapped[str] = mapped_column(String(32))


class ProgramSourceRow(Base):
    """A program version's YAML as its author wrote it (comments, order, defaults left out),
    for the editor to show; the canonical JSON in program_versions is what computes."""

    __tablename__ = "program_sources"
    program_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text)


class Batch(Base):
    """One file or payload received, with what became of each of its rows."""

    __tablename__ = "batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # lines, partners, products, reps, fx
    source_name: Mapped[str] = mapped_column(String(500))
    file_digest: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # loading, committed, refused, interrupted
    received: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    corrected: Mapped[int] = mapped_column(Integer, default=0)  # superseded a stored version
    outdated: Mapped[int] = mapped_column(Integer, default=0)  # kept as already superseded
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))


class RejectedRow(Base):
    """Quarantine: a row that was not accepted, why, and the row itself for correction."""

    __tablename__ = "rejected_rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    row: Mapped[str] = mapped_column(Text)  # the row as received, JSON
    line_key: Mapped[str] = mapped_column(String(300), index=True)  # source/document/line
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))


class PendingRecalc(Base):
    """Partner trees (by top parent; '*' = all) whose standings must be recomputed."""

    __tablename__ = "pending_recalc"
    root_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class StandingRow(Base):
    __tablename__ = "standings"
    __table_args__ = (Index(None, "partner_id", "period"),)  # a partner's dashboard
    program_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    root_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32))
    amount: Mapped[str] = mapped_column(Money)
    payout: Mapped[str] = mapped_column(Money)
    points: Mapped[int] = mapped_column(BigInteger)
    detail: Mapped[str] = mapped_column(Text)  # every other field, canonical JSON


class ClosedPeriod(Base):
    __tablename__ = "closed_periods"
    label: Mapped[str] = mapped_column(String(16), primary_key=True)
    closed_at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))


class SettlementRow(Base):
    """A period's standing frozen at close, with the program version and the lines as of then."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("program_id", "partner_id", "period"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    program_digest: Mapped[str] = mapped_column(String(64))
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    period: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[str] = mapped_column(Money)
    adjustments: Mapped[str] = mapped_column(Money)
    carried_in: Mapped[str] = mapped_column(Money)
    payout: Mapped[str] = mapped_column(Money)
    carried_out: Mapped[str] = mapped_column(Money)
    paid: Mapped[str] = mapped_column(Money, default="0")
    lines_as_of_batch: Mapped[int] = mapped_column(Integer)
    standing: Mapped[str] = mapped_column(Text)  # the standing as closed, canonical JSON
    closed_at: Mapped[str] = mapped_column(String(32))


class JournalRow(Base):
    __tablename__ = "journals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    program_id: Mapped[str] = mapped_column(String(64))
    partner_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    booked_period: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    posted_on: Mapped[date] = mapped_column(Date)
    memo: Mapped[str] = mapped_column(Text, default="")
    reverses: Mapped[int | None] = mapped_column(ForeignKey("journals.id"))
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"))
    __table_args__ = (Index(None, "program_id", "partner_id", "period"),)


class PostingRow(Base):
    __tablename__ = "postings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    journal_id: Mapped[int] = mapped_column(ForeignKey("journals.id"), index=True)
    account: Mapped[str] = mapped_column(String(100))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # debit +, credit −
    currency: Mapped[str] = mapped_column(String(3))
    program_id: Mapped[str] = mapped_column(String(64))
    partner_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))  # standing period concerned
    booked_period: Mapped[str] = mapped_column(String(16))
    # a partner's fund or rebate balance is read per page view: found without a scan
    __table_args__ = (Index(None, "partner_id", "program_id"),)


class AuditRow(Base):
    """Append-only, hash-chained: see accrue.domain.audit."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(300))
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    inputs_digest: Mapped[str] = mapped_column(String(80))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# --- people, approvals and payouts --------------------------------------------------------------


class UserRow(Base):
    """A person: staff with a role, or a partner user / sales rep narrowed to their scope."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    partner_id: Mapped[str | None] = mapped_column(String(64))  # partner users
    rep_id: Mapped[str | None] = mapped_column(String(64))  # sales reps
    email: Mapped[str | None] = mapped_column(String(200))  # where alerts go
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[str] = mapped_column(String(32))


class TokenRow(Base):
    """An API token or a login session; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[str | None] = mapped_column(String(32))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class ApprovalRow(Base):
    """A request to approve a settlement or a payout batch, decided level by level."""

    __tablename__ = "approval_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    amount: Mapped[str] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    levels_required: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    prepared_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[str] = mapped_column(String(32))
    decided_at: Mapped[str | None] = mapped_column(String(32))
    __table_args__ = (Index(None, "subject", "subject_id"),)


class DecisionRow(Base):
    """One approval or rejection; a level is decided once, by one person, ever."""

    __tablename__ = "approval_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id"))
    level: Mapped[int] = mapped_column(Integer)
    user: Mapped[str] = mapped_column(String(64))
    approve: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[str] = mapped_column(String(32))
    __table_args__ = (
        UniqueConstraint("request_id", "level"),
        UniqueConstraint("request_id", "user"),
    )


class PayoutBatchRow(Base):
    """Settlements paid together by one method in one currency, released once."""

    __tablename__ = "payout_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    method: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))  # pending, approved, rejected, paid
    total: Mapped[str] = mapped_column(Money)
    reference: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(32))
    paid_on: Mapped[date | None] = mapped_column(Date)


class PayoutItemRow(Base):
    """A settlement in a payout batch: a settlement is in at most one batch at a time."""

    __tablename__ = "payout_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batches.id"), index=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), unique=True)
    amount: Mapped[str] = mapped_column(Money)
    journal_id: Mapped[int | None] = mapped_column(ForeignKey("journals.id"))


# --- claims: ship and debit, market development funds, disputes ---------------------------------


class AgreementRow(Base):
    """A ship-and-debit agreement (special pricing authorization), one row per version."""

    __tablename__ = "agreements"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    end_customer: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    claim_window_days: Mapped[int] = mapped_column(Integer)
    products: Mapped[str] = mapped_column(Text)  # canonical JSON: sku → prices and limit
    exclusive_of: Mapped[str] = mapped_column(Text, default="[]")  # program ids, JSON
    digest: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))


class ClaimRow(Base):
    """A claim as received: ship and debit (lines against agreements) or a fund claim."""

    __tablename__ = "claims"
    __table_args__ = (UniqueConstraint("kind", "partner_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # ship_and_debit, fund
    number: Mapped[str] = mapped_column(String(64))  # the partner's own claim number
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    program_id: Mapped[str | None] = mapped_column(String(64))  # the fund, for fund claims
    claimed_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    requested: Mapped[str] = mapped_column(Money)
    approved: Mapped[str] = mapped_column(Money)
    prevented: Mapped[str] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16))  # pending, approved, rejected, answered
    description: Mapped[str] = mapped_column(Text, default="")
    source_name: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))


class ClaimLineRow(Base):
    """One claimed invoice line and its answer (accepted, adjusted, rejected, with a reason)."""

    __tablename__ = "claim_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    agreement_id: Mapped[str] = mapped_column(String(64))
    agreement_version: Mapped[int | None] = mapped_column(Integer)
    end_customer: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(64))
    invoice: Mapped[str] = mapped_column(String(100))
    invoice_line: Mapped[str] = mapped_column(String(32))
    invoice_key: Mapped[str] = mapped_column(String(300), index=True)
    quantity: Mapped[str] = mapped_column(Money)
    sold_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(16))
    approved_quantity: Mapped[str] = mapped_column(Money)
    amount: Mapped[str] = mapped_column(Money)
    prevented: Mapped[str] = mapped_column(Money)
    reason: Mapped[str | None] = mapped_column(String(4))


class ProofRow(Base):
    """Proof of performance for a fund claim: the file is kept by its SHA-256."""

    __tablename__ = "proofs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))


class FundDrawRow(Base):
    """What a fund claim takes from one period's funds (oldest first); gone if rejected."""

    __tablename__ = "fund_draws"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    program_id: Mapped[str] = mapped_column(String(64))
    partner_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    amount: Mapped[str] = mapped_column(Money)


class DisputeRow(Base):
    """A partner's challenge of a standing, settlement or claim line, and how it ended."""

    __tablename__ = "disputes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(16))  # standing, settlement, claim_line
    subject_key: Mapped[str] = mapped_column(String(200))  # program/partner/period, or an id
    program_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # open, proposed, resolved, dismissed
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[str] = mapped_column(String(32))
    adjustment: Mapped[str | None] = mapped_column(Money)
    resolution: Mapped[str] = mapped_column(Text, default="")
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[str | None] = mapped_column(String(32))
    journal_id: Mapped[int | None] = mapped_column(ForeignKey("journals.id"))


class AlertRow(Base):
    """A proximity alert, raised once per program, partner, period and tier."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("program_id", "partner_id", "period", "tier"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[str] = mapped_column(String(64))
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    period: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[str] = mapped_column(String(32))
    recipients: Mapped[str] = mapped_column(Text, default="[]")  # usernames, JSON
    delivery: Mapped[str] = mapped_column(Text, default="")  # what the e-mail and webhook did


class OutboxRow(Base):
    """A message to deliver, written in the transaction that caused it: pending until a
    worker claims it (sending), then delivered, or pending again to retry, or failed."""

    __tablename__ = "outbox"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)  # what is due
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # email, webhook
    event: Mapped[str] = mapped_column(String(64))  # tier.near
    reference: Mapped[str] = mapped_column(String(100))  # alert:12
    destination: Mapped[str] = mapped_column(Text)  # e-mail addresses (JSON) or the URL
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[str] = mapped_column(String(32))
    next_attempt_at: Mapped[str] = mapped_column(String(32))
    delivered_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class RecordSeal(Base):
    """The digest of a record as the application last wrote it: see accrue.store.seals."""

    __tablename__ = "record_seals"
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)  # the record's table
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))


class NotificationRow(Base):
    """One notice for one person, written with the change that caused it: shown in the portal
    (unless they chose otherwise) until read; told once per kind and key."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "key"),
        Index(None, "user_id", "read_at"),  # the bell: a person's unread
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))  # what it is about: approval:12:1
    partner_id: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(300))
    in_portal: Mapped[bool] = mapped_column(Boolean)
    by_email: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[str] = mapped_column(String(32))
    read_at: Mapped[str | None] = mapped_column(String(32), nullable=True)


class PreferenceRow(Base):
    """A person's choice of channels for one kind of notification (none: the defaults)."""

    __tablename__ = "notification_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    portal: Mapped[bool] = mapped_column(Boolean)
    email: Mapped[bool] = mapped_column(Boolean)


class JobRow(Base):
    """A long use case run in the background (see accrue.store.jobs): queued until a worker
    claims it, running with its progress, then done with its result or failed with why."""

    __tablename__ = "jobs"
    __table_args__ = (Index(None, "status", "id"),)  # the oldest queued first
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # recalculate, import_lines, close, ...
    params: Mapped[str] = mapped_column(Text)  # JSON
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed
    requested_by: Mapped[str] = mapped_column(String(64))
    worker: Mapped[str] = mapped_column(String(100), default="")  # host:pid of the runner
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)  # progress: steps done
    total: Mapped[int] = mapped_column(Integer, default=0)  # of steps (0: not known yet)
    doing: Mapped[str] = mapped_column(Text, default="")  # what it is doing now
    result: Mapped[str] = mapped_column(Text, default="")  # JSON, once done
    error: Mapped[str] = mapped_column(Text, default="")  # why it failed
    created_at: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    finished_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
