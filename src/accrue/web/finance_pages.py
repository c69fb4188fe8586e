"""Finance's pages and actions: the landing page, submitting settlements for approval (one or
many), deciding requests, payout batches and their files, exports, and the period close."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accrue.api.lists import XLSX, FileFormat, export
from accrue.api.schemas import PathId
from accrue.app import money
from accrue.app.jobs import close_later, statements_later
from accrue.app.statements import issued
from accrue.domain.approvals import ApprovalError
from accrue.domain.errors import NotFound, Refused
from accrue.domain.ledger import PayoutMethod
from accrue.store import payouts
from accrue.store.close import preview_close
from accrue.web import finance as view
from accrue.web.insight import Label
from accrue.web.pages import back, download, page, pages, saved_as
from accrue.web.session import Checked, Missing, Viewer
from accrue.web.views import program_names


@pages.read("/finance", "ledger:read", response_class=HTMLResponse)
def finance(request: Request, viewer: Viewer):
    """The liability, what waits for the viewer, and the forms to act on it."""
    shown = {"ages": view.AGES, "shown": view.SHOWN}
    return page(request, "finance.html", user=viewer.user, view=view.finance(viewer), **shown)


def _acted(
    request: Request, act: Callable[[], str], *refusals, to: str = "/finance"
) -> RedirectResponse:
    """Back to the finance page (or `to`) saying what `act` did, or why it was refused."""
    try:
        notice = act()
    except refusals as refused:
        notice = str(refused)
    return back(request, to, notice)


@pages.write("/finance/approvals/{request_id}", "approvals:decide")
def decide(
    request: Request,
    request_id: PathId,
    viewer: Viewer,
    _: Checked,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    reason: Annotated[str, Form(max_length=500)] = "",
    then: Annotated[str, Form(pattern="^/(finance|approvals)$")] = "/finance",
):
    """Approve or reject, then back to the page the decision was made on (`then`)."""

    def decided() -> str:
        made = money.decide(viewer.books, request_id, decision == "approve", reason)
        return f"request {request_id}: {made.status}"

    return _acted(request, decided, ApprovalError, NotFound, to=then)


@pages.write("/finance/payouts", "payouts:write")
def batch(
    request: Request,
    viewer: Viewer,
    _: Checked,
    method: Annotated[PayoutMethod, Form()],
    currency: Annotated[str, Form(pattern="^[A-Z]{3}$")] = "USD",
):
    """Every approved, unpaid settlement in a currency, in one batch sent for approval."""

    def made() -> str:
        batch = money.batch_payouts(viewer.books, method, currency)
        return f"payout batch {batch.id}: {batch.total} {currency}, {batch.status}"

    return _acted(request, made, payouts.PayoutError)


@pages.read(
    "/finance/payouts/{batch_id}/{name}", "payouts:read", **saved_as("application/xml", "text/csv")
)
def payout_file(batch_id: PathId, name: str, viewer: Viewer):
    """A released batch's bank file, credit memo or check list, or its journals once paid."""
    try:
        found = payouts.file(viewer.books, batch_id, name, viewer.books.clock().date())
    except (NotFound, payouts.PayoutError) as missing:
        raise Missing(str(missing)) from None
    return download(found.content, found.media_type, found.name)


@pages.write("/finance/payouts/{batch_id}/paid", "payouts:write")
def paid(request: Request, batch_id: PathId, viewer: Viewer, _: Checked):
    def marked() -> str:
        money.mark_paid(viewer.books, batch_id, viewer.books.clock().date())
        return f"payout batch {batch_id} paid"

    return _acted(request, marked, NotFound, payouts.PayoutError)


