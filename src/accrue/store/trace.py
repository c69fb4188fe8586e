"""Why this amount: from a settlement to its program version, journals and lines.

The settlement is recomputed from the lines as they stood when it closed (the line store keeps
every version with its batch) and the program version it names; the trace says whether the
recomputation reproduces the settled amount to the cent, and gives every line's share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import or_, select

from accrue.domain.errors import NotFound
from accrue.domain.periods import Period
from accrue.engine import Engine
from accrue.engine.runner import Attribution
from accrue.store import ledger
from accrue.store.books import Books
from accrue.store.recalc import global_program_ids
from accrue.store.tables import JournalRow, SettlementRow


@dataclass(frozen=True)
class Trace:
    settlement: SettlementRow
    program_ref: str
    standing: dict
    recomputed: Decimal
    attributions: list[Attribution]
    journals: list[dict]

    @property
    def reproduced(self) -> bool:
        return self.recomputed == Decimal(self.settlement.amount)


def trace(books: Books, settlement_id: int) -> Trace:
    with books.session() as session:
        settlement = session.get(SettlementRow, settlement_id)
        if settlement is None:
            raise NotFound(f"no settlement {settlement_id} (see `accrue ledger settlements`)")
        programs = books.programs(session)
        tree = books.tree(session)
        partners = None
        if settlement.program_id not in global_program_ids(programs):
            partners = tree.members({tree.top(settlement.partner_id)})
        data = books.dataset(session, partners, as_of_batch=settlement.lines_as_of_batch)
        result = Engine(data).run(programs, as_of=Period.parse(settlement.period).end)
        standing = result.get(settlement.program_id, settlement.partner_id, settlement.period)
        program = result.versions[(standing.program_id, standing.version)]
        journal_ids = session.scalars(
            select(JournalRow.id).where(
                JournalRow.program_id == settlement.program_id,
                JournalRow.partner_id == settlement.partner_id,
                or_(
                    JournalRow.period == settlement.period,
                    JournalRow.settlement_id == settlement.id,
                ),
            )
        ).all()
        journals = [
            row
            for journal_id in journal_ids
            for row in ledger.journal_rows(session, journal_id, journal_id)
        ]
        return Trace(
            settlement,
            f"{program.ref}#{program.digest[:12]}",
            json.loads(settlement.standing),
            standing.amount,
            result.attribute(standing) if standing.amount else [],
            journals,
        )
