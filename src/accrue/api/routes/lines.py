"""Lines in (file upload or JSON push), the batches they made, their rejected rows, and the
lines themselves."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import Query, UploadFile
from sqlalchemy import select

from accrue.api.lists import Listed, Page, export, listing, where_given
from accrue.api.routes.books import today
from accrue.api.schemas import (
    BatchKind,
    BatchOut,
    BatchStatus,
    LineOut,
    LinesIn,
    PathId,
    ReceivedOut,
    RejectionOut,
)
from accrue.api.security import Caller, Routes
from accrue.api.uploads import received
from accrue.app.books import Imported, import_lines, push_lines
from accrue.domain.errors import NotFound
from accrue.domain.money import money_text
from accrue.report import quantity_text
from accrue.store.tables import Batch, RejectedRow

routes = Routes(tags=["lines and batches"])
# sort keys and the line store's columns they order by (amounts and quantities by value)
LINE_SORTS = {
    **{k: k for k in ("date", "document", "partner_id", "sku")},
    **{"amount": "amount_micros", "quantity": "quantity_milli"},
}
SHOWN_REJECTIONS = 100


Recalculating = Annotated[
    bool, Query(description="recompute what the lines touched, post it and raise alerts")
]


def _received(context: Caller, imported: Imported) -> ReceivedOut:
    received = imported.received[0]
    with context.books.session() as session:
        rejected = session.scalars(
            select(RejectedRow)
            .where(RejectedRow.batch_id == received.batch.id)
            .order_by(RejectedRow.row_no, RejectedRow.id)
            .limit(SHOWN_REJECTIONS)
        )
        return ReceivedOut(
            batch=BatchOut.model_validate(received.batch),
            rejections=[RejectionOut.of(row) for row in rejected],
        )


@routes.write(
    "/batches",
    "lines:write",
    response_model=ReceivedOut,
    status_code=201,
    operation_id="upload_lines",
)
def upload(file: UploadFile, context: Caller, recalculate: Recalculating = True):
    """A lines file (CSV, Excel, Parquet or JSON). Bad rows are kept in quarantine, the rest
    lands; sending the same file again changes nothing. The standings the lines touched are
    recomputed and posted, and proximity alerts raised (`recalculate=false` leaves that to
    /recalc, to batch several files)."""
    with received(context.books, file) as sent:
        files = [(sent.path, sent.name)]
        taken = import_lines(context.books, files, today(context), recalculate)
    return _received(context, taken)


@routes.write(
    "/lines", "lines:write", response_model=ReceivedOut, status_code=201, operation_id="push_lines"
)
def push(payload: LinesIn, context: Caller, recalculate: Recalculating = True):
    """Lines as JSON, judged exactly like a file (and recomputed the same way): replaying a
    payload changes nothing."""
    document = payload.document()
    pushed = push_lines(context.books, payload.name, document, today(context), recalculate)
    return _received(context, pushed)


@routes.read(
    "/batches",
    "batches:read",
    response_model=Page[BatchOut],
    sort=("id", "kind", "status", "received_at", "rejected"),
)
def batches(
    context: Caller,
    paging: Listed,
    kind: BatchKind | None = None,
    status: BatchStatus | None = None,
):
    query = where_given(select(Batch), (Batch.kind, kind), (Batch.status, status))
    with context.books.session() as session:
        return listing(
            session,
            query,
            Batch,
            paging,
            BatchOut.model_validate,
            "batches",
        )


@routes.read(
    "/batches/{batch_id}", "batches:read", response_model=BatchOut, operation_id="get_batch"
)
def batch(batch_id: PathId, context: Caller):
    with context.books.session() as session:
        row = session.get(Batch, batch_id)
    if row is None:
        raise NotFound(f"no batch {batch_id}")
    return row


@routes.read(
    "/batches/{batch_id}/rejections",
    "batches:read",
    response_model=Page[RejectionOut],
    sort=("row_no", "id", "field"),
)
def rejections(
    batch_id: PathId,
    context: Caller,
    paging: Listed,
    unresolved: Annotated[bool, Query(description="only rows not yet corrected")] = False,
):
    """The rows refused, with row number, field, value and reason, and the row as received:
    export them (rejections/export?format=csv), correct them and send them again."""
    query = select(RejectedRow).where(RejectedRow.batch_id == batch_id)
    if unresolved:
        query = query.where(RejectedRow.resolved_by.is_(None))
    with context.books.session() as session:
        if session.get(Batch, batch_id) is None:
            raise NotFound(f"no batch {batch_id}")
        return listing(
            session,
            query,
            RejectedRow,
            paging,
            RejectionOut.of,
            f"batch-{batch_id}-rejections",
        )


@routes.read("/lines", "lines:read", response_model=Page[LineOut], sort=tuple(LINE_SORTS))
def lines(
    context: Caller,
    paging: Listed,
    partner_id: str | None = None,
    sku: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
):
    """The current lines (corrections applied), newest first unless sorted otherwise."""
    table = context.books.line_store.lines()
    partners = context.user.scope.partners
    if partner_id is not None:
        context.check_partner(partner_id)
        table = table.filter(table.partner_id == partner_id)
    elif partners is not None:
        table = table.filter(table.partner_id.isin(sorted(partners)))
    if sku is not None:
        table = table.filter(table.sku == sku)
    if date_from is not None:
        table = table.filter(table.date >= date_from)
    if date_to is not None:
        table = table.filter(table.date <= date_to)
    table = table.order_by(_line_order(table, paging.sort or "-date"))
    window = table if paging.file else table.limit(paging.limit, offset=paging.offset)
    items = [_line(row) for row in window.to_pyarrow().to_pylist()]
    if paging.file:
        return export(items, "lines", paging.file, LineOut)
    total = table.count().to_pyarrow().as_py()
    return {"items": items, "total": total, "limit": paging.limit, "offset": paging.offset}


def _line_order(table, sort: str) -> list:
    """The sorted column, then the line's key (each column once)."""
    name = LINE_SORTS[sort.lstrip("-")]
    first = table[name].desc() if sort.startswith("-") else table[name].asc()
    return [first, *(k for k in ("source", "document", "line_no") if k != name)]


def _line(row: dict) -> LineOut:
    return LineOut(
        **{k: row[k] for k in ("source", "document", "line_no", "kind", "partner_id", "sku")},
        date=row["date"],
        quantity=quantity_text(Decimal(row["quantity_milli"]).scaleb(-3)),
        amount=money_text(Decimal(row["amount_micros"]).scaleb(-6), row["currency"]),
        currency=row["currency"],
    )
