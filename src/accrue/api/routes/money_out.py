"""Approvals (submit, approve, reject) and payouts (batches, files, paid): money leaves only
after someone other than who prepared it has approved it, and leaves once."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query
from fastapi.responses import Response
from sqlalchemy import select

from accrue.api.lists import Listed, Page, files, listing, paged, where_given
from accrue.api.schemas import (
    ApprovalDetailOut,
    ApprovalOut,
    BatchIn,
    DecideIn,
    DecisionOut,
    PaidIn,
    PathId,
    PayoutBatchDetailOut,
    PayoutBatchOut,
    PayoutBatchStatus,
    PayoutItemOut,
    SettlementOut,
)
from accrue.api.security import Caller, Context, Routes
from accrue.app import money
from accrue.domain.approvals import Status, Subject
from accrue.domain.errors import NotFound
from accrue.store import payouts
from accrue.store.tables import ApprovalRow, DecisionRow, PayoutBatchRow

routes = Routes(tags=["approvals and payouts"])


def _approval(context: Context, request_id: PathId) -> ApprovalDetailOut:
    with context.books.session() as session:
        request = session.get(ApprovalRow, request_id)
        if request is None:
            raise NotFound(f"no approval request {request_id}")
        decisions = session.scalars(
            select(DecisionRow)
            .where(DecisionRow.request_id == request_id)
            .order_by(DecisionRow.level)
        )
        return ApprovalDetailOut(
            **ApprovalOut.model_validate(request).model_dump(),
            decisions=[DecisionOut.model_validate(d) for d in decisions],
        )


@routes.write(
    "/settlements/{settlement_id}/submit",
    "approvals:submit",
    response_model=ApprovalDetailOut,
    status_code=201,
    operation_id="submit_settlement",
)
def submit(settlement_id: PathId, context: Caller):
    """Ask for a settlement's payout to be approved; the levels needed follow its amount."""
    return _approval(context, money.submit_settlements(context.books, [settlement_id])[0].id)


@routes.read(
    "/approvals",
    "approvals:read",
    response_model=Page[ApprovalOut],
    sort=("id", "status", "subject", "submitted_at"),
)
def approvals(
    context: Caller,
    paging: Listed,
    status: Status | None = None,
    subject: Subject | None = None,
):
    query = where_given(
        select(ApprovalRow), (ApprovalRow.status, status), (ApprovalRow.subject, subject)
    )
    with context.books.session() as session:
        return listing(
            session,
            query,
            ApprovalRow,
            paging,
            ApprovalOut.model_validate,
            "approvals",
        )


@routes.read(
    "/approvals/{request_id}",
    "approvals:read",
    response_model=ApprovalDetailOut,
    operation_id="get_approval",
)
def approval(request_id: PathId, context: Caller):
    return _approval(context, request_id)


@routes.write(
    "/approvals/{request_id}/approve",
    "approvals:decide",
    response_model=ApprovalDetailOut,
    operation_id="approve_request",
)
def approve(request_id: PathId, context: Caller, decision: DecideIn):
    """Approve the next level; never your own item, never twice the same request."""
    money.decide(context.books, request_id, True, decision.reason)
    return _approval(context, request_id)


@routes.write(
    "/approvals/{request_id}/reject",
    "approvals:decide",
    response_model=ApprovalDetailOut,
    operation_id="reject_request",
)
def reject(request_id: PathId, context: Caller, decision: DecideIn):
    """Reject, with a reason; a rejected payout batch frees its settlements."""
    money.decide(context.books, request_id, False, decision.reason)
    return _approval(context, request_id)


@routes.read(
    "/payouts/payable",
    "payouts:read",
    response_model=Page[SettlementOut],
    operation_id="payable_settlements",
)
def payable(
    context: Caller,
    paging: Listed,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
):
    """Approved settlements with something left to pay, in no batch yet."""
    with context.books.session() as session:
        rows = payouts.payable(session, currency)
    return paged([SettlementOut.model_validate(r) for r in rows], paging, "payable")


def _batch(context: Context, batch_id: PathId) -> PayoutBatchDetailOut:
    with context.books.session() as session:
        batch = session.get(PayoutBatchRow, batch_id)
        if batch is None:
            raise NotFound(f"no payout batch {batch_id}")
        items = [
            PayoutItemOut(
                settlement_id=settlement.id,
                partner_id=settlement.partner_id,
                program_id=settlement.program_id,
                period=settlement.period,
                amount=item.amount,
                journal_id=item.journal_id,
            )
            for item, settlement in payouts.items(session, batch_id)
        ]
    released = batch.status in (Status.APPROVED, payouts.PAID)
    names = [f.name for f in payouts.files(context.books, batch_id)] if released else []
    return PayoutBatchDetailOut(
        **PayoutBatchOut.model_validate(batch).model_dump(), items=items, files=names
    )


@routes.write(
    "/payout-batches", "payouts:write", response_model=PayoutBatchDetailOut, status_code=201
)
def create_payout_batch(context: Caller, asked: BatchIn):
    """Batch approved settlements for one method and currency; the batch goes for approval."""
    batch = money.batch_payouts(context.books, asked.method, asked.currency, asked.settlement_ids)
    return _batch(context, batch.id)


@routes.read(
    "/payout-batches",
    "payouts:read",
    response_model=Page[PayoutBatchOut],
    sort=("id", "status", "created_at", "total"),
)
def payout_batches(context: Caller, paging: Listed, status: PayoutBatchStatus | None = None):
    query = where_given(select(PayoutBatchRow), (PayoutBatchRow.status, status))
    with context.books.session() as session:
        return listing(
            session,
            query,
            PayoutBatchRow,
            paging,
            PayoutBatchOut.model_validate,
            "payout-batches",
        )


@routes.read(
    "/payout-batches/{batch_id}",
    "payouts:read",
    response_model=PayoutBatchDetailOut,
    operation_id="get_payout_batch",
)
def payout_batch(batch_id: PathId, context: Caller):
    return _batch(context, batch_id)


@routes.read(
    "/payout-batches/{batch_id}/files/{name}",
    "payouts:read",
    response_class=Response,
    responses={200: files("application/xml", "text/csv")},
    operation_id="download_payout_file",
)
def download(
    batch_id: PathId,
    name: str,
    context: Caller,
    on: Annotated[date | None, Query(description="execution date before payment")] = None,
):
    """A released batch's file: the pain.001 bank file, the credit memo or check list, and
    once paid the journals for the ERP."""
    found = payouts.file(context.books, batch_id, name, on or context.books.clock().date())
    disposition = f'attachment; filename="{found.name}"'
    return Response(
        found.content, media_type=found.media_type, headers={"Content-Disposition": disposition}
    )


@routes.write(
    "/payout-batches/{batch_id}/paid",
    "payouts:write",
    response_model=PayoutBatchDetailOut,
    operation_id="mark_paid",
)
def paid(batch_id: PathId, context: Caller, asked: PaidIn):
    """Mark an approved batch paid: one payout journal per settlement, once."""
    money.mark_paid(context.books, batch_id, asked.on or context.books.clock().date())
    return _batch(context, batch_id)
