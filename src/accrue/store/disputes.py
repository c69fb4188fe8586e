"""Disputes: a partner challenges a standing, a settlement or a claim line; the manufacturer
sees the calculation behind it and resolves it — dismissed with a reason, or with an
adjustment that goes through approval and is then posted to the ledger, to be settled with
the next close. Every step is in the audit trail."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from sqlalchemy.orm import Session

from accrue.domain import notices
from accrue.domain.approvals import Status, Subject
from accrue.domain.errors import Conflict, NotFound, Refused
from accrue.domain.identifiers import check_text, record_id
from accrue.domain.ledger import (
    SHIP_AND_DEBIT_EXPENSE,
    SHIP_AND_DEBIT_RECEIVABLE,
    adjustment_journal,
)
from accrue.domain.money import round_money
from accrue.domain.periods import Period
from accrue.store import ledger, notify
from accrue.store.approvals import Approvable, approvable, submit
from accrue.store.books import Books
from accrue.store.tables import (
    ClaimLineRow,
    ClaimRow,
    DisputeRow,
    PartnerRow,
    SettlementRow,
    StandingRow,
)


class About(StrEnum):
    STANDING = "standing"
    SETTLEMENT = "settlement"
    CLAIM_LINE = "claim_line"


class DisputeError(Refused):
    """A dispute that cannot be opened or resolved; the message says why."""


class DisputeAnswered(DisputeError, Conflict):
    """A dispute someone else has already answered (409): two people resolving it at once
    answer it once."""


OPEN, PROPOSED, RESOLVED, DISMISSED = "open", "proposed", "resolved", "dismissed"


def _subject(session: Session, about: About, key: str) -> tuple[str, str, str, str]:
    """(partner, program, period, currency) of what is disputed, or LookupError."""
    if about is About.STANDING:
        parts = key.split("/")
        row = session.get(StandingRow, tuple(parts)) if len(parts) == 3 else None
        if row is None:
            raise NotFound(f"no standing {key} (program/partner/period)")
        return row.partner_id, row.program_id, row.period, row.currency
    if about is About.SETTLEMENT:
        row = session.get(SettlementRow, number) if (number := record_id(key)) else None
        if row is None:
            raise NotFound(f"no settlement {key}")
        return row.partner_id, row.program_id, row.period, row.currency
    line = session.get(ClaimLineRow, number) if (number := record_id(key)) else None
    if line is None:
        raise NotFound(f"no claim line {key}")
    claim = session.get(ClaimRow, line.claim_id)
    return claim.partner_id, line.agreement_id, str(claim.claimed_on), claim.currency


def open_dispute(books: Books, about: About, key: str, reason: str, visible=None) -> DisputeRow:
    """`visible(partner_id)` says whether the person opening it may see that partner."""
    check_text("reason", reason)
    if len(reason.strip()) < 3:
        raise DisputeError("reason: say what is wrong")
    with books.session() as session:
        partner, program, period, currency = _subject(session, about, key)
        if visible is not None and not visible(partner):
            raise NotFound(f"no {about.value.replace('_', ' ')} {key}")
        row = DisputeRow(
            partner_id=partner,
            subject=about.value,
            subject_key=key,
            program_id=program,
            period=period,
            currency=currency,
            reason=reason.strip(),
            status=OPEN,
            opened_by=books.settings.actor,
            opened_at=books.now(),
            resolution="",
        )
        session.add(row)
        session.flush()
        books.audit(
            session,
            "open",
            "dispute",
            str(row.id),
            after={"about": f"{about}:{key}", "reason": reason},
        )
        named = session.get(PartnerRow, partner)
        notice = notices.dispute_opened(
            row.id,
            partner,
            named.name if named else partner,
            _about(row),
            row.opened_by,
            row.reason,
        )
        notify.tell(session, books, notice, notify.holders(session, "disputes:resolve"))
    return row


def _about(row: DisputeRow) -> str:
    """What a dispute is about, as people read it: "settlement 12", "claim line 7"."""
    return f"{row.subject.replace('_', ' ')} {row.subject_key}"


def _answered(books: Books, session: Session, row: DisputeRow) -> None:
    """Tell the partner's users how their dispute ended."""
    adjustment = Decimal(row.adjustment) if row.adjustment else None
    notice = notices.dispute_answered(
        row.id, row.partner_id, _about(row), row.resolution, adjustment, row.currency
    )
    notify.tell_partner(session, books, notice)


def resolve(
    books: Books, dispute_id: int, resolution: str, adjustment: Decimal | None
) -> DisputeRow:
    """Dismiss (no adjustment) or propose an adjustment, which needs approval to be posted."""
    check_text("resolution", resolution)
    if len(resolution.strip()) < 3:
        raise DisputeError("resolution: say why")
    with books.session() as session:
        # the dispute's row is held until this answer commits: whoever comes second reads the
        # answer, on PostgreSQL without counting on the writers' lock
        row = session.get(DisputeRow, dispute_id, with_for_update=True)
        if row is None:
            raise NotFound(f"no dispute {dispute_id}")
        if row.status != OPEN:
            raise DisputeAnswered(f"dispute {dispute_id} is {row.status}, not open")
        row.resolution, row.resolved_by = resolution.strip(), books.settings.actor
        if not adjustment:
            row.status, row.resolved_at = DISMISSED, books.now()
            _answered(books, session, row)
        else:
            row.adjustment = str(round_money(adjustment, row.currency))
            if round_money(adjustment, row.currency) != adjustment:
                raise DisputeError(
                    f"adjustment: {adjustment} is not whole {row.currency} minor units"
                )
            row.status = PROPOSED
        books.audit(
            session,
            "resolve",
            "dispute",
            str(dispute_id),
            after={
                "status": row.status,
                "adjustment": row.adjustment,
                "resolution": row.resolution,
            },
        )
        if row.status == PROPOSED:
            request = submit(books, session, Subject.DISPUTE, row.id)
            if request.status == Status.APPROVED:
                _post(books, session, row)
    return row


def settle_dispute(books: Books, session: Session, dispute_id: int, status: Status) -> None:
    row = session.get(DisputeRow, dispute_id)
    if status is Status.APPROVED:
        _post(books, session, row)
    else:
        row.status, row.adjustment = OPEN, None  # back to whoever resolves disputes


approvable(
    Subject.DISPUTE,
    Approvable(DisputeRow, lambda r: abs(Decimal(r.adjustment or 0)), settle_dispute),
)


def _post(books: Books, session: Session, row: DisputeRow) -> None:
    today = books.clock().date()
    amount = Decimal(row.adjustment)
    if row.subject == About.CLAIM_LINE:
        debit, credit = SHIP_AND_DEBIT_EXPENSE, SHIP_AND_DEBIT_RECEIVABLE
        period = booked = ledger.booked_in(session, today)
    else:
        accounts = books.program(session, row.program_id).ledger_accounts
        debit, credit = accounts.expense, accounts.accrued
        period = row.period
        booked = ledger.closed(session).next_open(Period.parse(period)).label
    memo = f"dispute {row.id}: {row.resolution}"
    journal = adjustment_journal(
        debit, credit, row.program_id, row.partner_id, period, booked, row.currency, amount, memo
    )
    row.journal_id = ledger.post(session, journal, today)
    row.status, row.resolved_at = RESOLVED, books.now()
    _answered(books, session, row)
    books.audit(
        session,
        "post",
        "dispute",
        str(row.id),
        after={"journals": ledger.seal(session, row.journal_id, row.journal_id)},
    )
