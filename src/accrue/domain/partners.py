"""Partners form a tree (parent company → branches); programs measure at a chosen level."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from accrue.domain.errors import Refused


@dataclass(frozen=True)
class Partner:
    id: str
    name: str
    parent_id: str | None = None
    segment: str | None = None
    region: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict, compare=False)


class PartnerTreeError(Refused):
    pass


class PartnerTree:
    """Parent links checked once (unknown parents and cycles are errors), then cheap queries."""

    def __init__(self, partners: Iterable[Partner]):
        self._by_id: dict[str, Partner] = {}
        for partner in partners:
            if partner.id in self._by_id:
                raise PartnerTreeError(f"partner {partner.id!r} is listed twice")
            self._by_id[partner.id] = partner
        self._paths = {pid: self._path_to_root(pid) for pid in self._by_id}

    def _path_to_root(self, partner_id: str) -> tuple[str, ...]:
        path = [partner_id]
        parent = self._by_id[partner_id].parent_id
        while parent:
            if parent not in self._by_id:
                raise PartnerTreeError(f"partner {path[-1]!r} has unknown parent {parent!r}")
            if parent in path:
                raise PartnerTreeError(f"partner {partner_id!r} is its own ancestor")
            path.append(parent)
            parent = self._by_id[parent].parent_id
        return tuple(path)

    def __iter__(self):
        return iter(self._by_id.values())

    def __contains__(self, partner_id: object) -> bool:
        return partner_id in self._by_id

    def top(self, partner_id: str) -> str:
        return self._paths[partner_id][-1]

    def members(self, tops: set[str]) -> set[str]:
        """Every partner whose top parent is one of `tops`: whole trees."""
        return {pid for pid, path in self._paths.items() if path[-1] in tops}

    def under(self, partner_ids: set[str]) -> set[str]:
        """The partners themselves and every branch below them, at any depth."""
        return {pid for pid, path in self._paths.items() if partner_ids.intersection(path)}

    def path(self, partner_id: str) -> tuple[str, ...]:
        """The partner itself, then its parent, up to the top parent."""
        return self._paths[partner_id]

    def rollup(self, partner_id: str, level: int | None) -> str:
        """The ancestor a program measures at: `None` is the partner itself, 0 the top parent,
        1 its direct children, and so on; partners above the level measure as themselves."""
        if level is None:
            return partner_id
        path = self._paths[partner_id]
        return path[max(len(path) - 1 - level, 0)]

    def inherited(self, partner_id: str, attribute: str) -> str | None:
        """A branch without its own segment or region takes its nearest ancestor's."""
        for pid in self._paths[partner_id]:
            partner = self._by_id[pid]
            value = getattr(partner, attribute, None) or partner.attributes.get(attribute)
            if value:
                return value
        return None
