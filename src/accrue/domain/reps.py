"""Sales reps and the partners assigned to them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SalesRep:
    id: str
    name: str
    partner_ids: frozenset[str] = frozenset()
