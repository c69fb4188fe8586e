"""Ship-and-debit agreements and claims (files, JSON or X12 844 in; 849 or CSV answers out),
market development funds and their claims, the leakage report, and disputes."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Form, Query, UploadFile
from fastapi.responses import Response
from sqlalchemy import select

from accrue.api.lists import Listed, Page, files, listing, paged, where_given
from accrue.api.schemas import (
    AgreementOut,
    AgreementProductOut,
    BatchOut,
    ClaimDetailOut,
    ClaimKind,
    ClaimLineOut,
    ClaimLinesIn,
    ClaimOut,
    ClaimStatus,
    DisputeIn,
    DisputeOut,
    DisputeStatus,
    FundOut,
    LeakageOut,
    MoneyIn,
    PathId,
    ResolveIn,
)
from accrue.api.security import Caller, Context, Routes
from accrue.api.uploads import received
from accrue.app import claims as use
from accrue.domain.errors import NotFound
from accrue.domain.shipdebit import Reason
from accrue.ingest.claims import claims_from_rows, json_claim_rows
from accrue.ingest.errors import InputError, Problem
from accrue.store import claims as store
from accrue.store import disputes, funds
from accrue.store.tables import AgreementRow, ClaimLineRow, ClaimRow, DisputeRow, ProofRow

routes = Routes(tags=["claims, funds and disputes"])
EDI = "application/edi-x12"


def _agreement(row: AgreementRow) -> AgreementOut:
    products = [
        AgreementProductOut(sku=sku, **prices)
        for sku, prices in sorted(json.loads(row.products).items())
    ]
    fields = {
        k: getattr(row, k)
        for k in AgreementOut.model_fields
        if k not in ("products", "exclusive_of")
    }
    return AgreementOut(**fields, products=products, exclusive_of=json.loads(row.exclusive_of))


@routes.write("/agreements", "agreements:write", response_model=BatchOut, status_code=201)
def import_agreements(file: UploadFile, context: Caller):
    """Ship-and-debit agreements from CSV or Excel, one row per product; a changed agreement
    becomes a new version."""
    with received(context.books, file) as sent:
        return use.import_agreements(context.books, sent.path, sent.name)


@routes.read(
    "/agreements",
    "agreements:read",
    response_model=Page[AgreementOut],
    sort=("id", "version", "partner_id"),
)
def agreements(context: Caller, paging: Listed, partner_id: str | None = None):
    """Every version of every agreement the caller may see."""
    query = where_given(
        context.visible(select(AgreementRow), AgreementRow.partner_id),
        (AgreementRow.partner_id, partner_id),
    )
    with context.books.session() as session:
        return listing(
            session,
            query,
            AgreementRow,
            paging,
            _agreement,
            "agreements",
        )


def _answered(context: Context, rows: list[ClaimRow]) -> list[ClaimDetailOut]:
    return [_claim(context, row.id) for row in rows]


@routes.write("/claims", "claims:write", response_model=list[ClaimDetailOut], status_code=201)
def submit_claims(file: UploadFile, context: Caller):
    """Ship-and-debit claims as an X12 844, CSV, Excel or JSON file. Each line is answered
    (accepted, adjusted or rejected, with a reason); sending the same claim again changes
    nothing. The answers: /claims/{id}/response (849 or CSV)."""
    with received(context.books, file) as sent:
        rows = use.submit_claim_file(context.books, sent.path, sent.name, context.check_partner)
    return _answered(context, rows)


@routes.write("/claims/lines", "claims:write", response_model=list[ClaimDetailOut], status_code=201)
def push_claims(payload: ClaimLinesIn, context: Caller):
    """Ship-and-debit claim lines as JSON, judged like a file."""
    problems: list[Problem] = []
    rows = json_claim_rows(payload.document(), "payload", problems)
    found = claims_from_rows("payload", rows, problems, context.books.clock().date())
    if problems:
        raise InputError(problems)
    return _answered(context, use.submit_claims(context.books, found, context.check_partner))


@routes.read(
    "/claims",
    "claims:read",
    response_model=Page[ClaimOut],
    sort=("id", "received_at", "status", "partner_id", "requested", "approved"),
)
def claims(
    context: Caller,
    paging: Listed,
    kind: ClaimKind | None = None,
    status: ClaimStatus | None = None,
    partner_id: str | None = None,
):
    query = where_given(
        context.visible(select(ClaimRow), ClaimRow.partner_id),
        (ClaimRow.kind, kind),
        (ClaimRow.status, status),
        (ClaimRow.partner_id, partner_id),
    )
    with context.books.session() as session:
        return listing(
            session,
            query,
            ClaimRow,
            paging,
            ClaimOut.model_validate,
            "claims",
        )


def _claim(context: Context, claim_id: int) -> ClaimDetailOut:
    with context.books.session() as session:
        row = session.get(ClaimRow, claim_id)
        if row is None or not context.user.scope.sees(row.partner_id):
            raise NotFound(f"no claim {claim_id}")
        lines = session.scalars(
            select(ClaimLineRow)
            .where(ClaimLineRow.claim_id == claim_id)
            .order_by(ClaimLineRow.line_no)
        )
        proofs = session.scalars(select(ProofRow.digest).where(ProofRow.claim_id == claim_id))
        return ClaimDetailOut(
            **ClaimOut.model_validate(row).model_dump(),
            lines=[_line(line) for line in lines],
            proofs=list(proofs),
        )


def _line(row: ClaimLineRow) -> ClaimLineOut:
    reason = Reason(row.reason).text if row.reason else None
    return ClaimLineOut.model_validate(row).model_copy(update={"reason_text": reason})


@routes.read(
    "/claims/{claim_id}", "claims:read", response_model=ClaimDetailOut, operation_id="get_claim"
)
def claim(claim_id: PathId, context: Caller):
    return _claim(context, claim_id)


@routes.read(
    "/claims/{claim_id}/response",
    "claims:read",
    response_class=Response,
    responses={200: files(EDI, "text/csv")},
    operation_id="download_claim_response",
)
def response(
    claim_id: PathId,
    context: Caller,
    format: Annotated[str, Query(pattern="^(x12|csv)$", description="x12 (an 849) or csv")] = "x12",
):
    """The answer to a ship-and-debit claim, line by line: an X12 849, or CSV."""
    _claim(context, claim_id)  # scope
    if format == "csv":
        content, media, name = store.response_csv(context.books, claim_id), "text/csv", "csv"
    else:
        content, media, name = store.response_849(context.books, claim_id), EDI, "849.edi"
    disposition = f'attachment; filename="claim-{claim_id}.{name}"'
    return Response(content, media_type=media, headers={"Content-Disposition": disposition})


@routes.read(
    "/claims/{claim_id}/proofs/{digest}",
    "claims:read",
    response_class=Response,
    responses={200: files(*funds.PROOF_TYPES.values())},
    operation_id="download_proof",
)
def proof(claim_id: PathId, digest: str, context: Caller):
    """A fund claim's proof of performance, as received."""
    _claim(context, claim_id)
    with context.books.session() as session:
        row = session.scalar(
            select(ProofRow).where(ProofRow.claim_id == claim_id, ProofRow.digest == digest)
        )
    if row is None:
        raise NotFound(f"no proof {digest} for claim {claim_id}")
    return Response(funds.proof_file(context.books, digest), media_type=row.media_type)


