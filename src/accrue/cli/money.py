"""Money out and disagreements from the command line: settlements submitted for approval,
requests decided, payout batches made and marked paid, disputes opened and resolved — the same
use cases (accrue.app) the API and the portal call. Each acts as ACCRUE_ACTOR."""

from __future__ import annotations

from typing import Annotated

import typer

from accrue.cli.app import app, console, parse_amount, parse_date, record_id, reports_errors
from accrue.cli.books import opened
from accrue.domain.ledger import PayoutMethod

payouts_app = typer.Typer(help="Payout batches: made for approval, then marked paid.")
disputes_app = typer.Typer(help="Disputes: opened about a standing, settlement or claim line.")
app.add_typer(payouts_app, name="payouts")
app.add_typer(disputes_app, name="disputes")


@app.command("submit")
@reports_errors
def submit(
    settlements: Annotated[list[int], typer.Argument(help="settlement ids")],
) -> None:
    """Ask for approval of settlements' payouts (all or none); under every threshold they are
    approved at once."""
    from accrue.app.money import submit_settlements

    with opened() as books:
        for request in submit_settlements(books, settlements):
            console.print(
                f"settlement {request.subject_id}: request {request.id}, {request.status}",
                highlight=False,
            )


@app.command("approve")
@reports_errors
def approve(
    request: Annotated[int, record_id("approval request id")],
    reject: Annotated[bool, typer.Option(help="reject instead (needs --reason)")] = False,
    reason: Annotated[str, typer.Option(help="why (kept in the audit trail)")] = "",
) -> None:
    """Decide an approval request as ACCRUE_ACTOR (never your own item, never twice)."""
    from accrue.app.money import decide

    with opened() as books:
        decided = decide(books, request, not reject, reason)
    console.print(
        f"request {decided.id} ({decided.subject} {decided.subject_id}): {decided.status}",
        highlight=False,
    )


@payouts_app.command("batch")
@reports_errors
def batch(
    method: Annotated[PayoutMethod, typer.Option(help="how the batch is paid")],
    currency: Annotated[str, typer.Option(help="ISO currency code")] = "USD",
    settlements: Annotated[
        list[int] | None, typer.Argument(help="settlement ids (default: every payable one)")
    ] = None,
) -> None:
    """Batch approved, unpaid settlements; the batch goes for approval."""
    from accrue.app.money import batch_payouts

    with opened() as books:
        made = batch_payouts(books, method, currency, settlements or None)
    console.print(
        f"payout batch {made.id}: {made.total} {made.currency}, {made.status}", highlight=False
    )


@payouts_app.command("paid")
@reports_errors
def paid(
    batch_id: Annotated[int, record_id("payout batch id")],
    on: Annotated[str | None, typer.Option(help="payment date (default: today)")] = None,
) -> None:
    """Mark a released batch paid: one payout journal per settlement, once."""
    from accrue.app.money import mark_paid

    with opened() as books:
        mark_paid(books, batch_id, parse_date(on, "--on") or books.clock().date())
    console.print(f"payout batch {batch_id} paid", highlight=False)


@disputes_app.command("open")
@reports_errors
def open_dispute(
    about: Annotated[str, typer.Argument(help="standing, settlement or claim_line")],
    key: Annotated[str, typer.Argument(help="program/partner/period, or the id")],
    reason: Annotated[str, typer.Option(help="what is wrong")],
) -> None:
    """Challenge a standing, a settlement or a claim line."""
    from accrue.app.claims import open_dispute as opened_dispute
    from accrue.domain.errors import Refused
    from accrue.store.disputes import About

    if about not in tuple(About):
        raise Refused(f"about: choose from {', '.join(About)}")
    with opened() as books:
        row = opened_dispute(books, About(about), key, reason)
    console.print(f"dispute {row.id} opened about {about} {key}", highlight=False)


@disputes_app.command("resolve")
@reports_errors
def resolve(
    dispute: Annotated[int, record_id("dispute id")],
    resolution: Annotated[str, typer.Option(help="the answer (kept in the audit trail)")],
    adjustment: Annotated[
        str | None, typer.Option(help="amount to post (goes for approval); none dismisses")
    ] = None,
) -> None:
    """Dismiss a dispute, or propose an adjustment that is posted once approved."""
    from accrue.app.claims import resolve_dispute

    with opened() as books:
        row = resolve_dispute(books, dispute, resolution, parse_amount(adjustment, "--adjustment"))
    console.print(f"dispute {dispute}: {row.status}", highlight=False)
