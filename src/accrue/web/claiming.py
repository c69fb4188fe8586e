"""Partners claim in the browser: ship-and-debit claims as a file (X12 844, CSV, Excel) or one
line typed into a form, and market development fund claims with their proof of performance.
Each is judged as the API judges it; the answers, line by line with their reasons, and the
fund balances with the day they run out are on /claims."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from accrue.api.security import Context
from accrue.api.uploads import received
from accrue.app import claims as use
from accrue.domain.errors import NotFound, Refused
from accrue.domain.shipdebit import Reason
from accrue.ingest.claims import claims_from_rows
from accrue.ingest.errors import InputError, Problem
from accrue.store import funds
from accrue.store.tables import AgreementRow, ClaimRow, ProductRow
from accrue.web import views
from accrue.web.disputes import disputable
from accrue.web.pages import back, page, pages
from accrue.web.session import Checked, Viewer

CLAIMS = "/claims"


@dataclass(frozen=True)
class Balance:
    """A partner's market development fund: what it holds today and when the oldest runs out."""

    program: str
    program_name: str
    partner: str
    partner_name: str
    currency: str
    accrued: Decimal
    used: Decimal
    expired: Decimal
    available: Decimal
    expires_on: date | None


@dataclass(frozen=True)
class Offered:
    """An agreement a partner may claim against: its products are the SKUs to choose from."""

    id: str
    partner: str
    end_customer: str
    skus: list[str]

    @property
    def label(self) -> str:
        return f"{self.id} · {self.end_customer} · {', '.join(self.skus)}"


@dataclass(frozen=True)
class Claimable:
    """A product the claim form offers: its name, and the agreements that cover it (the form
    narrows the list to the chosen agreement and to what the partner types)."""

    sku: str
    name: str
    agreements: list[str]


def claimable(context: Context, offered: list[Offered]) -> list[Claimable]:
    covering: dict[str, list[str]] = {}
    for agreement in offered:
        for sku in agreement.skus:
            covering.setdefault(sku, []).append(agreement.id)
    with context.books.session() as session:
        names = dict(
            session.execute(
                select(ProductRow.sku, ProductRow.name).where(ProductRow.sku.in_(covering))
            )
            .tuples()
            .all()
        )
    return [Claimable(sku, names.get(sku, ""), ids) for sku, ids in sorted(covering.items())]


class ClaimLineForm(BaseModel):
    """One claimed invoice line, typed in: the agreement names the partner and end customer."""

    claim_number: str = Field(min_length=1, max_length=64)
    agreement_id: str = Field(min_length=1, max_length=64)
    sku: str = Field(min_length=1, max_length=64)
    invoice: str = Field(min_length=1, max_length=64)
    invoice_line: str = Field(min_length=1, max_length=32)
    quantity: str = Field(min_length=1, max_length=20)
    sold_on: str = Field(min_length=10, max_length=10)


class FundClaimForm(BaseModel):
    """Market development funds asked for: `fund` is program/partner, as the form offers it."""

    fund: str = Field(min_length=3, max_length=140)
    number: str = Field(min_length=1, max_length=64)
    amount: Decimal = Field(gt=0, max_digits=18, decimal_places=2)
    description: str = Field(min_length=3, max_length=2000)


def balances(context: Context, today: date) -> list[Balance]:
    """The fund balances of the viewer's partners on `today`, by program and partner name."""
    partners = context.user.scope.partners
    with context.books.session() as session:
        rows = funds.balances(session, context.books, sorted(partners or []) or None, today)
        names = views.names_of(session, {r["partner_id"] for r in rows})
        programs = views.program_names(context.books, session)
        expiry = views.funds_of(
            context, session, [(r["program_id"], r["partner_id"]) for r in rows], today
        )
    return [
        Balance(
            r["program_id"],
            programs.get(r["program_id"], r["program_id"]),
            r["partner_id"],
            names.get(r["partner_id"], r["partner_id"]),
            r["currency"],
            r["accrued"],
            r["used"],
            r["expired"],
            r["available"],
            expiry[(r["program_id"], r["partner_id"])].expires_on,
        )
        for r in rows
    ]


