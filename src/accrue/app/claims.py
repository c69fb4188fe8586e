"""Use cases of claims: agreements in, ship-and-debit claims (844, CSV, Excel, JSON or one
typed line) judged line by line, market development fund claims with their proof, disputes
opened and resolved. The caller says whom it may act for (`may_claim_for`): a partner user only
for its own partners."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

from accrue.ingest.claims import ClaimIn, read_claims
from accrue.ingest.edi import claims_from_844, x12_text
from accrue.store import claims as store
from accrue.store import disputes, funds
from accrue.store.books import Books
from accrue.store.tables import Batch, ClaimRow, DisputeRow

Check = Callable[[str], None]  # raises NotFound for a partner the caller may not act for


def anyone(partner_id: str) -> None:
    """The command line acts for every partner."""


def import_agreements(books: Books, path: Path, name: str | None = None) -> Batch:
    """Ship-and-debit agreements; a changed one becomes a new version."""
    return store.import_agreements(books, path, name)


def claims_in_file(path: Path, name: str, today: date) -> list[ClaimIn]:
    """The claims of an X12 844, CSV, Excel or JSON file."""
    text = x12_text(path.read_bytes(), name)
    if text is not None:
        return claims_from_844(text, name)
    return read_claims(path, today, name)


def submit_claims(
    books: Books, found: list[ClaimIn], may_claim_for: Check = anyone
) -> list[ClaimRow]:
    """Judge every line of these claims and keep the answers; a claim with something to pay
    goes for approval (or is posted at once under every threshold)."""
    for claim in found:
        may_claim_for(claim.partner_id)
    return store.receive_claims(books, found)


def submit_claim_file(
    books: Books, path: Path, name: str, may_claim_for: Check = anyone
) -> list[ClaimRow]:
    """`submit_claims` for the claims of a file."""
    return submit_claims(books, claims_in_file(path, name, books.clock().date()), may_claim_for)


def submit_fund_claim(
    books: Books, partner_id: str, may_claim_for: Check = anyone, **claim
) -> ClaimRow:
    """Spend a market development fund (`claim`: program_id, number, amount, description,
    proof): approved up to what is available, oldest funds first."""
    may_claim_for(partner_id)
    return funds.receive_fund_claim(books, partner_id=partner_id, **claim)


def open_dispute(
    books: Books, about: disputes.About, key: str, reason: str, visible=None
) -> DisputeRow:
    """Challenge a standing, a settlement or a claim line the caller can see."""
    return disputes.open_dispute(books, about, key, reason, visible=visible)


def resolve_dispute(
    books: Books, dispute_id: int, resolution: str, adjustment: Decimal | None
) -> DisputeRow:
    """Dismiss, or propose an adjustment that is posted once someone else approves it."""
    return disputes.resolve(books, dispute_id, resolution, adjustment)
