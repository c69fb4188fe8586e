"""Master data import: partners, products, reps with their assignments, FX rates.

Upserts by natural key; every insert or change is kept in `master_changes` with the row before
and after. Any change can move amounts, so it asks for a full recalculation. A master file is
taken whole or not at all: a half-imported partner tree would be a wrong tree.

A file is compared in memory with the stored rows of its kind, read once, and only what differs
is written, in a few statements of many rows each: a query and a flush per row made a file of
thousands of partners take seconds to upsert, even when nothing in it had changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from collections.abc import Set as KeySet
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from accrue.domain.errors import Refused
from accrue.domain.partners import Partner, PartnerTree, PartnerTreeError
from accrue.ingest.errors import InputError, Problem
from accrue.ingest.master import read_fx, read_partners, read_products, read_reps
from accrue.store.books import Books
from accrue.store.pending import mark_for_recalc
from accrue.store.tables import (
    Batch,
    FxRateRow,
    MasterChange,
    PartnerRow,
    ProductRow,
    RepRow,
)


@dataclass(frozen=True)
class Kind:
    reader: Callable
    table: type
    row: Callable  # domain object → column values

    def key(self, values: dict) -> tuple:
        """The natural key of a row's values: its primary key, in the table's column order."""
        return tuple(values[column.name] for column in self.table.__table__.primary_key.columns)


KINDS = {
    "partners": Kind(
        lambda path: read_partners(path, complete=False),
        PartnerRow,
        lambda p: {
            "id": p.id,
            "name": p.name,
            "parent_id": p.parent_id,
            "segment": p.segment,
            "region": p.region,
            "attributes": json.dumps(dict(p.attributes), sort_keys=True),
        },
    ),
    "products": Kind(
        read_products,
        ProductRow,
        lambda p: {
            "sku": p.sku,
            "name": p.name,
            "category": p.category,
            "product_line": p.product_line,
            "uom": p.uom,
        },
    ),
    "reps": Kind(
        read_reps,
        RepRow,
        lambda r: {"id": r.id, "name": r.name, "partner_ids": json.dumps(sorted(r.partner_ids))},
    ),
    "fx": Kind(
        read_fx,
        FxRateRow,
        lambda r: {
            "valid_from": r.valid_from,
            "from_currency": r.from_currency,
            "to_currency": r.to_currency,
            "rate": str(r.rate),
        },
    ),
}


@dataclass(frozen=True)
class Change:
    """One row of a file that differs from what was stored (or from an earlier row of the
    same file with its key): `before` is None for a new row."""

    key: tuple
    before: dict | None
    after: dict

    @property
    def key_text(self) -> str:
        return "/".join(map(str, self.key))

    def history(self, batch_id: int, table: str) -> dict:
        """Its `master_changes` row."""
        return {
            "batch_id": batch_id,
            "kind": table,
            "key": self.key_text,
            "before": _json(self.before) if self.before else "",
            "after": _json(self.after),
        }

    def audited(self) -> dict:
        """As the import's audit entry lists it: plain JSON values (dates as text)."""
        change = {"key": self.key_text, "before": self.before, "after": self.after}
        return json.loads(json.dumps(change, default=str))


def _json(values: dict) -> str:
    return json.dumps(values, default=str, sort_keys=True)


def import_master(books: Books, kind: str, path: Path, name: str | None = None) -> Batch:
    """Upsert a master file; returns its batch with counts (accepted = inserted or changed).
    `name` is what the books call the file (its path when not given)."""
    if kind not in KINDS:
        raise Refused(f"unknown master data {kind!r}: choose from {', '.join(KINDS)}")
    spec = KINDS[kind]
    shown = name or str(path)
    items = spec.reader(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with books.session() as session:
        batch = Batch(
            kind=kind,
            source_name=shown,
            file_digest=digest,
            status="committed",
            received=len(items),
            received_at=books.now(),
            actor=books.settings.actor,
        )
        session.add(batch)
        session.flush()
        stored = _stored(session, spec)
        changes, merged = _compare(spec, items, stored)
        if kind == "partners":
            _check_tree(merged.values(), path)
        _write(session, spec, changes, stored.keys(), batch.id)
        batch.accepted = len(changes)
        batch.duplicate = batch.received - batch.accepted
        if batch.accepted:
            mark_for_recalc(session, ["*"])
        books.audit(
            session,
            "import",
            kind,
            str(batch.id),
            after={"file": shown, "digest": digest, "changes": [c.audited() for c in changes]},
        )
    return batch


def batch_summary(batch: Batch) -> str:
    """What a master file brought, worded the same at every door."""
    return (
        f"batch {batch.id}: {batch.received} {batch.kind} rows, {batch.accepted} new or "
        f"changed, {batch.duplicate} unchanged"
    )


def _stored(session: Session, spec: Kind) -> dict[tuple, dict]:
    """Every stored row of the kind, as column values by natural key, in one query."""
    rows = session.execute(select(spec.table.__table__)).mappings()
    return {spec.key(values): values for values in map(dict, rows)}


def _compare(
    spec: Kind, items: list, stored: dict[tuple, dict]
) -> tuple[list[Change], dict[tuple, dict]]:
    """The file's rows against the stored ones, in file order: what each changes (a row equal
    to what its key holds by then changes nothing, so a key listed twice is compared with its
    earlier row), and every row of the kind as it stands afterwards."""
    merged = dict(stored)
    changes = []
    for item in items:
        values = spec.row(item)
        key = spec.key(values)
        before = merged.get(key)
        if before != values:
            changes.append(Change(key, before, values))
            merged[key] = values
    return changes, merged


def _write(
    session: Session, spec: Kind, changes: list[Change], stored: KeySet[tuple], batch_id: int
) -> None:
    """The changed rows and their history, a statement of many rows for each of: new rows,
    changed rows (each as the file last gives it), history rows in file order."""
    if not changes:
        return
    final = {change.key: change.after for change in changes}
    new = [values for key, values in final.items() if key not in stored]
    changed = [values for key, values in final.items() if key in stored]
    table = spec.table.__table__
    if new:  # the table, not its class: the ORM would split the rows by which values are None
        session.execute(insert(table), new)
    if changed:
        session.execute(update(spec.table), changed)  # the ORM's by primary key, one executemany
    history = [change.history(batch_id, table.name) for change in changes]
    session.execute(insert(MasterChange.__table__), history)


def _check_tree(rows: Iterable[dict], path: Path) -> None:
    """The merged tree must still be a tree: known parents, no cycles. Checked on the rows as
    they will stand, before any is written: a refused file writes nothing to roll back."""
    try:
        PartnerTree(Partner(row["id"], row["name"], row["parent_id"]) for row in rows)
    except PartnerTreeError as error:
        raise InputError([Problem(str(path), None, "parent_id", None, str(error))]) from None
