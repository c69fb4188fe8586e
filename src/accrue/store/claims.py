"""Ship-and-debit agreements and claims in the books.

A claim is judged line by line against the agreements and against everything claimed before
(accepted or adjusted lines, in claims not rejected) — inside the writers' transaction, so two
claims arriving together cannot both use the same units or the same invoice line. Its approved
amount goes through approval; once approved, its journal is posted. The same claim sent again
is answered the same way and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import asdict, replace
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from accrue.domain.approvals import Status, Subject
from accrue.domain.errors import Conflict, NotFound, Refused
from accrue.domain.funds import INSUFFICIENT
from accrue.domain.ledger import ship_and_debit_journal
from accrue.domain.money import ZERO, round_money
from accrue.domain.shipdebit import (
    Agreement,
    ClaimLine,
    History,
    Pricing,
    Reason,
    Verdict,
    invoice_key,
    judge,
)
from accrue.export.cells import csv_text
from accrue.ingest.claims import ClaimIn, read_agreements
from accrue.ingest.edi import Answer, build_849
from accrue.store import ledger, notify
from accrue.store.approvals import Approvable, approvable, submit
from accrue.store.books import Books
from accrue.store.funds import FUND, post_fund_claim, release
from accrue.store.tables import (
    AgreementRow,
    Batch,
    ClaimLineRow,
    ClaimRow,
    PartnerRow,
    SettlementRow,
)
from accrue.store.trace import trace

SHIP_AND_DEBIT = "ship_and_debit"
ANSWERED = "answered"  # nothing to pay: every line refused
NO_FUNDS = "NF"  # the leakage report's reason for fund claims beyond the funds available


class ClaimError(Refused):
    """A claim that cannot be received; the message says why."""


# --- agreements --------------------------------------------------------------------------------


def _document(agreement: Agreement) -> dict:
    products = {
        sku: {k: str(v) for k, v in asdict(p).items()} for sku, p in agreement.products.items()
    }
    return {
        "partner_id": agreement.partner_id,
        "end_customer": agreement.end_customer,
        "currency": agreement.currency,
        "valid_from": agreement.valid_from.isoformat(),
        "valid_to": agreement.valid_to.isoformat(),
        "claim_window_days": agreement.claim_window_days,
        "products": products,
        "exclusive_of": list(agreement.exclusive_of),
    }


def import_agreements(books: Books, path: Path, name: str | None = None) -> Batch:
    """New agreements, and a new version of each one that changed (earlier claims keep the
    version they were judged by). `name` is what the books call the file (its path when not
    given)."""
    found = read_agreements(path)
    with books.session() as session:
        batch = Batch(
            kind="agreements",
            source_name=name or str(path),
            file_digest=hashlib.sha256(path.read_bytes()).hexdigest(),
            status="committed",
            received=len(found),
            received_at=books.now(),
            actor=books.settings.actor,
        )
        session.add(batch)
        session.flush()
        changed = [a.id for a in found if _store_agreement(session, a, batch.id)]
        batch.accepted, batch.duplicate = len(changed), len(found) - len(changed)
        books.audit(
            session,
            "import",
            "agreements",
            str(batch.id),
            after={"file": name or str(path), "changed": changed},
        )
    return batch


def _store_agreement(session: Session, agreement: Agreement, batch_id: int) -> bool:
    document = _document(agreement)
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    latest = _latest_row(session, agreement.id)
    if latest is not None and latest.digest == digest:
        return False
    session.add(
        AgreementRow(
            id=agreement.id,
            version=(latest.version + 1) if latest else 1,
            partner_id=agreement.partner_id,
            end_customer=agreement.end_customer,
            currency=agreement.currency,
            valid_from=agreement.valid_from,
            valid_to=agreement.valid_to,
            claim_window_days=agreement.claim_window_days,
            products=json.dumps(document["products"], sort_keys=True),
            exclusive_of=json.dumps(document["exclusive_of"]),
            digest=digest,
            batch_id=batch_id,
        )
    )
    return True


def _latest_row(session: Session, agreement_id: str) -> AgreementRow | None:
    return session.scalar(
        select(AgreementRow)
        .where(AgreementRow.id == agreement_id)
        .order_by(AgreementRow.version.desc())
        .limit(1)
    )


def as_agreement(row: AgreementRow) -> Agreement:
    products = {
        sku: Pricing(
            Decimal(p["book_cost"]), Decimal(p["authorized_cost"]), Decimal(p["max_quantity"])
        )
        for sku, p in json.loads(row.products).items()
    }
    return Agreement(
        row.id,
        row.version,
        row.partner_id,
        row.end_customer,
        row.currency,
        row.valid_from,
        row.valid_to,
        row.claim_window_days,
        products,
        tuple(json.loads(row.exclusive_of)),
    )


def latest_agreements(session: Session, ids) -> dict[str, Agreement]:
    rows = session.scalars(select(AgreementRow).where(AgreementRow.id.in_(sorted(set(ids)))))
    newest: dict[str, AgreementRow] = {}
    for row in rows:
        if row.id not in newest or row.version > newest[row.id].version:
            newest[row.id] = row
    return {key: as_agreement(row) for key, row in newest.items()}


# --- receiving claims --------------------------------------------------------------------------


def _digest(claim: ClaimIn) -> str:
    lines = [{k: str(v) for k, v in asdict(line).items()} for line in claim.lines]
    document = {"number": claim.number, "partner": claim.partner_id, "lines": lines}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def receive_claims(books: Books, claims: list[ClaimIn]) -> list[ClaimRow]:
    return [receive_claim(books, claim) for claim in claims]


def receive_claim(books: Books, claim: ClaimIn) -> ClaimRow:
    """Judge, store and submit one ship-and-debit claim (or return it, if already received)."""
    digest = _digest(claim)
    with books.session() as session:
        known = _known(session, SHIP_AND_DEBIT, claim.partner_id, claim.number, digest)
        if known is not None:
            return known
        agreements = latest_agreements(session, [line.agreement_id for line in claim.lines])
    outside = _outside_facts(books, claim, agreements)
    with books.session() as session:
        known = _known(session, SHIP_AND_DEBIT, claim.partner_id, claim.number, digest)
        if known is not None:  # received meanwhile by someone else
            return known
        history = _history(session, claim, agreements, *outside)
        verdicts = [judge(line, agreements.get(line.agreement_id), history) for line in claim.lines]
        row = _store_claim(books, session, claim, digest, agreements, verdicts)
        _submit(books, session, row)
        notify.claim_answered(session, books, row)
    return row


def _known(session: Session, kind: str, partner: str, number: str, digest: str) -> ClaimRow | None:
    row = session.scalar(
        select(ClaimRow).where(
            ClaimRow.kind == kind, ClaimRow.partner_id == partner, ClaimRow.number == number
        )
    )
    if row is not None and row.digest != digest:
        raise Conflict(
            f"claim_number: {number!r} of {partner} was already received (claim {row.id}) with "
            "other content; send a correction under a new claim number"
        )
    return row


def _outside_facts(books: Books, claim: ClaimIn, agreements: dict[str, Agreement]):
    """What the line store and settled programs say, read before the writing transaction:
    units sold per invoice line, and lines that exclusive programs already paid for."""
    keys = {line.key for line in claim.lines}
    sold = _sold(books, claim.partner_id, {line.sku for line in claim.lines}, keys)
    exclusive = {p for a in agreements.values() for p in a.exclusive_of}
    return sold, _paid_elsewhere(books, claim.partner_id, exclusive, keys) if exclusive else {}


def _sold(books: Books, partner_id: str, skus: set[str], keys: set[str]) -> dict[str, Decimal]:
    """Net units sold per claimed invoice line, where the books have that line."""
    table = books.line_store.lines()
    found = table.filter((table.partner_id == partner_id) & table.sku.isin(sorted(skus)))
    rows = found.select("document", "line_no", "quantity_milli").to_pyarrow().to_pylist()
    sold: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        key = invoice_key(partner_id, row["document"], str(row["line_no"]))
        if key in keys:
            sold[key] += Decimal(row["quantity_milli"]).scaleb(-3)
    return dict(sold)


def _paid_elsewhere(books: Books, partner_id: str, programs: set[str], keys: set[str]):
    """Claimed invoice lines that a paid settlement of an exclusive program earned from."""
    with books.session() as session:
        tree = books.tree(session)
        family = tree.members({tree.top(partner_id)}) if partner_id in tree else {partner_id}
        paid = session.scalars(
            select(SettlementRow.id).where(
                SettlementRow.program_id.in_(sorted(programs)),
                SettlementRow.partner_id.in_(sorted(family)),
                SettlementRow.paid != "0.00",
            )
        ).all()
    earned: dict[str, set[str]] = defaultdict(set)
    for settlement_id in paid:
        found = trace(books, settlement_id)
        for share in found.attributions:
            key = invoice_key(share.partner_id, share.document, str(share.line_no))
            if share.share and key in keys:
                earned[key].add(share.program_id)
    return dict(earned)


def _history(session: Session, claim: ClaimIn, agreements, sold, paid_elsewhere) -> History:
    keys = [line.key for line in claim.lines]
    live = (
        select(ClaimLineRow)
        .join(ClaimRow, ClaimRow.id == ClaimLineRow.claim_id)
        .where(ClaimRow.status != Status.REJECTED.value, ClaimLineRow.outcome != "rejected")
    )
    same_lines = live.with_only_columns(ClaimLineRow.invoice_key).where(
        ClaimLineRow.invoice_key.in_(keys)
    )
    claimed = set(session.scalars(same_lines))
    used: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in session.scalars(live.where(ClaimLineRow.agreement_id.in_(sorted(agreements)))):
        used[(line.agreement_id, line.sku)] += Decimal(line.approved_quantity)
    return History(claimed, dict(used), sold, paid_elsewhere)


def _store_claim(books, session, claim: ClaimIn, digest, agreements, verdicts) -> ClaimRow:
    approved = round_money(sum((v.amount for v in verdicts), ZERO), claim.currency)
    prevented = round_money(sum((v.prevented for v in verdicts), ZERO), claim.currency)
    row = ClaimRow(
        kind=SHIP_AND_DEBIT,
        number=claim.number,
        partner_id=claim.partner_id,
        claimed_on=claim.claimed_on,
        currency=claim.currency,
        requested=str(approved + prevented),
        approved=str(approved),
        prevented=str(prevented),
        status=ANSWERED,
        source_name=claim.source,
        digest=digest,
        received_at=books.now(),
        actor=books.settings.actor,
    )
    session.add(row)
    session.flush()
    for line, verdict in zip(claim.lines, verdicts, strict=True):
        money = {"amount": verdict.amount, "prevented": verdict.prevented}
        exact = {k: round_money(v, claim.currency) for k, v in money.items()}
        session.add(
            _line_row(row.id, line, agreements.get(line.agreement_id), replace(verdict, **exact))
        )
    books.audit(
        session,
        "receive",
        "claim",
        str(row.id),
        after={
            "number": claim.number,
            "partner": claim.partner_id,
            "approved": str(approved),
            "prevented": str(prevented),
            "lines": [
                [v.outcome.value, str(v.quantity), str(v.amount), v.reason] for v in verdicts
            ],
        },
        inputs_digest=digest,
    )
    return row


def _line_row(claim_id: int, line: ClaimLine, agreement, verdict: Verdict) -> ClaimLineRow:
    return ClaimLineRow(
        claim_id=claim_id,
        line_no=line.line_no,
        agreement_id=line.agreement_id,
        agreement_version=agreement.version if agreement else None,
        end_customer=line.end_customer,
        sku=line.sku,
        invoice=line.invoice,
        invoice_line=line.invoice_line,
        invoice_key=line.key,
        quantity=str(line.quantity),
        sold_on=line.sold_on,
        outcome=verdict.outcome.value,
        approved_quantity=str(verdict.quantity),
        amount=str(verdict.amount),
        prevented=str(verdict.prevented),
        reason=verdict.reason.value if verdict.reason else None,
    )


def _submit(books: Books, session: Session, row: ClaimRow) -> None:
    """A claim with something to pay goes for approval; under every threshold it is approved
    and posted at once."""
    if Decimal(row.approved) <= 0:
        return
    request = submit(books, session, Subject.CLAIM, row.id)
    row.status = request.status
    if request.status == Status.APPROVED:
        post_claim(books, session, row)


# --- after approval ----------------------------------------------------------------------------


def post_claim(books: Books, session: Session, claim: ClaimRow) -> list[int]:
    """The approved claim's journals: one per agreement for ship and debit."""
    if claim.kind != SHIP_AND_DEBIT:
        return post_fund_claim(books, session, claim)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in session.scalars(select(ClaimLineRow).where(ClaimLineRow.claim_id == claim.id)):
        totals[line.agreement_id] += Decimal(line.amount)
    period = ledger.booked_in(session, books.clock().date())
    ids = [
        ledger.post(
            session,
            ship_and_debit_journal(
                agreement, claim.partner_id, period, claim.currency, amount, claim.number
            ),
            books.clock().date(),
        )
        for agreement, amount in sorted(totals.items())
        if amount
    ]
    books.audit(
        session,
        "post",
        "claim",
        str(claim.id),
        after={"journals": ledger.seal(session, ids[0], ids[-1])} if ids else {},
    )
    return ids


