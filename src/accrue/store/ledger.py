"""The ledger in the records database: journals posted, balances and exports read back.

Postings are integer minor units, so SUM is exact on every database. A journal reaches the
database only as a domain `Journal`, which refuses to exist unbalanced.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from accrue.domain.audit import canonical
from accrue.domain.errors import NotFound
from accrue.domain.ledger import Booked, Journal, JournalKind, Posting
from accrue.domain.money import minor_unit
from accrue.domain.periods import Closed, Period, PeriodKind
from accrue.store.tables import ClosedPeriod, JournalRow, PostingRow

CHANGE_KINDS = (
    JournalKind.ACCRUAL,
    JournalKind.TRUE_UP,
    JournalKind.CLAWBACK,
    JournalKind.FUND_ACCRUAL,
)


def to_minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(minor_unit(currency)))


def from_minor(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-minor_unit(currency))


def post(
    session: Session, journal: Journal, posted_on: date, settlement_id: int | None = None
) -> int:
    row = JournalRow(**_journal_values(journal, posted_on, settlement_id))
    session.add(row)
    session.flush()
    session.add_all(PostingRow(**_posting_values(row.id, journal, p)) for p in journal.postings)
    return row.id


def post_all(session: Session, journals: list[Journal], posted_on: date) -> tuple[int, int]:
    """Post many journals in two statements, not one flush each (a first recalculation posts
    tens of thousands): the journals in order, their ids returned in that order, then every
    posting. The first and last journal ids, for the audit entry's seal."""
    inserted = session.execute(
        insert(JournalRow.__table__).returning(JournalRow.id, sort_by_parameter_order=True),
        [_journal_values(journal, posted_on) for journal in journals],
    )
    ids = list(inserted.scalars())
    session.execute(
        insert(PostingRow.__table__),
        [
            _posting_values(journal_id, journal, posting)
            for journal_id, journal in zip(ids, journals, strict=True)
            for posting in journal.postings
        ],
    )
    return ids[0], ids[-1]


def _journal_values(journal: Journal, posted_on: date, settlement_id: int | None = None) -> dict:
    return {
        "kind": journal.kind.value,
        "program_id": journal.program_id,
        "partner_id": journal.partner_id,
        "period": journal.period,
        "booked_period": journal.booked_period,
        "currency": journal.currency,
        "posted_on": posted_on,
        "memo": journal.memo,
        "reverses": journal.reverses,
        "settlement_id": settlement_id,
    }


def _posting_values(journal_id: int, journal: Journal, posting: Posting) -> dict:
    return {
        "journal_id": journal_id,
        "account": posting.account,
        "amount_minor": to_minor(posting.amount, journal.currency),
        "currency": journal.currency,
        "program_id": journal.program_id,
        "partner_id": journal.partner_id,
        "period": journal.period,
        "booked_period": posting.period or journal.booked_period,
    }


def load(session: Session, journal_id: int) -> Journal:
    row = session.get(JournalRow, journal_id)
    if row is None:
        raise NotFound(f"no journal {journal_id}")
    postings = session.scalars(
        select(PostingRow).where(PostingRow.journal_id == journal_id).order_by(PostingRow.id)
    )
    return Journal(
        JournalKind(row.kind),
        row.program_id,
        row.partner_id,
        row.period,
        row.booked_period,
        row.currency,
        tuple(
            Posting(p.account, from_minor(p.amount_minor, p.currency), p.booked_period)
            for p in postings
        ),
        row.memo,
        row.reverses,
    )


def booked(session: Session, partners=None) -> dict[tuple[str, str, str], Booked]:
    """(program, partner, period) → what change journals have booked for that standing, by
    account and currency (whichever version's accounts and currency they were booked under)."""
    query = (
        select(
            PostingRow.program_id,
            PostingRow.partner_id,
            PostingRow.period,
            PostingRow.account,
            PostingRow.currency,
            func.sum(PostingRow.amount_minor),
        )
        .join(JournalRow, JournalRow.id == PostingRow.journal_id)
        .where(JournalRow.kind.in_([k.value for k in CHANGE_KINDS]))
        .group_by(
            PostingRow.program_id,
            PostingRow.partner_id,
            PostingRow.period,
            PostingRow.account,
            PostingRow.currency,
        )
    )
    if partners is not None:
        query = query.where(PostingRow.partner_id.in_(sorted(partners)))
    totals: dict[tuple[str, str, str], Booked] = defaultdict(dict)
    for program, partner, period, account, currency, units in session.execute(query):
        totals[(program, partner, period)][(account, currency)] = from_minor(units, currency)
    return dict(totals)


