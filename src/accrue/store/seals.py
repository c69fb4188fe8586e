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

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    delete,
    event,
    func,
    insert,
    select,
    tuple_,
    update,
)
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
        key = tuple_(*self.table.primary_key.columns)
        rows = _read(reader, select(*columns), key, only)
        found = {"/".join(str(row[k]) for k in keys): _sha256(repr(tuple(row))) for row in rows}
        return found if not _many(only) else _within(found, set(map(_key_text, only)))


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
BY_KEY = 20 * CHUNK  # more keys than this are read with the rest of the kind and picked out
TOTAL = ""  # the key of a kind's running digest over its seals (see `seals_digest`)
MODULUS = 2**256
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
    fresh = {k: current[k] for k in resealed}
    _replace(session, kind.table.name, gone | set(resealed), fresh)
    before = {k: stored[k] for k in gone | set(resealed) if k in stored}
    return {
        "records": _count(session, kind),
        "changed": len(resealed),
        "removed": len(gone),
        "digest": _total(session, kind, before, fresh),
    }


def _count(session: Session, kind: Kind) -> int:
    query = select(func.count()).where(RecordSeal.kind == kind.table.name, RecordSeal.key != TOTAL)
    return session.scalar(query)


def astray(reader: Reader, kind: Kind) -> set[str]:
    """The keys of a kind's records that differ from their seals: edited, inserted or
    deleted since the application last sealed them."""
    current, stored = kind.digests(reader), stored_seals(reader, kind)
    return {key for key in current.keys() | stored.keys() if current.get(key) != stored.get(key)}


def _many(only: set | None) -> bool:
    """Too many keys to ask for by name: read with the rest of the kind and picked out."""
    return only is not None and len(only) > BY_KEY


def _read(reader: Reader, query, key, only: set | None) -> Iterator[tuple]:
    """The query's rows (`only`: those whose `key` is one of these, asked for in chunks)."""
    if only is None or _many(only):
        yield from reader.execute(query).tuples()
        return
    wanted = sorted(only)
    for start in range(0, len(wanted), CHUNK):
        yield from reader.execute(query.where(key.in_(wanted[start : start + CHUNK]))).tuples()


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
    query = select(RecordSeal.key, RecordSeal.digest).where(
        RecordSeal.kind == kind.table.name, RecordSeal.key != TOTAL
    )
    found = dict(_read(reader, query, RecordSeal.key, only))
    return found if not _many(only) else _within(found, only)


def seals_digest(seals: dict[str, str]) -> str:
    """One digest of a kind's seals, what the trail holds of them: the sum of each seal's
    SHA-256 (mod 2**256), so resealing a few records of a large kind updates it from those
    few (`_total`) instead of reading every seal again."""
    return SUMMED + _hex(sum(_term(key, digest) for key, digest in seals.items()))


SUMMED = "sum:"  # a digest `seals_digest` sums; the trail's older ones hash the sorted seals


def _listed_digest(seals: dict[str, str]) -> str:
    """What the trail held of a kind before digests were summed."""
    return _sha256(canonical(sorted(seals.items())))


def _term(key: str, digest: str) -> int:
    return int(_sha256(f"{key}\x1f{digest}"), 16)


def _hex(total: int) -> str:
    return f"{total % MODULUS:064x}"


def _total(session: Session, kind: Kind, before: dict[str, str], after: dict[str, str]) -> str:
    """The kind's digest once the seals in `before` became those in `after` (a key in one
    only: a seal added or dropped), kept as the kind's TOTAL seal row; books sealed before
    there was one read every seal once."""
    name = kind.table.name
    where = (RecordSeal.kind == name) & (RecordSeal.key == TOTAL)
    kept = session.scalar(select(RecordSeal.digest).where(where))
    if kept is None:
        total = int(seals_digest(stored_seals(session, kind)).removeprefix(SUMMED), 16)
        session.execute(insert(RecordSeal).values(kind=name, key=TOTAL, digest=_hex(total)))
    else:
        total = int(kept, 16) + sum(_term(k, d) for k, d in after.items())
        total -= sum(_term(k, d) for k, d in before.items())
        session.execute(update(RecordSeal).where(where).values(digest=_hex(total)))
    return SUMMED + _hex(total)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def check(session: Session, sealed: dict[str, tuple[int, str]]) -> list[str]:
    """Each kind's records against their seals, and the seals against the newest digest the
    trail holds of them (`sealed`: table → (entry seq, digest))."""
    problems = []
    for name, kind in KINDS.items():
        stored = stored_seals(session, kind)
        seq, expected = sealed.get(name, (None, seals_digest({})))
        digest = seals_digest if expected.startswith(SUMMED) else _listed_digest
        if digest(stored) != expected:
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
