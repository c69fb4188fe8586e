"""Checking the audit trail: the hash chain, and everything it sealed.

Each write that posts journals or settlements records their id range and a digest of their
content in its audit entry, so an edited posting, a deleted settlement or a journal written
behind the application's back is found as surely as an edited audit entry. Each batch's lines
are sealed by a digest in the entry that imports them, and every other record money, access or
history depends on by its seal (accrue.store.seals). Every batch, program version, closed
period and claim must have its audit entry too, so deleting the newest entries (which the chain
alone cannot show) leaves records that nothing accounts for; a head the operator exported
earlier (`accrue audit head`) shows any other truncation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from accrue.domain.audit import GENESIS, Entry, Head, verify
from accrue.store import seals
from accrue.store.books import Books
from accrue.store.close import settlements_digest
from accrue.store.ledger import journals_digest
from accrue.store.tables import (
    AuditRow,
    Batch,
    ClaimRow,
    ClosedPeriod,
    JournalRow,
    ProgramVersionRow,
    SettlementRow,
)

SEALED = {
    "journals": (JournalRow, journals_digest),
    "settlements": (SettlementRow, settlements_digest),
}


@dataclass(frozen=True)
class Verified:
    entries: int
    head: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def entries(session: Session) -> list[Entry]:
    rows = session.scalars(select(AuditRow).order_by(AuditRow.seq))
    return [Entry(**{c.name: getattr(r, c.name) for c in AuditRow.__table__.columns}) for r in rows]


def verify_books(books: Books, head: Head | None = None) -> Verified:
    """Every check below; `head`, one exported earlier, must still be in the trail."""
    with books.session() as session:
        trail = entries(session)
        problems = [str(b) for b in verify(trail, head)]
        for name, (table, digest) in SEALED.items():
            problems += _check_sealed(session, trail, name, table, digest)
        problems += _check_lines(books, session, trail)
        problems += seals.check(session, _sealed_records(trail))
        problems += _unaccounted(session, trail)
    return Verified(len(trail), trail[-1].hash if trail else "", problems)


def head_of(books: Books) -> Head:
    """The newest entry's seq and hash (0 and the genesis hash for an empty trail)."""
    with books.session() as session:
        last = session.execute(
            select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
        ).first()
    return Head(last.seq, last.hash) if last else Head(0, GENESIS)


def _check_lines(books: Books, session: Session, trail: list[Entry]) -> list[str]:
    """Each batch's lines against the digest its audit entry sealed."""
    sealed = seals.sealed_lines(entry.after for entry in trail)
    current = {str(b): d for b, d in books.line_store.digests(session.connection()).items()}
    loading = {str(b) for b in session.scalars(select(Batch.id).where(Batch.status == "loading"))}
    problems = []
    for batch in sorted(sealed.keys() | current.keys() - loading, key=int):
        if batch not in sealed:
            problems.append(f"lines of batch {batch} are not sealed by any audit entry")
        elif sealed[batch] != current.get(batch):
            problems.append(f"lines of batch {batch} altered since their audit entry sealed them")
    return problems


def _sealed_records(trail: list[Entry]) -> dict[str, tuple[int, str]]:
    """The newest digest of each kind's seals in the trail, with its entry's seq."""
    sealed = {}
    for entry in trail:
        if entry.action == "seal" and entry.entity == "records":
            for table, about in json.loads(entry.after)["seals"].items():
                sealed[table] = (entry.seq, about["digest"])
    return sealed


def _check_sealed(session: Session, trail: list[Entry], name: str, table, digest) -> list[str]:
    problems, covered = [], set()
    for entry in trail:
        sealed = json.loads(entry.after).get(name) if entry.after else None
        if not sealed:
            continue
        first, last, expected = sealed
        covered.update(range(first, last + 1))
        if digest(session, first, last) != expected:
            problems.append(f"{name} {first}–{last} (sealed by audit entry {entry.seq}) altered")
    ids = set(session.scalars(select(table.__table__.primary_key.columns.values()[0])))
    stray = sorted(ids - covered)
    missing = sorted(covered - ids)
    if stray:
        problems.append(f"{name} {_ranges(stray)} are not sealed by any audit entry")
    if missing:
        problems.append(f"{name} {_ranges(missing)} were sealed but are gone")
    return problems


def _unaccounted(session: Session, trail: list[Entry]) -> list[str]:
    recorded = {(e.entity, e.key) for e in trail}
    batches = session.execute(select(Batch.id, Batch.kind).where(Batch.status != "loading"))
    versions = session.execute(select(ProgramVersionRow.program_id, ProgramVersionRow.version))
    expected = {
        "batch": {str(i): {(kind, str(i)), ("batch", str(i))} for i, kind in batches},
        "program version": {f"{p}@v{v}": {("program", f"{p}@v{v}")} for p, v in versions},
        "closed period": {
            label: {("period", label)} for label in session.scalars(select(ClosedPeriod.label))
        },
        "claim": {str(i): {("claim", str(i))} for i in session.scalars(select(ClaimRow.id))},
    }
    return [
        f"{name} {key} has no audit entry (entries deleted?)"
        for name, records in expected.items()
        for key, entries in records.items()
        if not entries & recorded
    ]


def _ranges(ids: list[int]) -> str:
    shown = ", ".join(map(str, ids[:10]))
    return shown + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