@pages.write("/finance/close", "periods:close")
def close(
    request: Request,
    viewer: Viewer,
    _: Checked,
    label: Annotated[str, Form(max_length=10)],
    force_reason: Annotated[str, Form(max_length=500)] = "",
):
    """The close, once confirmed, queued for the job worker (a close recalculates first and
    can take long: the request returns at once), then the job's page shows it run and what it
    settled; one before the period's end only with a reason, refused here at once."""
    try:
        job = close_later(viewer.books, label, viewer.books.clock().date(), force_reason)
    except Refused as refused:
        return back(request, f"/finance/close?period={quote(label)}", str(refused))
    return back(request, f"/jobs/{job.id}", f"job {job.id}: closing {label} queued")


@pages.write("/finance/statements", "ledger:read")
def statements(
    request: Request, viewer: Viewer, _: Checked, label: Annotated[str, Form(max_length=10)]
):
    """Every partner's statement of a period, rendered by the job worker; the job's page
    lists them once written."""
    try:
        job = statements_later(viewer.books, label, None)
    except Refused as refused:
        return back(request, "/finance", str(refused))
    return back(request, f"/jobs/{job.id}", f"job {job.id}: statements of {label} queued")


@pages.read(
    "/jobs/{job_id}/statements/{partner_id}.pdf",
    "settlements:read",
    **saved_as("application/pdf"),
)
def statement_file(job_id: PathId, partner_id: str, viewer: Viewer):
    """A statement a statement run kept: staff get any, a partner only their own."""
    try:
        if not viewer.user.scope.sees(partner_id):
            raise NotFound(f"no statement of {partner_id}")
        name, content = issued(viewer.books, job_id, partner_id)
    except NotFound as missing:
        raise Missing(str(missing)) from None
    return download(content, "application/pdf", name)


@pages.read("/finance/close", "periods:close", response_class=HTMLResponse)
def confirm_close(request: Request, viewer: Viewer, period: Label = ""):
    """What closing `period` will settle and expire, and the button that does it."""
    shown: dict = {"period": period}
    if period:
        try:
            preview = preview_close(viewer.books, period, viewer.books.clock().date())
        except Refused as refused:
            shown["problem"] = str(refused)
        else:
            shown["preview"] = preview
            with viewer.books.session() as session:
                shown["names"] = program_names(viewer.books, session)
    return page(request, "close.html", user=viewer.user, **shown)


@pages.write("/finance/settlements/submit", "approvals:submit")
def submit_settlements(
    request: Request,
    viewer: Viewer,
    _: Checked,
    one: Annotated[int | None, Form()] = None,
    chosen: Annotated[list[int] | None, Form()] = None,
    every: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    """Ask for approval of one settlement, the ones ticked, or every one waiting."""
    wanted = [one] if one else chosen or []
    if every:
        with viewer.books.session() as session:
            wanted = [d.settlement for d in view.due(session, {})]
    if not wanted:
        return back(request, "/finance", "choose the settlements to submit")
    try:
        asked = money.submit_settlements(viewer.books, wanted)
    except (ApprovalError, NotFound) as refused:
        return back(request, "/finance", f"nothing submitted: {refused}")
    waiting = sum(a.status == "pending" for a in asked)
    return back(
        request,
        "/finance",
        f"{len(asked)} settlement(s) submitted: {waiting} wait for approval, "
        f"{len(asked) - waiting} approved under the thresholds",
    )


EXPORTS = {
    "liability": lambda v: (view.liability_lines(v), view.LiabilityLine),
    "to-submit": lambda v: (v.due, view.Due),
}


@pages.read("/finance/exports/{name}", "ledger:read", **saved_as("text/csv", XLSX))
def export_file(name: str, viewer: Viewer) -> Response:
    """The liability or the settlements to submit, as `liability.csv`, `to-submit.xlsx`..."""
    stem, _, suffix = name.partition(".")
    if stem not in EXPORTS or suffix not in tuple(FileFormat):
        raise Missing(f"no export {name}")
    rows, model = EXPORTS[stem](view.finance(viewer))
    return export(rows, stem, FileFormat(suffix), model)
