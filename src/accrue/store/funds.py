"""Market development funds in the books (E14): balances from the ledger, claims with proof of
performance drawn oldest funds first, and expiry written off as a journal at period close.

A claim draws its funds when it is received (in the writers' transaction, so two claims cannot
spend the same money); the draws are posted when it is approved and given back if rejected.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from accrue.domain.approvals import Status, Subject
from accrue.domain.errors import Conflict, Refused
from accrue.domain.funds import Tranche, available, draw, expires_on, expiring
from accrue.domain.ledger import JournalKind, fund_claim_journal, fund_expiry_journal
from accrue.domain.money import ZERO, round_money
from accrue.domain.periods import Period
from accrue.domain.program import Kind, Program
from accrue.store import ledger, notify
from accrue.store.approvals import submit
from accrue.store.books import Books
from accrue.store.tables import ClaimRow, FundDrawRow, JournalRow, PostingRow, ProofRow

FUND = "fund"
MAX_PROOF_BYTES = 10 * 2**20
PROOF_TYPES = {  # leading bytes → media type: the content decides, not the name
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}


class FundError(Refused):
    """A fund claim that cannot be received; the message says why."""


@dataclass(frozen=True)
class Proof:
    name: str
    content: bytes


def proof_type(proof: Proof) -> str:
    if not proof.content:
        raise FundError(f"proof: {proof.name} is empty")
    if len(proof.content) > MAX_PROOF_BYTES:
        raise FundError(f"proof: {proof.name} is larger than {MAX_PROOF_BYTES // 2**20} MiB")
    for magic, media_type in PROOF_TYPES.items():
        if proof.content.startswith(magic):
            return media_type
    raise FundError(f"proof: {proof.name} is not a PDF, PNG or JPEG file")


def fund_program(books: Books, session: Session, program_id: str) -> Program:
    program = books.program(session, program_id)
    if program.kind is not Kind.FUND:
        raise FundError(f"program_id: {program_id} is a {program.kind.value} program, not a fund")
    return program


def tranches(session: Session, program: Program, partner_id: str) -> list[Tranche]:
    """Each period's funds for a partner: accrued and expired from the ledger, used from the
    draws of claims not rejected."""
    accrued = _posted(session, program, partner_id, JournalKind.FUND_ACCRUAL)
    expired = _posted(session, program, partner_id, JournalKind.FUND_EXPIRY)
    used: dict[str, Decimal] = defaultdict(Decimal)
    for draw_row in session.scalars(
        select(FundDrawRow).where(
            FundDrawRow.program_id == program.id, FundDrawRow.partner_id == partner_id
        )
    ):
        used[draw_row.period] += Decimal(draw_row.amount)
    periods = sorted(set(accrued) | set(used), key=Period.parse)
    return [
        Tranche(
            period,
            accrued.get(period, ZERO),
            used.get(period, ZERO),
            expired.get(period, ZERO),
            expires_on(Period.parse(period), program.expires_after),
        )
        for period in periods
    ]


def _posted(session: Session, program: Program, partner_id: str, kind: JournalKind) -> dict:
    """The credit to the fund's liability by journals of `kind` (negative for debits), by period."""
    rows = session.execute(
        select(PostingRow.period, PostingRow.currency, func.sum(PostingRow.amount_minor))
        .join(JournalRow, JournalRow.id == PostingRow.journal_id)
        .where(
            JournalRow.kind == kind.value,
            PostingRow.program_id == program.id,
            PostingRow.partner_id == partner_id,
            PostingRow.account == program.ledger_accounts.accrued,
        )
        .group_by(PostingRow.period, PostingRow.currency)
    )
    sign = -1 if kind is JournalKind.FUND_ACCRUAL else 1
    return {period: sign * ledger.from_minor(units, currency) for period, currency, units in rows}


def receive_fund_claim(
    books: Books,
    *,
    partner_id: str,
    program_id: str,
    number: str,
    amount: Decimal,
    description: str,
    proof: Proof,
) -> ClaimRow:
    """Approve up to the funds available today, refuse the rest, keep the proof."""
    if amount <= 0:
        raise FundError("amount: a fund claim asks for more than zero")
    media_type = proof_type(proof)
    digest = hashlib.sha256(proof.content).hexdigest()
    _keep(books, digest, proof.content)
    today = books.clock().date()
    with books.session() as session:
        program = fund_program(books, session, program_id)
        sent = session.scalar(
            select(ClaimRow).where(
                ClaimRow.kind == FUND, ClaimRow.partner_id == partner_id, ClaimRow.number == number
            )
        )
        if sent is not None:  # a resend answers as the first time; other content is refused
            same = (sent.program_id, Decimal(sent.requested), sent.description, sent.digest)
            if same != (program.id, amount, description, digest):
                raise Conflict(
                    f"number: claim {number!r} of {partner_id} was already received with other "
                    "content; send a new claim under a new number"
                )
            return sent
        draws = draw(tranches(session, program, partner_id), amount, today)
        approved = round_money(sum((taken for _, taken in draws), ZERO), program.currency)
        claim = ClaimRow(
            kind=FUND,
            number=number,
            partner_id=partner_id,
            program_id=program.id,
            claimed_on=today,
            currency=program.currency,
            requested=str(amount),
            approved=str(approved),
            prevented=str(round_money(amount - approved, program.currency)),
            status="answered",
            description=description,
            source_name=proof.name,
            digest=digest,
            received_at=books.now(),
            actor=books.settings.actor,
        )
        session.add(claim)
        session.flush()
        session.add(
            ProofRow(
                claim_id=claim.id,
                name=proof.name,
                media_type=media_type,
                size=len(proof.content),
                digest=digest,
            )
        )
        session.add_all(
            FundDrawRow(
                claim_id=claim.id,
                program_id=program.id,
                partner_id=partner_id,
                period=period,
                amount=str(taken),
            )
            for period, taken in draws
        )
        books.audit(
            session,
            "receive",
            "claim",
            str(claim.id),
            after={
                "fund": program.id,
                "asked": str(amount),
                "approved": str(approved),
                "draws": [[p, str(t)] for p, t in draws],
                "proof": digest,
            },
        )
        if approved > 0:
            request = submit(books, session, Subject.CLAIM, claim.id)
            claim.status = request.status
            if request.status == Status.APPROVED:
                post_fund_claim(books, session, claim)
        notify.claim_answered(session, books, claim)
    return claim


