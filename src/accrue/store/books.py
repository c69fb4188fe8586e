"""The books: the records database and the line store, opened together, written through one
unit of work that also appends to the audit trail.

Every write is one database transaction; a process killed at any point leaves either all of it
or none. The only write outside the records database, the embedded line store, happens before
its batch commits and is undone at the next opening if that commit never happened.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import ibis
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from accrue.domain.audit import GENESIS, Entry, canonical, sealed
from accrue.domain.catalog import Product
from accrue.domain.errors import NotFound
from accrue.domain.fx import FxRate
from accrue.domain.partners import Partner, PartnerTree
from accrue.domain.program import Program
from accrue.domain.reps import SalesRep
from accrue.engine.dataset import DataSet
from accrue.settings import Settings
from accrue.store import database, seals
from accrue.store.lines import DuckDBLines, PostgresLines
from accrue.store.tables import (
    AuditRow,
    Batch,
    FxRateRow,
    PartnerRow,
    ProductRow,
    ProgramVersionRow,
    RepRow,
)

Clock = Callable[[], datetime]
T = TypeVar("T")
REMEMBER = 1024  # answers `Books.remembered` keeps, the oldest forgotten first
_REMEMBERED: OrderedDict = OrderedDict()
_REMEMBERING = threading.Lock()
_MISSING = object()
WRITERS_LOCK = 4242  # PostgreSQL advisory locks: writing transactions queue on this one,
LOADING_LOCK = 4243  # a loading batch is held under (this, batch id) by its process,
RECALC_LOCK = 4244  # a recalculation holds its partner trees under (this, tree), or all of them
ALL_TREES = 0  # under (RECALC_LOCK, this): shared by one tree's recalculation, whole by all's


class NotInitialised(RuntimeError):
    pass


class WroteWhileReading(RuntimeError):
    """A transaction opened for reading tried to write: a bug in its caller."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Books:
    def __init__(self, settings: Settings, clock: Clock = utc_now):
        self.settings = settings
        self.clock = clock
        self.outbox_waiting = threading.Event()  # set when a message is queued
        self.jobs_waiting = threading.Event()  # set when a job is queued
        # what daily work was last done for which day, shared by the copies acting for people
        self.done_on: dict[str, date] = {}
        self.engine: Engine = database.connect(settings.url)
        self.postgres = self.engine.dialect.name == "postgresql"
        self.reads_only = False
        seals.note_writes(self.engine)

    # opening ---------------------------------------------------------------------------------

    @classmethod
    def init(cls, settings: Settings, clock: Clock = utc_now) -> Books:
        """Create the data folder and bring the schema to the newest migration."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        books = cls(settings, clock)
        database.migrate(books.engine)
        books.seal_everything()
        return books.recover()

    @classmethod
    def open(cls, settings: Settings, clock: Clock = utc_now) -> Books:
        url = make_url(settings.url)
        where = url.render_as_string(hide_password=True)
        missing = NotInitialised(f"no Accrue books at {where}: run `accrue init` first")
        if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
            raise missing  # SQLite would create an empty file; say what is wrong instead
        books = cls(settings, clock)
        if database.current(books.engine) != database.head():
            books.engine.dispose()
            raise missing
        return books.recover()

    @cached_property
    def line_store(self) -> DuckDBLines | PostgresLines:
        if self.postgres:
            url = make_url(self.settings.url)
            return PostgresLines(
                ibis.postgres.connect(
                    host=url.host,
                    port=url.port or 5432,
                    user=url.username,
                    password=url.password,
                    database=url.database,
                )
            )
        return DuckDBLines(self.settings.data_dir / "lines.duckdb")

    def recover(self) -> Books:
        """Batches a killed process left half-written are undone, and say so."""
        with self.session() as session:
            loading = session.scalars(select(Batch).where(Batch.status == "loading")).all()
            stuck = [batch for batch in loading if self._abandoned(session, batch.id)]
            self.line_store.discard([batch.id for batch in stuck])
            for batch in stuck:
                batch.status = "interrupted"
                batch.message = "the process stopped before the batch committed; nothing kept"
                self.audit(session, "interrupted", "batch", str(batch.id), after={"id": batch.id})
        return self

    def seal_everything(self) -> None:
        """Books from before seals get theirs as they stand at `accrue init`: from then on
        any change made behind the application's back is found (see accrue.store.seals).
        Books sealed already are left alone, or running `accrue init` again would bless
        whatever was done to them (a kind of record a migration adds starts empty)."""
        with self.session() as session:
            if session.scalar(_A_SEAL) is not None:
                return
            self._seal(session, set(seals.KINDS))
            trail = session.scalars(select(AuditRow.after).order_by(AuditRow.seq))
            sealed = seals.sealed_lines(trail)
            current = self.line_store.digests(session.connection())
            unsealed = {str(b): d for b, d in current.items() if str(b) not in sealed}
            if unsealed:
                self.audit(session, "seal", "lines", "*", after={"lines": unsealed})

    def acting_as(self, actor: str) -> Books:
        """The same books (engine, line store) with another person named in the audit trail."""
        self.line_store  # opened once, shared by every copy  # noqa: B018
        other = copy.copy(self)
        other.settings = self.settings.model_copy(update={"actor": actor})
        return other

    def reading(self) -> Books:
        """The same books whose transactions only read: on PostgreSQL a snapshot (REPEATABLE
        READ, READ ONLY) that never waits for a writer or a recalculation."""
        other = copy.copy(self)
        other.reads_only = True
        return other

    def _abandoned(self, session: Session, batch_id: int) -> bool:
        """No live process holds the batch (see `loading`); the embedded line store's file
        lock already keeps any second process out."""
        if not self.postgres:
            return True
        free = text("SELECT pg_try_advisory_xact_lock(:lock, :batch)")
        return session.scalar(free, {"lock": LOADING_LOCK, "batch": batch_id})

    @contextmanager
    def loading(self) -> Iterator[Callable[[int], None]]:
        """A claim on the batches this process loads, held until they are done: call the
        claim inside the transaction that creates the batch, so no recovery elsewhere ever
        sees the batch unclaimed while its process lives."""
        if not self.postgres:
            yield lambda batch_id: None
            return
        with self.engine.connect() as holder:
            claimed: list[int] = []

            def claim(batch_id: int) -> None:
                holder.execute(
                    text("SELECT pg_advisory_lock(:lock, :batch)"),
                    {"lock": LOADING_LOCK, "batch": batch_id},
                )
                claimed.append(batch_id)

            try:
                yield claim
            finally:
                for batch_id in claimed:
                    holder.execute(
                        text("SELECT pg_advisory_unlock(:lock, :batch)"),
                        {"lock": LOADING_LOCK, "batch": batch_id},
                    )
                holder.commit()

    def close(self) -> None:
        if "line_store" in self.__dict__:
            self.line_store.close()
        self.engine.dispose()

    # unit of work ----------------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction; on PostgreSQL writers also queue on an advisory lock, readers (see
        `reading`) read a snapshot without it. The records it writes are sealed before it
        commits; a reading one that writes is refused."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            if self.postgres:
                session.execute(text(_READ_SNAPSHOT if self.reads_only else _QUEUE_FOR_WRITERS))
            noted = session.connection().info
            noted["written"] = written = set()
            try:
                yield session
                if self.reads_only and written:
                    raise WroteWhileReading(f"a reading transaction wrote {sorted(written)}")
                self._seal(session, written)
            finally:
                for left in ("written", "touched", "astray"):  # a rolled back transaction's
                    noted.pop(left, None)

    @contextmanager
    def recalculating(self, roots: set[str] | None) -> Iterator[None]:
        """On PostgreSQL, hold these partner trees (None: all of them) for a recalculation,
        until it is done: recalculations of other trees go on at the same time, one of the
        same trees waits. Nothing else waits for it."""
        if not self.postgres:
            yield
            return
        keys = (
            [("pg_advisory_lock", ALL_TREES)]
            if roots is None
            else [
                ("pg_advisory_lock_shared", ALL_TREES),
                *(("pg_advisory_lock", _tree_key(root)) for root in sorted(roots)),
            ]
        )
        with self.engine.connect() as holder:
            for function, key in keys:
                holder.execute(
                    text(f"SELECT {function}(:lock, :key)"), {"lock": RECALC_LOCK, "key": key}
                )
            try:
                yield
            finally:
                holder.execute(text("SELECT pg_advisory_unlock_all()"))
                holder.commit()

    def remembered(self, key: tuple, compute: Callable[[], T], session: Session | None = None) -> T:
        """`compute()`, worked out once per version of the books (the newest audit entry:
        every committed change appends one) and kept for whoever asks `key` next — pages that
        many people reload read the books once per change, not once per view. The version is
        read in `session` when given: a second connection while holding one could wait for
        a pool that every holder waits for."""
        kept_as = self._kept_as(key, session)
        found = _REMEMBERED.get(kept_as, _MISSING)
        if found is _MISSING:
            found = compute()
            with _REMEMBERING:
                _REMEMBERED[kept_as] = found
                while len(_REMEMBERED) > REMEMBER:
                    _REMEMBERED.popitem(last=False)
        return found

    def recall(self, key: tuple, session: Session | None = None):
        """What `remembered` kept for `key` at this version of the books, without working it
        out: a page that must answer at once asks for the rest in the background. KeyError
        when nothing is kept (in this process: each keeps its own)."""
        found = _REMEMBERED.get(self._kept_as(key, session), _MISSING)
        if found is _MISSING:
            raise KeyError(key)
        return found

    def _kept_as(self, key: tuple, session: Session | None) -> tuple:
        return (self.settings.url, self.version(session), *key)

    def version(self, session: Session | None = None) -> int | None:
        """The newest audit entry's number: it changes with every committed change."""
        if session is None:
            with self.reading().session() as reading:
                return self.version(reading)
        return session.scalar(select(func.max(AuditRow.seq)))

    def _seal(self, session: Session, written: set[str]) -> None:
        """The seals of the records this transaction wrote, with one `seal` entry in the trail
        for those that changed (see accrue.store.seals)."""
        session.flush()
        changed = seals.seal(session, written)
        if changed:
            self.audit(session, "seal", "records", ", ".join(changed), after={"seals": changed})

    def now(self) -> str:
        return self.clock().astimezone(UTC).isoformat(timespec="microseconds")

    def audit(
        self,
        session: Session,
        action: str,
        entity: str,
        key: str,
        before=None,
        after=None,
        inputs_digest: str = "",
    ) -> int:
        """Append one entry to the chain, in the caller's transaction."""
        last = session.execute(
            select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
        ).first()
        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
        entry = sealed(
            Entry(
                seq=seq,
                at=self.now(),
                actor=self.settings.actor,
                action=action,
                entity=entity,
                key=key,
                before=canonical(before) if before is not None else "",
                after=canonical(after) if after is not None else "",
                inputs_digest=inputs_digest,
                prev_hash=prev,
            )
        )
        session.add(AuditRow(**entry.__dict__))
        session.flush()
        return seq

    # what the engine reads -------------------------------------------------------------------

    def partners(self, session: Session) -> list[Partner]:
        return [
            Partner(
                r.id, r.name, r.parent_id, r.segment, r.region, json.loads(r.attributes or "{}")
            )
            for r in _rows(session, PartnerRow, PartnerRow.id)
        ]

    def master(self, session: Session) -> dict:
        partners = self.partners(session)
        products = [
            Product(r.sku, r.name, r.category, r.product_line, r.uom)
            for r in _rows(session, ProductRow, ProductRow.sku)
        ]
        rates = [
            FxRate(r.valid_from, r.from_currency, r.to_currency, Decimal(r.rate))
            for r in _rows(session, FxRateRow)
        ]
        reps = [
            SalesRep(r.id, r.name, frozenset(json.loads(r.partner_ids)))
            for r in _rows(session, RepRow, RepRow.id)
        ]
        return {"partners": partners, "products": products, "fx_rates": rates, "reps": reps}

    def dataset(
        self,
        session: Session,
        partner_ids: set[str] | None = None,
        as_of_batch=None,
        master: dict | None = None,
    ) -> DataSet:
        """Master data (read here unless given) and the current lines (or those of some
        partners, or as of a batch). Some partners' lines are copied out first, so the
        engine's scans read only those."""
        lines = self.line_store.lines(as_of_batch)
        scope = None if partner_ids is None else frozenset(partner_ids)
        if scope is not None:
            lines = lines.filter(lines.partner_id.isin(sorted(scope))).cache()
        return DataSet(lines=lines, scope=scope, **(master or self.master(session)))

    def tree(self, session: Session) -> PartnerTree:
        return PartnerTree(self.partners(session))

    def programs(self, session: Session) -> list[Program]:
        """Every version of every program, as stored."""
        rows = session.scalars(select(ProgramVersionRow)).all()
        return [Program.model_validate_json(row.document) for row in rows]

    def liability_accounts(self, session: Session) -> set[str]:
        """The accounts whose credit balance is owed to partners (every program's accrued)."""
        return {p.ledger_accounts.accrued for p in self.programs(session)}

    def latest_programs(self, session: Session) -> dict[str, Program]:
        """The newest version of each program, by id (in id order)."""
        newest: dict[str, Program] = {}
        for program in sorted(self.programs(session), key=lambda p: (p.id, p.version)):
            newest[program.id] = program
        return newest

    def program(self, session: Session, program_id: str) -> Program:
        """The newest version of one program, or LookupError."""
        row = session.scalar(
            select(ProgramVersionRow)
            .where(ProgramVersionRow.program_id == program_id)
            .order_by(ProgramVersionRow.version.desc())
            .limit(1)
        )
        if row is None:
            raise NotFound(f"no program {program_id}")
        return Program.model_validate_json(row.document)


_A_SEAL = select(AuditRow.seq).where(AuditRow.action == "seal").limit(1)
_READ_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
_QUEUE_FOR_WRITERS = f"SELECT pg_advisory_xact_lock({WRITERS_LOCK})"


def _tree_key(root: str) -> int:
    """A partner tree's advisory lock key: 31 bits of its id's digest, never ALL_TREES."""
    return int.from_bytes(hashlib.sha256(root.encode()).digest()[:4]) % (2**31 - 1) + 1


def _rows(session: Session, model, *order):
    """A table's rows as plain tuples: master data is read whole for every recalculation, and
    building ORM objects for thousands of partners costs more than the query."""
    return session.execute(select(model.__table__).order_by(*order)).all()
