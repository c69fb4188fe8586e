"""Checking the audit trail: the hash chain, and the ledger and settlements it sealed.

Each write that posts journals or settlements records their id range and a digest of their
content in its audit entry, so an edited posting, a deleted settlement or a journal written
behind the application's back is found as surely as an edited audit entry. Every batch, program
version and closed period must have its audit entry too, so deleting the newest entries (which
the chain alone cannot show) leaves records that nothing accounts for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from accrue.domain.audit import Entry, verify
from accrue.store.books import Books
from accrue.store.close import settlements_digest
from accrue.store.ledger import journals_digest
from accrue.store.tables import (
    AuditRow,
    Batch,
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


def verify_books(books: Books) -> Verified:
    with books.session() as session:
        trail = entries(session)
        problems = [str(b) for b in verify(trail)]
        for name, (table, digest) in SEALED.items():
            problems += _check_sealed(session, trail, name, table, digest)
        problems += _unaccounted(session, trail)
    return Verified(len(trail), trail[-1].hash if trail else "", problems)


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