def settle_claim(books: Books, session: Session, claim_id: int, status: Status) -> None:
    """A decided approval: post the claim, or reject it (its units and invoice lines, and for a
    fund claim its funds, are free again)."""
    claim = session.get(ClaimRow, claim_id, with_for_update=True)
    claim.status = status.value
    if status is Status.APPROVED:
        post_claim(books, session, claim)
    elif claim.kind != SHIP_AND_DEBIT:
        release(session, claim)
    notify.claim_answered(session, books, claim)


approvable(Subject.CLAIM, Approvable(ClaimRow, lambda r: Decimal(r.approved), settle_claim))


# --- answers -------------------------------------------------------------------------------------


def answers(session: Session, claim_id: int) -> list[Answer]:
    rows = session.scalars(
        select(ClaimLineRow).where(ClaimLineRow.claim_id == claim_id).order_by(ClaimLineRow.line_no)
    )
    return [
        Answer(
            r.line_no,
            r.agreement_id,
            r.sku,
            r.invoice,
            r.invoice_line,
            Decimal(r.quantity),
            r.outcome,
            Decimal(r.approved_quantity),
            Decimal(r.amount),
            r.reason,
        )
        for r in rows
    ]


def response_849(books: Books, claim_id: int) -> str:
    """The EDI 849 answering a ship-and-debit claim, line by line."""
    with books.session() as session:
        claim = session.get(ClaimRow, claim_id)
        if claim is None or claim.kind != SHIP_AND_DEBIT:
            raise NotFound(f"no ship-and-debit claim {claim_id}")
        partner = session.get(PartnerRow, claim.partner_id)
        found = answers(session, claim_id)
    name = partner.name if partner else claim.partner_id
    return build_849(claim.number, claim.partner_id, name, claim.claimed_on, found, claim_id)