def agreements(context: Context) -> list[Offered]:
    """The newest version of each agreement the viewer's partners may claim against."""
    with context.books.session() as session:
        rows = session.scalars(
            context.visible(select(AgreementRow), AgreementRow.partner_id).order_by(
                AgreementRow.version
            )
        ).all()
    newest = {row.id: row for row in rows}  # ordered by version: the last one wins
    return [
        Offered(r.id, r.partner_id, r.end_customer, sorted(json.loads(r.products)))
        for r in sorted(newest.values(), key=lambda r: r.id)
    ]


@pages.read(CLAIMS, "claims:read", response_class=HTMLResponse)
def claims(request: Request, viewer: Viewer):
    """The forms to claim; the claims, line by line with their answers and reasons; the fund
    balances with when they expire; the disputes and a form to open one by choosing the line."""
    today = viewer.books.clock().date()
    found, disputes = views.claims(viewer)
    offered = agreements(viewer)
    shown = {
        "claims": found,
        "disputes": disputes,
        "reasons": {r.value: r.text for r in Reason},
        "choices": disputable(viewer, today),
        "agreements": offered,
        "products": claimable(viewer, offered),
        "balances": balances(viewer, today),
        "today": today,
    }
    return page(request, "claims.html", user=viewer.user, **shown)


@pages.write("/claims/file", "claims:write")
def claim_file(request: Request, viewer: Viewer, _: Checked, file: UploadFile) -> RedirectResponse:
    """Ship-and-debit claims as an X12 844, CSV or Excel file."""

    def receive() -> list[ClaimRow]:
        with received(viewer.books, file) as sent:
            return use.submit_claim_file(viewer.books, sent.path, sent.name, viewer.check_partner)

    return _answered(request, receive)


@pages.write("/claims/line", "claims:write")
def claim_line(
    request: Request, viewer: Viewer, _: Checked, line: Annotated[ClaimLineForm, Form()]
) -> RedirectResponse:
    """One claimed invoice line against one of the partner's agreements."""

    def receive() -> list[ClaimRow]:
        agreement = {a.id: a for a in agreements(viewer)}.get(line.agreement_id)
        if agreement is None:
            raise NotFound(f"no agreement {line.agreement_id}")
        row = {**line.model_dump(), "partner_id": agreement.partner}
        row["end_customer"] = agreement.end_customer
        problems: list[Problem] = []
        found = claims_from_rows("form", [(1, row)], problems, viewer.books.clock().date())
        if problems:
            raise InputError(problems)
        return use.submit_claims(viewer.books, found, viewer.check_partner)

    return _answered(request, receive)


@pages.write("/claims/fund", "claims:write")
def fund_claim(
    request: Request,
    viewer: Viewer,
    _: Checked,
    claim: Annotated[FundClaimForm, Form()],
    proof: UploadFile,
) -> RedirectResponse:
    """Spend a market development fund, with its proof of performance."""
    program, _, partner = claim.fund.partition("/")

    def receive() -> list[ClaimRow]:
        sent = funds.Proof(proof.filename or "proof", proof.file.read(funds.MAX_PROOF_BYTES + 1))
        asked = claim.model_dump(exclude={"fund"})
        return [
            use.submit_fund_claim(
                viewer.books,
                partner_id=partner,
                program_id=program,
                proof=sent,
                may_claim_for=viewer.check_partner,
                **asked,
            )
        ]

    return _answered(request, receive)


def _answered(request: Request, receive: Callable[[], list[ClaimRow]]) -> RedirectResponse:
    """Back to the claims with what became of each claim, or why none was received."""
    try:
        rows = receive()
    except (Refused, NotFound) as refused:
        return back(request, CLAIMS, f"not received: {refused}")
    said = [f"claim {r.number}: {r.approved} of {r.requested} {r.currency} approved" for r in rows]
    return back(request, CLAIMS, "; ".join(said))
