"""Which partner trees the next recalculation must recompute."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from accrue.store.tables import PendingRecalc


def mark_for_recalc(session: Session, roots: Iterable[str]) -> None:
    """Partner trees ('*': all) to recompute at the next recalculation, added in one flush:
    an import touching a thousand trees does not merge them one by one."""
    marked = set(session.scalars(select(PendingRecalc.root_id)))
    session.add_all(PendingRecalc(root_id=root) for root in sorted(set(roots) - marked))
