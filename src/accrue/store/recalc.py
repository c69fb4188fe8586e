"""Recalculation: recompute the standings a change touched, store them, post their deltas.

A batch marks the partner trees (top parents) whose lines changed; master data and program
changes mark everything. Programs that share a budget across partners (and their exclusive
groups) are always computed for every partner. Each standing is posted so that what the ledger
has expensed for it equals its amount, on the accounts and in the currency of the version that
computed it; for a closed period the difference is booked in the next open period (rule 11)
and the settled period stays as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from accrue.domain.audit import canonical
from accrue.domain.ledger import change_journals
from accrue.domain.money import ZERO, money_text
from accrue.domain.partners import PartnerTree
from accrue.domain.periods import Closed, Period
from accrue.domain.program import Kind, Program
from accrue.domain.standings import Standing
from accrue.engine import Engine
from accrue.report import standing_row
from accrue.store.books import Books
from accrue.store.ledger import booked, journals_digest, post_all
from accrue.store.seals import keyed
from accrue.store.tables import (
    Batch,
    ClosedPeriod,
    MasterChange,
    PendingRecalc,
    ProgramVersionRow,
    StandingRow,
)


@dataclass(frozen=True)
class Recalculated:
    scope: str  # "all", "none" or the top parents recomputed
    standings: int  # computed
    changed: int
    removed: int
    journals: int
    roots: frozenset[str] | None = None  # the partner trees recomputed; None: every one

    @property
    def summary(self) -> str:
        return (
            f"recalculated {self.scope}: {self.standings} standings, {self.changed} changed, "
            f"{self.removed} removed, {self.journals} journals posted"
        )


ATTEMPTS = 3  # computations outside the writers' lock before one is made inside it


@dataclass(frozen=True)
class _Plan:
    """What a recalculation computed, and from which inputs (see `_inputs`)."""

    inputs: tuple
    roots: set[str] | None  # None: every partner tree
    programs: list[Program]
    computed: dict
    digest: str


def recalc(books: Books, as_of: date, full: bool = False) -> Recalculated:
    """The engine runs on a snapshot, outside the writers' lock, with the partner trees it
    recomputes held against other recalculations of them; what it computed is stored only if
    its inputs did not change meanwhile, else it runs again (the last time inside the lock)."""
    for _ in range(ATTEMPTS - 1):
        with books.reading().session() as session:
            roots = _roots(session, full)
        with books.recalculating(roots):
            with books.reading().session() as session:
                plan = _plan(books, session, full, as_of)
            with books.session() as session:
                if plan.roots == roots and _inputs(session) == plan.inputs:
                    return _apply(books, session, plan, as_of)
    with books.session() as session:
        return _apply(books, session, _plan(books, session, full, as_of), as_of)


def _roots(session: Session, full: bool) -> set[str] | None:
    """The partner trees to recompute (None: all of them)."""
    pending = set(session.scalars(select(PendingRecalc.root_id)))
    return None if full or "*" in pending else pending


def _inputs(session: Session) -> tuple:
    """What a recalculation depends on, in brief: anything that changes lines, master data or
    programs commits a batch, a master data change or a program version, and marks trees."""
    counted = (
        select(func.count()).select_from(Batch).where(Batch.status == "committed"),
        select(func.count()).select_from(MasterChange),
        select(func.count()).select_from(ProgramVersionRow),
    )
    pending = tuple(session.scalars(select(PendingRecalc.root_id).order_by(PendingRecalc.root_id)))
    return (*(session.scalar(count) for count in counted), pending)


def _plan(books: Books, session: Session, full: bool, as_of: date) -> _Plan:
    inputs, roots, programs = _inputs(session), _roots(session, full), books.programs(session)
    if not (full or inputs[-1]) or not programs:
        return _Plan(inputs, roots, programs, {}, "")
    computed, digest = _compute(books, session, programs, roots, as_of)
    return _Plan(inputs, roots, programs, computed, digest)


def _apply(books: Books, session: Session, plan: _Plan, as_of: date) -> Recalculated:
    """Store what `plan` computed, post its deltas, and clear the marks."""
    session.execute(delete(PendingRecalc))
    if not plan.digest:  # nothing to recompute
        return Recalculated("none", 0, 0, 0, 0)
    programs, roots, computed = plan.programs, plan.roots, plan.computed
    stored = _stored(session, programs, roots)
    changes, written = _store(books, session, computed, stored)
    # a standing a tree's recalculation left as it was is booked already: only the written
    # ones need journals (a full recalculation looks at every one, and mends what drifted)
    keys = written if roots is not None else {*computed, *stored}
    first, last, count = _post(books, session, programs, computed, stored, keys, as_of)
    scope = "all" if roots is None else ", ".join(sorted(roots))
    after = {
        "as_of": as_of.isoformat(),
        "scope": scope,
        **changes,
        "journals": [first, last, journals_digest(session, first, last)] if count else [],
    }
    books.audit(session, "recalc", "standings", scope, after=after, inputs_digest=plan.digest)
    return Recalculated(
        scope,
        len(computed),
        len(changes["changed"]),
        len(changes["removed"]),
        count,
        None if roots is None else frozenset(roots),
    )


def global_program_ids(programs: list[Program]) -> set[str]:
    """Programs computed for every partner: a shared budget, and their exclusive groups."""
    ids = {p.id for p in programs if p.caps.budget_per_period is not None}
    groups = {p.exclusive_group for p in programs if p.id in ids and p.exclusive_group}
    return ids | {p.id for p in programs if p.exclusive_group in groups}


def _compute(books: Books, session: Session, programs, roots, as_of) -> tuple[dict, str]:
    """key → (standing, its program version, top parent), and the digest of the inputs read.
    Master data is read once for the tree and every run."""
    master = books.master(session)
    tree = PartnerTree(master["partners"])
    runs: list[tuple[list[Program], set[str] | None]]
    if roots is None:
        runs = [(programs, None)]
    else:
        global_ids = global_program_ids(programs)
        partners = tree.members(roots)
        runs = [
            ([p for p in programs if p.id not in global_ids], partners),
            ([p for p in programs if p.id in global_ids], None),
        ]
    computed, digests = {}, []
    for chosen, partners in runs:
        if not chosen:
            continue
        result = Engine(books.dataset(session, partners, master=master)).run(chosen, as_of)
        digests.append(result.input_digest)
        for s in result.standings:
            program = result.versions[(s.program_id, s.version)]
            computed[s.key] = (s, program, tree.top(s.partner_id))
    return computed, "+".join(digests)


def _stored(session: Session, programs, roots) -> dict:
    """key → (currency, detail) of the standings in scope, as plain rows: no ORM object per
    standing (a full recalculation reads hundreds of thousands)."""
    table = StandingRow.__table__
    query = select(
        table.c.program_id, table.c.partner_id, table.c.period, table.c.currency, table.c.detail
    )
    if roots is not None:
        global_ids = sorted(global_program_ids(programs))
        query = query.where(table.c.root_id.in_(sorted(roots)) | table.c.program_id.in_(global_ids))
    return {
        (p, partner, period): (currency, detail)
        for p, partner, period, currency, detail in session.execute(query)
    }


def _brief(detail: dict) -> dict:
    return {k: detail[k] for k in ("program_version", "status", "tier", "amount", "payout")}


def _store(books: Books, session: Session, computed: dict, stored: dict) -> tuple[dict, set]:
    """Write the standings that changed and delete those no longer computed, each kind in one
    statement; what changed, for the audit entry, and the keys written."""
    changed, removed, inserted, updated = [], [], [], []
    refs: dict[tuple[str, int], str] = {}  # a version's digest once, not once a standing
    for key, (standing, program, root) in computed.items():
        version = (program.id, program.version)
        if version not in refs:
            refs[version] = f"{program.ref}#{program.digest[:12]}"
        detail = standing_row(standing, refs[version])
        text = canonical(detail)
        before = stored.get(key)
        if before is not None and before[1] == text:
            continue
        brief = _brief(json.loads(before[1])) if before is not None else None
        changed.append({"key": "/".join(key), "before": brief, "after": _brief(detail)})
        (inserted if before is None else updated).append(_values(key, standing, root, text))
    gone = sorted(set(stored) - set(computed))
    removed = [{"key": "/".join(k), "before": _brief(json.loads(stored[k][1]))} for k in gone]
    _write_standings(session, inserted, updated, gone)
    written = {_key(row) for row in (*inserted, *updated)} | set(gone)
    return {"changed": changed, "removed": removed}, written


def _values(key: tuple[str, str, str], standing: Standing, root: str, detail: str) -> dict:
    return {
        "program_id": key[0],
        "partner_id": key[1],
        "period": key[2],
        "root_id": root,
        "version": standing.version,
        "currency": standing.currency,
        "status": standing.status,
        "amount": money_text(standing.amount, standing.currency),
        "payout": money_text(standing.payout, standing.currency),
        "points": standing.points,
        "detail": detail,
    }


KEY_COLUMNS = ("program_id", "partner_id", "period")


def _write_standings(session: Session, inserted: list, updated: list, gone: list) -> None:
    """Bulk statements (executemany), and the keys they touched told to the seals, so only
    those standings are sealed again (see accrue.store.seals.keyed)."""
    table = StandingRow.__table__
    keys = [*(_key(row) for row in (*inserted, *updated)), *gone]
    with keyed(session, "standings", keys):
        _bulk_write(session, table, inserted, updated, gone)


def _bulk_write(session: Session, table, inserted: list, updated: list, gone: list) -> None:
    by_key = and_(*(table.c[name] == bindparam(f"k_{name}") for name in KEY_COLUMNS))
    if inserted:
        session.execute(insert(table), inserted)
    if updated:
        rows = [{f"k_{n}" if n in KEY_COLUMNS else n: v for n, v in row.items()} for row in updated]
        session.execute(update(table).where(by_key), rows)
    if gone:
        keys = [{f"k_{n}": v for n, v in zip(KEY_COLUMNS, key, strict=True)} for key in gone]
        session.execute(delete(table).where(by_key), keys)


def _key(row: dict) -> tuple[str, str, str]:
    return (row["program_id"], row["partner_id"], row["period"])


def _post(books: Books, session: Session, programs, computed, stored, keys: set, as_of: date):
    """Post, for the standings of `keys`, what brings the ledger to each one's amount, on the
    accounts and in the currency of the version that computed it (a removed standing: to
    nothing); all the journals in bulk (see `post_all`)."""
    latest = {p.id: p for p in sorted(programs, key=lambda p: p.version)}
    posted = booked(session, {key[1] for key in keys})
    closed = Closed(session.scalars(select(ClosedPeriod.label)))
    targets: dict[tuple[str, str, str], tuple[Program, Decimal, str]] = {
        key: (latest[key[0]], ZERO, currency)
        for key, (currency, _) in stored.items()
        if key in keys
    }
    for key in keys & computed.keys():
        standing, program, _ = computed[key]
        targets[key] = (program, _money(standing), standing.currency)
    journals = [
        journal
        for key in sorted(targets)
        for journal in _journals(key, *targets[key], posted.get(key, {}), closed)
    ]
    if not journals:
        return None, None, 0
    first, last = post_all(session, journals, as_of)
    return first, last, len(journals)


def _journals(key, program: Program, amount: Decimal, currency: str, booked, closed: Closed):
    return change_journals(
        booked,
        program.ledger_accounts,
        amount,
        fund=program.kind is Kind.FUND,
        program_id=key[0],
        partner_id=key[1],
        period=key[2],
        booked_period=closed.next_open(Period.parse(key[2])).label,
        currency=currency,
    )


def _money(standing: Standing) -> Decimal:
    return ZERO if standing.kind is Kind.POINTS else standing.amount
