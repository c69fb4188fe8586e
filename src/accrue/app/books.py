"""Use cases on the books: data in (lines, programs, master data), recalculation with its
alerts, period close, paying and reversing a settlement.

Every change that leaves standings to recompute recalculates (unless the caller says not to,
to batch several imports) and raises the proximity alerts the new standings call for, queued
in the outbox in the alerts' own transaction: a file uploaded in the portal, pushed through the
API or imported on the command line ends in the same books and the same alerts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from accrue.domain.ledger import PayoutMethod
from accrue.domain.program import Program
from accrue.store import close as closing
from accrue.store import ingest, master, programs
from accrue.store.alerts import raise_alerts
from accrue.store.books import Books
from accrue.store.outbox import Delivered, deliver_due
from accrue.store.recalc import Recalculated, recalc
from accrue.store.tables import AlertRow, Batch

Progress = Callable[[int, int, str], None]  # (done, of, what is being done)


def quiet(done: int, of: int, doing: str) -> None:
    """Progress nobody watches."""


@dataclass(frozen=True)
class Refreshed:
    """A recalculation and the alerts it raised."""

    recalculated: Recalculated
    alerts: list[AlertRow]

    @property
    def summary(self) -> str:
        raised = f"; {len(self.alerts)} proximity alert(s) raised" if self.alerts else ""
        return self.recalculated.summary + raised


@dataclass(frozen=True)
class Imported:
    """What an import received, and the recalculation that followed it (None if not asked)."""

    received: list = field(default_factory=list)  # ingest.Received, master Batch or Imported
    refreshed: Refreshed | None = None

    @property
    def rejected(self) -> int:
        return sum(getattr(r, "batch", r).rejected or 0 for r in self.received)


def recalculate(books: Books, as_of: date, full: bool = False) -> Refreshed:
    """Recompute what is pending (or everything), post the deltas, and raise the proximity
    alerts of the periods running on `as_of` (once per tier per period)."""
    done = recalc(books, as_of, full)
    return Refreshed(done, raise_alerts(books, as_of, done.roots))


def _then(books: Books, as_of: date, recalculating: bool, received: list) -> Imported:
    return Imported(received, recalculate(books, as_of) if recalculating else None)


def import_lines(
    books: Books,
    files: list[tuple[Path, str | None]],
    as_of: date,
    recalculating: bool = True,
    progress: Progress = quiet,
) -> Imported:
    """Line files (path, the name the books call it): bad rows to quarantine, the rest kept;
    then the standings they touched recomputed and posted."""
    received = []
    for done, (path, name) in enumerate(files):
        progress(done, len(files) + recalculating, f"importing {name or path.name}")
        received.append(ingest.import_lines(books, path, name))
    progress(len(files), len(files) + recalculating, "recalculating")
    return _then(books, as_of, recalculating, received)


def push_lines(
    books: Books, name: str, document, as_of: date, recalculating: bool = True
) -> Imported:
    """Lines as a JSON document, judged exactly like a file."""
    return _then(books, as_of, recalculating, [ingest.import_payload(books, name, document)])


def import_programs(
    books: Books,
    found: list[Program],
    as_of: date,
    takes_effect: date | None = None,
    recalculating: bool = True,
    sources: list[str] | None = None,
) -> Imported:
    """Programs: a changed one becomes a new version, kept with `sources` (the YAML each was
    written as, for the editor to show); then everything is recomputed."""
    texts = sources or [None] * len(found)
    imported = [
        programs.import_program(books, p, takes_effect, source)
        for p, source in zip(found, texts, strict=True)
    ]
    return _then(books, as_of, recalculating, imported)


def import_master(
    books: Books,
    kind: str,
    path: Path,
    as_of: date,
    name: str | None = None,
    recalculating: bool = True,
) -> Imported:
    """Partners, products, reps or FX rates (upserted, history kept); then recomputed."""
    batch: Batch = master.import_master(books, kind, path, name)
    return _then(books, as_of, recalculating, [batch])


def close_period(
    books: Books, label: str, as_of: date, force_reason: str | None = None
) -> closing.ClosedReport:
    """Recalculate what is pending (with its alerts), then settle the period and lock it."""
    closing.guard(label, as_of, force_reason)
    recalculate(books, as_of)
    return closing.close_period(books, label, as_of, force_reason)


def pay(books: Books, settlement_id: int, method: PayoutMethod, reference: str, on: date) -> int:
    """Pay what one settlement still owes: its payout journal."""
    return closing.pay(books, settlement_id, method, reference, on)


def reverse(books: Books, journal_id: int, reason: str, on: date) -> int:
    """Reverse a payout journal: the settlement is owed again."""
    return closing.reverse(books, journal_id, reason, on)


def send_alerts(books: Books) -> Delivered:
    """Deliver the outbox messages that are due (the server's worker does it on its own)."""
    return deliver_due(books)