def _keep(books: Books, digest: str, content: bytes) -> None:
    folder = books.settings.data_dir / "proofs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / digest
    if not path.exists():
        path.write_bytes(content)


def proof_file(books: Books, digest: str) -> bytes:
    return (books.settings.data_dir / "proofs" / digest).read_bytes()


def post_fund_claim(books: Books, session: Session, claim: ClaimRow) -> list[int]:
    """One journal per period the claim drew from: out of the fund, to the partner."""
    program = fund_program(books, session, claim.program_id)
    draws = session.scalars(select(FundDrawRow).where(FundDrawRow.claim_id == claim.id)).all()
    ids = [
        ledger.post(
            session,
            fund_claim_journal(
                program.ledger_accounts,
                program.id,
                claim.partner_id,
                d.period,
                claim.currency,
                Decimal(d.amount),
                claim.number,
            ),
            books.clock().date(),
        )
        for d in draws
    ]
    books.audit(
        session,
        "post",
        "claim",
        str(claim.id),
        after={"journals": ledger.seal(session, ids[0], ids[-1])},
    )
    return ids


def release(session: Session, claim: ClaimRow) -> None:
    """A rejected fund claim gives its funds back."""
    session.execute(delete(FundDrawRow).where(FundDrawRow.claim_id == claim.id))


def expire_funds(books: Books, session: Session, on: date, as_of: date) -> list[int]:
    """Write off, for every fund program and partner, funds whose last day is before `on`."""
    ids = []
    for program, partner_id, period, amount in _expiring(books, session, on):
        journal = fund_expiry_journal(
            program.ledger_accounts, program.id, partner_id, period, program.currency, amount
        )
        ids.append(ledger.post(session, journal, as_of))
    return ids


def expiring_funds(books: Books, session: Session, on: date) -> list[tuple[str, str, Decimal]]:
    """(program, currency, amount) of each partner's funds `expire_funds` would write off."""
    return [(p.id, p.currency, amount) for p, _, _, amount in _expiring(books, session, on)]


def _expiring(books: Books, session: Session, on: date):
    """(program, partner, period, amount) of funds whose last day is before `on`."""
    for program in fund_programs(books, session):
        if not program.expires_after:
            continue
        for partner_id in fund_partners(session, program):
            for period, amount in expiring(tranches(session, program, partner_id), on):
                yield program, partner_id, period, amount


def warn_expiring(books: Books, session: Session, today: date) -> int:
    """Tell partners about their unused funds close to their last day (see accrue.store.notify)."""
    funds = (
        (program, partner_id, tranches(session, program, partner_id))
        for program in fund_programs(books, session)
        if program.expires_after
        for partner_id in fund_partners(session, program)
    )
    return notify.warn_expiring_funds(books, session, today, funds)


def balances(session: Session, books: Books, partner_ids: list[str] | None, on: date) -> list[dict]:
    """Per fund program and partner: accrued, used, expired and available on `on`."""
    found = []
    for program in fund_programs(books, session):
        for partner_id in fund_partners(session, program, partner_ids):
            parts = tranches(session, program, partner_id)
            totals = {
                "accrued": sum((t.accrued for t in parts), ZERO),
                "used": sum((t.used for t in parts), ZERO),
                "expired": sum((t.expired for t in parts), ZERO),
                "available": available(parts, on),
            }
            found.append(
                {
                    "program_id": program.id,
                    "partner_id": partner_id,
                    "currency": program.currency,
                    **{k: round_money(v, program.currency) for k, v in totals.items()},
                }
            )
    return found


def fund_partners(session: Session, program: Program, among=None) -> list[str]:
    """The partners a fund has ever posted for (of `among`, if given), in id order."""
    query = select(PostingRow.partner_id).where(PostingRow.program_id == program.id).distinct()
    if among is not None:
        query = query.where(PostingRow.partner_id.in_(among))
    return sorted(session.scalars(query))


def fund_programs(books: Books, session: Session) -> list[Program]:
    return [p for p in books.latest_programs(session).values() if p.kind is Kind.FUND]
