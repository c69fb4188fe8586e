"""Seals: a digest of every record that money, access or history depends on, kept per record
and chained into the audit trail, so a record changed behind the application's back is found
and named by `accrue audit verify`.

Every transaction of the books notes the tables it writes (`note_writes`); before it commits,
the records of each written kind are digested again, their seals updated, and one `seal` entry
appended to the audit trail with each changed kind's digest of all its seals. A record edited,
inserted or deleted outside the application then no longer matches its seal, and a seal edited
to match no longer adds up to the digest the trail holds.

Resealing a whole kind must not bless what was done behind the application's back since its
last transaction: the first time a transaction writes a kind, before that write runs, its
records are checked against their seals, and those that already disagree are left as they
were sealed (still named by verification) whatever the transaction then does.

Journals and postings are sealed by range in the entries that post them (store/audit.py), and
lines by a digest per batch in the entry that imports the batch (store/lines.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Table, delete, event, insert, select, tuple_
from sqlalchemy.orm import Session

from accrue.domain.audit import canonical
from accrue.store.tables import (
    AgreementRow,
    ApprovalRow,
    Batch,
    ClaimLineRow,
    ClaimRow,
    ClosedPeriod,
    DecisionRow,
    DisputeRow,
    FundDrawRow,
    FxRateRow,
    MasterChange,
    PartnerRow,
    PayoutBatchRow,
    PayoutItemRow,
    ProductRow,
    ProgramSourceRow,
    ProgramVersionRow,
    ProofRow,
    RecordSeal,
    RejectedRow,
    RepRow,
    SettlementRow,
    StandingRow,
    TokenRow,
    UserRow,
)

Reader = Session | Connection


@dataclass(frozen=True)
class Kind:
    name: str  # how verification names the kind of record
    table: Table
    unsealed: frozenset[str] = frozenset()  # columns that change with no one answerable

    def digests(self, reader: Reader, only: set[tuple] | None = None) -> dict[str, str]:
        """Each record's digest, by its key (the primary key's values joined by '/'): the
        SHA-256 of the `repr` of its values in column order, exact and unambiguous, and
        several times faster than JSON over the thousands of standings a recalculation
        reseals. `only`: just the records with these primary keys (those still there)."""
        columns = [c for c in self.table.columns if c.name not in self.unsealed]
        keys = [columns.index(c) for c in self.table.primary_key.columns]
        query = select(*columns)
        if _few(only):
            query = query.where(tuple_(*self.table.primary_key.columns).in_(sorted(only)))
        rows = reader.execute(query).tuples()
        found = {"/".join(str(row[k]) for k in keys): _sha256(repr(tuple(row))) for row in rows}
        return found if only is None or _few(only) else _within(found, set(map(_key_text, only)))


KINDS = {
    kind.table.name: kind
    for kind in (
        Kind("partner", PartnerRow.__table__),
        Kind("product", ProductRow.__table__),
        Kind("sales rep", RepRow.__table__),
        Kind("fx rate", FxRateRow.__table__),
        Kind("master data change", MasterChange.__table__),
        Kind("program version", ProgramVersionRow.__table__),
        Kind("program source", ProgramSourceRow.__table__),
        Kind("batch", Batch.__table__),
        Kind("rejected row", RejectedRow.__table__),
        Kind("standing", StandingRow.__table__),
        Kind("closed period", ClosedPeriod.__table__),
        Kind("settlement", SettlementRow.__table__),
        Kind("user", UserRow.__table__, frozenset({"failed_logins", "locked_until"})),
        Kind("token", TokenRow.__table__),
        Kind("approval request", ApprovalRow.__table__),
        Kind("approval decision", DecisionRow.__table__),
        Kind("payout batch", PayoutBatchRow.__table__),
        Kind("payout item", PayoutItemRow.__table__),
        Kind("agreement", AgreementRow.__table__),
        Kind("claim", ClaimRow.__table__),
        Kind("claim line", ClaimLineRow.__table__),
        Kind("proof", ProofRow.__table__),
        Kind("fund draw", FundDrawRow.__table__),
        Kind("dispute", DisputeRow.__table__),
    )
}

CHUNK = 500  # keys per statement: well under SQLite's limit on bound parameters
_WRITE = re.compile(r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.I)


def note_writes(engine: Engine) -> None:
    """Record in a connection's `written` set (when it has one) each table it writes, unless
    the write is `keyed` to the records it touches; on the first write to a sealed kind, its
    records that no longer match their seals, in `astray`, before the write runs."""

    @event.listens_for(engine, "before_cursor_execute")
    def _noted(connection, cursor, statement, parameters, context, executemany):
        info = connection.info
        written = info.get("written")
        found = written is not None and _WRITE.match(statement)
        table = found and found.group(1).lower()
        if not table or table == info.get("keyed") or table in written:
            return
        written.add(table)
        if table in KINDS:
            touched = set(map(_key_text, info.get("touched", {}).get(table, ())))
            info.setdefault("astray", {})[table] = astray(connection, KINDS[table]) - touched


@contextmanager
def keyed(session: Session, table: str, keys: Iterable[tuple]) -> Iterator[None]:
    """Writes to `table` inside this block touch only the records with these primary keys:
    only those are sealed again at commit, not every record of the table (a recalculation of
    one partner tree changes a few standings among hundreds of thousands). Any other write to
    the table in the same transaction still reseals all of it."""
    info = session.connection().info
    info.setdefault("touched", {}).setdefault(table, set()).update(map(tuple, keys))
    info["keyed"] = table
    try:
        yield
    finally:
        del info["keyed"]


def seal(session: Session, tables: set[str]) -> dict | None:
    """Bring the seals of the records in these tables (and of the records `keyed` writes
    touched) up to date, except those found astray before the transaction wrote them; what
    changed, for the trail's `seal` entry (None when nothing did)."""
    info = session.connection().info
    touched, held = info.pop("touched", {}), info.pop("astray", {})
    changed = {}
    for name in sorted((tables | touched.keys()) & KINDS.keys()):
        only = None if name in tables else touched[name]
        kept = held.get(name, set())
        if found := _reseal(session, KINDS[name], only, kept):
            changed[name] = found
    return changed or None


