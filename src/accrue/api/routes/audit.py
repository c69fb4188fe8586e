"""The audit trail: read it, and check that nothing in it or under its seals was changed; the
outbox: what was sent, what waits to be retried, what failed."""

from __future__ import annotations

from sqlalchemy import select

from accrue.api.lists import Listed, Page, listing, where_given
from accrue.api.schemas import AuditEntryOut, OutboxMessageOut, OutboxStatus, VerifiedOut
from accrue.api.security import Caller, Routes
from accrue.domain.audit import Head
from accrue.store.audit import verify_books
from accrue.store.tables import AuditRow, OutboxRow

routes = Routes(tags=["audit"])


@routes.read(
    "/audit",
    "audit:read",
    response_model=Page[AuditEntryOut],
    sort=("seq", "at", "actor", "entity"),
    operation_id="audit_entries",
)
def entries(
    context: Caller,
    paging: Listed,
    entity: str | None = None,
    key: str | None = None,
    actor: str | None = None,
):
    """Every entry, newest last unless sorted otherwise (sort=-seq for newest first)."""
    query = where_given(
        select(AuditRow), (AuditRow.entity, entity), (AuditRow.key, key), (AuditRow.actor, actor)
    )
    with context.books.session() as session:
        return listing(
            session,
            query,
            AuditRow,
            paging,
            AuditEntryOut.model_validate,
            "audit",
        )


@routes.read(
    "/audit/verify", "audit:read", response_model=VerifiedOut, operation_id="verify_audit_trail"
)
def verify(context: Caller, head: str | None = None):
    """Recompute the hash chain and every seal; `ok` is false with the breaks listed. `head`
    (`seq:hash`, exported earlier by `accrue audit head`): the trail must still hold it."""
    verified = verify_books(context.books, Head.parse(head) if head else None)
    return VerifiedOut(
        ok=verified.ok, entries=verified.entries, head=verified.head, problems=verified.problems
    )


@routes.read(
    "/outbox",
    "outbox:read",
    response_model=Page[OutboxMessageOut],
    sort=("id", "status", "attempts", "next_attempt_at"),
)
def outbox(context: Caller, paging: Listed, status: OutboxStatus | None = None):
    """E-mails and webhooks queued by alerts, oldest first: `status=failed` for those that
    gave up after their last attempt, `status=pending` for those waiting for a retry."""
    query = where_given(select(OutboxRow), (OutboxRow.status, status))
    with context.books.session() as session:
        return listing(
            session,
            query,
            OutboxRow,
            paging,
            OutboxMessageOut.model_validate,
            "outbox",
        )