RESPONSE_COLUMNS = (
    "claim_number",
    "line_no",
    "agreement_id",
    "sku",
    "invoice",
    "invoice_line",
    "quantity",
    "outcome",
    "approved_quantity",
    "amount",
    "reason_code",
    "reason",
)


def response_csv(books: Books, claim_id: int) -> str:
    with books.session() as session:
        claim = session.get(ClaimRow, claim_id)
        if claim is None:
            raise NotFound(f"no claim {claim_id}")
        found = answers(session, claim_id)
    rows = (
        [
            claim.number,
            a.line_no,
            a.agreement_id,
            a.sku,
            a.invoice,
            a.invoice_line,
            a.quantity,
            a.outcome,
            a.approved_quantity,
            a.amount,
            a.reason or "",
            Reason(a.reason).text if a.reason else "",
        ]
        for a in found
    )
    return csv_text(RESPONSE_COLUMNS, rows)


def leakage(session: Session) -> list[dict]:
    """What claims asked for and did not get, by kind, reason and currency: refused or cut
    claim lines, and fund claims beyond the funds available."""
    lines = session.execute(
        select(ClaimRow.kind, ClaimLineRow.reason, ClaimRow.currency, ClaimLineRow.prevented)
        .join(ClaimRow, ClaimRow.id == ClaimLineRow.claim_id)
        .where(ClaimLineRow.reason.is_not(None))
    ).all()
    funds = session.execute(
        select(ClaimRow.kind, ClaimRow.currency, ClaimRow.prevented).where(ClaimRow.kind == FUND)
    ).all()
    totals: dict[tuple[str, str, str], list] = {}
    for kind, reason, currency, prevented in [*lines, *((k, NO_FUNDS, c, p) for k, c, p in funds)]:
        if Decimal(prevented):
            entry = totals.setdefault((kind, reason, currency), [0, ZERO])
            entry[0] += 1
            entry[1] += Decimal(prevented)
    texts = {r.value: r.text for r in Reason} | {NO_FUNDS: INSUFFICIENT}
    return [
        {
            "kind": kind,
            "reason": reason,
            "reason_text": texts[reason],
            "lines": n,
            "prevented": amount,
            "currency": currency,
        }
        for (kind, reason, currency), (n, amount) in sorted(totals.items())
    ]