@routes.write("/funds/claims", "claims:write", response_model=ClaimDetailOut, status_code=201)
def fund_claim(
    context: Caller,
    partner_id: Annotated[str, Form(max_length=64)],
    program_id: Annotated[str, Form(max_length=64)],
    number: Annotated[str, Form(min_length=1, max_length=64)],
    amount: Annotated[MoneyIn, Form(gt=0, max_digits=18, decimal_places=2)],
    description: Annotated[str, Form(min_length=3, max_length=2000)],
    proof: UploadFile,
):
    """Spend market development funds: approved up to what is available (oldest funds first),
    the rest refused; the proof of performance (PDF, PNG or JPEG, ≤ 10 MiB) is kept."""
    content = proof.file.read(funds.MAX_PROOF_BYTES + 1)
    sent = funds.Proof(proof.filename or "proof", content)
    row = use.submit_fund_claim(
        context.books,
        partner_id,
        context.check_partner,
        program_id=program_id,
        number=number,
        amount=amount,
        description=description,
        proof=sent,
    )
    return _claim(context, row.id)


@routes.read("/funds", "funds:read", response_model=Page[FundOut])
def fund_balances(context: Caller, paging: Listed, partner_id: str | None = None):
    """Each partner's funds: accrued, used, expired, and available today."""
    partners = context.user.scope.partners
    wanted = [partner_id] if partner_id else (sorted(partners) if partners is not None else None)
    if partner_id:
        context.check_partner(partner_id)
    with context.books.session() as session:
        rows = funds.balances(session, context.books, wanted, context.books.clock().date())
    return paged([FundOut(**{k: str(v) for k, v in r.items()}) for r in rows], paging, "funds")


@routes.read("/leakage", "leakage:read", response_model=Page[LeakageOut])
def leakage(context: Caller, paging: Listed):
    """What claims asked for and did not get, by kind and reason: the leakage prevented."""
    with context.books.session() as session:
        rows = store.leakage(session)
    items = [LeakageOut(**{**r, "prevented": str(r["prevented"])}) for r in rows]
    return paged(items, paging, "leakage")


@routes.write("/disputes", "disputes:open", response_model=DisputeOut, status_code=201)
def open_dispute(asked: DisputeIn, context: Caller):
    """Challenge a standing, a settlement or a claim line; the manufacturer sees its trace."""
    about = disputes.About(asked.about)
    return use.open_dispute(
        context.books, about, asked.key, asked.reason, visible=context.user.scope.sees
    )


@routes.read(
    "/disputes",
    "disputes:read",
    response_model=Page[DisputeOut],
    sort=("id", "status", "opened_at"),
    operation_id="disputes",
)
def dispute_list(context: Caller, paging: Listed, status: DisputeStatus | None = None):
    query = where_given(
        context.visible(select(DisputeRow), DisputeRow.partner_id), (DisputeRow.status, status)
    )
    with context.books.session() as session:
        return listing(
            session,
            query,
            DisputeRow,
            paging,
            DisputeOut.model_validate,
            "disputes",
        )


@routes.read(
    "/disputes/{dispute_id}", "disputes:read", response_model=DisputeOut, operation_id="get_dispute"
)
def dispute(dispute_id: PathId, context: Caller):
    with context.books.session() as session:
        row = session.get(DisputeRow, dispute_id)
    if row is None or not context.user.scope.sees(row.partner_id):
        raise NotFound(f"no dispute {dispute_id}")
    return row


@routes.write(
    "/disputes/{dispute_id}/resolve",
    "disputes:resolve",
    response_model=DisputeOut,
    operation_id="resolve_dispute",
)
def resolve(dispute_id: PathId, asked: ResolveIn, context: Caller):
    """Dismiss with a reason, or propose an adjustment: it is posted once approved (by someone
    else), and settled with the period it is booked in."""
    return use.resolve_dispute(context.books, dispute_id, asked.resolution, asked.adjustment)