def _reseal(session: Session, kind: Kind, only: set[tuple] | None, kept: set[str]) -> dict | None:
    """One kind's seals brought up to date (`only`: for these records alone; `kept`: these
    keep the seal they have); what changed, or None if nothing did."""
    current = kind.digests(session, only)
    stored = stored_seals(session, kind, None if only is None else set(map(_key_text, only)))
    gone = stored.keys() - current.keys() - kept
    resealed = [k for k, d in current.items() if stored.get(k) != d and k not in kept]
    if not (gone or resealed):
        return None
    _replace(session, kind.table.name, gone | set(resealed), {k: current[k] for k in resealed})
    every = current if only is None and not kept else stored_seals(session, kind)
    return {
        "records": len(every),
        "changed": len(resealed),
        "removed": len(gone),
        "digest": seals_digest(every),
    }


def astray(reader: Reader, kind: Kind) -> set[str]:
    """The keys of a kind's records that differ from their seals: edited, inserted or
    deleted since the application last sealed them."""
    current, stored = kind.digests(reader), stored_seals(reader, kind)
    return {key for key in current.keys() | stored.keys() if current.get(key) != stored.get(key)}


def _few(only: set | None) -> bool:
    """Few enough keys to ask for by name; more are read with the rest and picked out."""
    return only is not None and len(only) <= CHUNK


def _within(found: dict[str, str], keys: set[str]) -> dict[str, str]:
    return {key: digest for key, digest in found.items() if key in keys}


def _key_text(key: tuple) -> str:
    return "/".join(str(value) for value in key)


def _replace(session: Session, name: str, stale: set[str], fresh: dict[str, str]) -> None:
    """Drop the stale seals and write the fresh ones, in bulk (a recalculation may reseal
    thousands of standings)."""
    stale_keys = sorted(stale)
    for start in range(0, len(stale_keys), CHUNK):
        keys = stale_keys[start : start + CHUNK]
        session.execute(delete(RecordSeal).where(RecordSeal.kind == name, RecordSeal.key.in_(keys)))
    if fresh:
        rows = [{"kind": name, "key": key, "digest": digest} for key, digest in fresh.items()]
        session.execute(insert(RecordSeal), rows)


def stored_seals(reader: Reader, kind: Kind, only: set[str] | None = None) -> dict[str, str]:
    """A kind's seals by record key (`only`: those of these keys)."""
    query = select(RecordSeal.key, RecordSeal.digest).where(RecordSeal.kind == kind.table.name)
    if _few(only):
        query = query.where(RecordSeal.key.in_(sorted(only)))
    found = dict(reader.execute(query).tuples().all())
    return found if only is None or _few(only) else _within(found, only)


def seals_digest(seals: dict[str, str]) -> str:
    """One digest of a kind's seals: what the trail holds of them."""
    return _sha256(canonical(sorted(seals.items())))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def check(session: Session, sealed: dict[str, tuple[int, str]]) -> list[str]:
    """Each kind's records against their seals, and the seals against the newest digest the
    trail holds of them (`sealed`: table → (entry seq, digest))."""
    problems = []
    for name, kind in KINDS.items():
        stored = stored_seals(session, kind)
        seq, expected = sealed.get(name, (None, seals_digest({})))
        if seals_digest(stored) != expected:
            held = f"the digest audit entry {seq} holds" if seq else "any digest in the trail"
            problems.append(
                f"{kind.name} seals differ from {held} (seals edited, "
                "or the newest audit entries deleted?)"
            )
        current = kind.digests(session)
        for key in sorted(current.keys() | stored.keys()):
            if key not in stored:
                problems.append(f"{kind.name} {key} is not sealed by any audit entry")
            elif key not in current:
                problems.append(f"{kind.name} {key} was sealed but is gone")
            elif current[key] != stored[key]:
                problems.append(f"{kind.name} {key} altered since it was sealed")
    return problems


def sealed_lines(afters: Iterable[str]) -> dict[str, str]:
    """Each batch's lines digest as the trail holds it (the newest, by batch id as text),
    from the entries' `after` texts in sequence order."""
    sealed: dict[str, str] = {}
    for after in afters:
        if after and '"lines":{' in after:
            sealed.update(json.loads(after)["lines"])
    return sealed