@dataclass(frozen=True)
class Balance:
    account: str
    currency: str
    debit: Decimal
    credit: Decimal

    @property
    def net(self) -> Decimal:
        return self.debit - self.credit


def trial_balance(session: Session) -> list[Balance]:
    rows = session.execute(
        select(
            PostingRow.account,
            PostingRow.currency,
            func.sum(PostingRow.amount_minor),
        )
        .group_by(PostingRow.account, PostingRow.currency)
        .order_by(PostingRow.account, PostingRow.currency)
    )
    balances = []
    for account, currency, units in rows:
        net = from_minor(units, currency)
        zero = Decimal(0).scaleb(-minor_unit(currency))
        balances.append(
            Balance(account, currency, net if net > 0 else zero, -net if net < 0 else zero)
        )
    return balances


def liability(session: Session, liability_accounts: set[str], by=("program_id",)) -> list[dict]:
    """Earned and unpaid, by the dimensions asked for: the credit balance of accrued accounts."""
    columns = [getattr(PostingRow, name) for name in by]
    rows = session.execute(
        select(*columns, PostingRow.currency, func.sum(PostingRow.amount_minor))
        .where(PostingRow.account.in_(sorted(liability_accounts)))
        .group_by(*columns, PostingRow.currency)
        .order_by(*columns, PostingRow.currency)
    )
    result = []
    for *keys, currency, units in rows:
        if units:
            entry = dict(zip(by, keys, strict=True))
            entry["currency"] = currency
            entry["outstanding"] = -from_minor(units, currency)
            result.append(entry)
    return result


def balances_by_dimension(session: Session) -> list[tuple]:
    """Every non-zero account × program × partner × booked period balance."""
    return [
        tuple(row)
        for row in session.execute(
            select(
                PostingRow.account,
                PostingRow.program_id,
                PostingRow.partner_id,
                PostingRow.booked_period,
                PostingRow.currency,
                func.sum(PostingRow.amount_minor),
            )
            .group_by(
                PostingRow.account,
                PostingRow.program_id,
                PostingRow.partner_id,
                PostingRow.booked_period,
                PostingRow.currency,
            )
            .having(func.sum(PostingRow.amount_minor) != 0)
            .order_by(
                PostingRow.account,
                PostingRow.program_id,
                PostingRow.partner_id,
                PostingRow.booked_period,
                PostingRow.currency,
            )
        )
    ]


JOURNAL_COLUMNS = (
    "journal",
    "kind",
    "posted_on",
    "program",
    "partner",
    "period",
    "booked_period",
    "account",
    "debit",
    "credit",
    "currency",
    "memo",
    "settlement",
    "reverses",
)


def journal_rows(session: Session, first: int | None = None, last: int | None = None):
    """Journals with their postings, one row a posting, as exact text, in posting order."""
    query = (
        select(JournalRow, PostingRow)
        .join(PostingRow, PostingRow.journal_id == JournalRow.id)
        .order_by(JournalRow.id, PostingRow.id)
    )
    if first is not None:
        query = query.where(JournalRow.id >= first)
    if last is not None:
        query = query.where(JournalRow.id <= last)
    for journal, posting in session.execute(query):
        amount = from_minor(posting.amount_minor, posting.currency)
        zero = Decimal(0).scaleb(-minor_unit(posting.currency))
        yield {
            "journal": journal.id,
            "kind": journal.kind,
            "posted_on": journal.posted_on.isoformat(),
            "program": journal.program_id,
            "partner": journal.partner_id,
            "period": journal.period,
            "booked_period": posting.booked_period,
            "account": posting.account,
            "debit": str(amount if amount > 0 else zero),
            "credit": str(-amount if amount < 0 else zero),
            "currency": posting.currency,
            "memo": journal.memo,
            "settlement": journal.settlement_id or "",
            "reverses": journal.reverses or "",
        }


def journals_digest(session: Session, first: int, last: int) -> str:
    """What the audit trail seals for a range of journals: any later edit changes it."""
    digest = hashlib.sha256()
    for row in journal_rows(session, first, last):
        digest.update(canonical(row).encode())
    return digest.hexdigest()


def seal(session: Session, first: int, last: int) -> list:
    """What an audit entry records of the journals it wrote: their id range and digest."""
    return [first, last, journals_digest(session, first, last)]


def closed(session: Session) -> Closed:
    return Closed(session.scalars(select(ClosedPeriod.label)))


def booked_in(session: Session, day: date) -> str:
    """Where a posting made on `day` is booked: its quarter, or the next open one (rule 11)."""
    return closed(session).next_open(Period.containing(PeriodKind.QUARTER, day)).label
