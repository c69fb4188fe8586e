"""Master data import: partners, products, reps with their assignments, FX rates.

Upserts by natural key; every insert or change is kept in `master_changes` with the row before
and after. Any change can move amounts, so it asks for a full recalculation. A master file is
taken whole or not at all: a half-imported partner tree would be a wrong tree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
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
    key: Callable  # domain object → natural key (tuple)
    row: Callable  # domain object → column values


KINDS = {
    "partners": Kind(
        lambda path: read_partners(path, complete=False),
        PartnerRow,
        lambda p: (p.id,),
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
        lambda p: (p.sku,),
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
        lambda r: (r.id,),
        lambda r: {"id": r.id, "name": r.name, "partner_ids": json.dumps(sorted(r.partner_ids))},
    ),
    "fx": Kind(
        read_fx,
        FxRateRow,
        lambda r: (r.valid_from, r.from_currency, r.to_currency),
        lambda r: {
            "valid_from": r.valid_from,
            "from_currency": r.from_currency,
            "to_currency": r.to_currency,
            "rate": str(r.rate),
        },
    ),
}


def _columns(row) -> dict:
    return {c.name: getattr(row, c.name) for c in row.__table__.columns}


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
        changes = [_upsert(session, spec, item, batch.id) for item in items]
        batch.accepted = sum(1 for c in changes if c)
        batch.duplicate = batch.received - batch.accepted
        if kind == "partners":
            _check_tree(session, path)
        if batch.accepted:
            mark_for_recalc(session, ["*"])
        books.audit(
            session,
            "import",
            kind,
            str(batch.id),
            after={"file": shown, "digest": digest, "changes": [c for c in changes if c]},
        )
    return batch


def batch_summary(batch: Batch) -> str:
    """What a master file brought, worded the same at every door."""
    return (
        f"batch {batch.id}: {batch.received} {batch.kind} rows, {batch.accepted} new or "
        f"changed, {batch.duplicate} unchanged"
    )


def _upsert(session: Session, spec: Kind, item, batch_id: int) -> dict | None:
    values = spec.row(item)
    existing = session.get(spec.table, spec.key(item))
    before = _columns(existing) if existing else None
    if before == values:
        return None
    if existing:
        for name, value in values.items():
            setattr(existing, name, value)
    else:
        session.add(spec.table(**values))
    change = {"key": "/".join(map(str, spec.key(item))), "before": before, "after": values}
    session.add(
        MasterChange(
            batch_id=batch_id,
            kind=spec.table.__tablename__,
            key=change["key"],
            before=json.dumps(before, default=str, sort_keys=True) if before else "",
            after=json.dumps(values, default=str, sort_keys=True),
        )
    )
    session.flush()
    return json.loads(json.dumps(change, default=str))


def _check_tree(session: Session, path: Path) -> None:
    """The merged tree must still be a tree: known parents, no cycles."""
    rows = session.scalars(select(PartnerRow)).all()
    try:
        PartnerTree(Partner(r.id, r.name, r.parent_id) for r in rows)
    except PartnerTreeError as error:
        raise InputError([Problem(str(path), None, "parent_id", None, str(error))]) from None
