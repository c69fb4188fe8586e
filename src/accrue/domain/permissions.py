"""Who may do what: every permission decision in one table the tests enumerate.

A route names one permission; a role either holds it or not. Partner users and sales reps hold
a few read permissions, always narrowed to their scope: a partner user sees their own company
and its branches, a rep the partners assigned to them (and their branches).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from accrue.domain.partners import PartnerTree

if TYPE_CHECKING:  # a type only: Role, used by the CLI at start-up, needs no pydantic
    from accrue.domain.program import Program


class Role(StrEnum):
    ADMIN = "admin"
    PROGRAM_MANAGER = "program_manager"
    FINANCE = "finance"
    APPROVER = "approver"
    AUDITOR = "auditor"
    PARTNER = "partner"
    REP = "rep"


STAFF = {Role.ADMIN, Role.PROGRAM_MANAGER, Role.FINANCE, Role.APPROVER, Role.AUDITOR}
EXTERNAL = {Role.PARTNER, Role.REP}
EVERYONE = STAFF | EXTERNAL

# permission → the roles that hold it. Reads end in ":read"; the auditor holds every read and
# nothing else. Approving is never enough on its own: the rules in accrue.domain.approvals also
# refuse anyone who prepared the item or already approved it.
POLICY: dict[str, frozenset[Role]] = {
    name: frozenset(roles)
    for name, roles in {
        "self:read": EVERYONE,
        "programs:read": EVERYONE,
        "programs:write": {Role.ADMIN, Role.PROGRAM_MANAGER},
        "partners:read": EVERYONE,
        "catalog:read": EVERYONE,
        "master:read": STAFF,
        "master:write": {Role.ADMIN, Role.PROGRAM_MANAGER},
        "lines:read": EVERYONE,
        "lines:write": {Role.ADMIN, Role.FINANCE},
        "batches:read": STAFF,
        "standings:read": EVERYONE,
        "standings:write": {Role.ADMIN, Role.FINANCE},
        "settlements:read": EVERYONE,
        "ledger:read": {Role.ADMIN, Role.FINANCE, Role.APPROVER, Role.AUDITOR},
        "periods:close": {Role.ADMIN, Role.FINANCE},
        "approvals:read": {Role.ADMIN, Role.FINANCE, Role.APPROVER, Role.AUDITOR},
        "approvals:submit": {Role.ADMIN, Role.FINANCE},
        "approvals:decide": {Role.ADMIN, Role.APPROVER, Role.FINANCE},
        "payouts:read": {Role.ADMIN, Role.FINANCE, Role.APPROVER, Role.AUDITOR},
        "payouts:write": {Role.ADMIN, Role.FINANCE},
        "agreements:read": EVERYONE,
        "agreements:write": {Role.ADMIN, Role.PROGRAM_MANAGER},
        "claims:read": EVERYONE,
        "claims:write": {Role.ADMIN, Role.FINANCE, Role.PARTNER},
        "funds:read": EVERYONE,
        "leakage:read": STAFF,
        "analytics:read": STAFF,
        "disputes:read": EVERYONE,
        "disputes:open": {Role.ADMIN, Role.FINANCE, Role.PARTNER, Role.REP},
        "disputes:resolve": {Role.ADMIN, Role.FINANCE, Role.PROGRAM_MANAGER},
        "audit:read": {Role.ADMIN, Role.AUDITOR},
        "outbox:read": {Role.ADMIN, Role.AUDITOR},
        "jobs:read": {Role.ADMIN, Role.PROGRAM_MANAGER, Role.FINANCE, Role.APPROVER, Role.AUDITOR},
        "users:read": {Role.ADMIN, Role.AUDITOR},
        "users:write": {Role.ADMIN},
    }.items()
}


class Forbidden(PermissionError):
    """The user may not do this; the message says which permission is missing."""


def allows(role: Role, permission: str) -> bool:
    if permission not in POLICY:
        raise KeyError(f"no rule for permission {permission!r}: add it to POLICY")
    return role in POLICY[permission]


@dataclass(frozen=True)
class Scope:
    """The partners a user may see: None means every partner."""

    partners: frozenset[str] | None

    def sees(self, partner_id: str) -> bool:
        return self.partners is None or partner_id in self.partners

    def only(self, partner_ids: Iterable[str]) -> list[str]:
        return [p for p in partner_ids if self.sees(p)]

    def program(self, program: Program) -> Program | None:
        """A program as this scope may see it: one naming its partners is shown only to them,
        and other partners' names (enrolled or excluded) are left out."""
        if self.partners is None:
            return program
        rules = program.eligibility
        if rules.partners and not self.only(rules.partners):
            return None
        exclude = rules.exclude.model_copy(update={"partners": self.only(rules.exclude.partners)})
        seen = rules.model_copy(update={"partners": self.only(rules.partners), "exclude": exclude})
        return program.model_copy(update={"eligibility": seen})


def scope_of(
    role: Role, partner_id: str | None, rep_partners: Iterable[str], tree: PartnerTree
) -> Scope:
    """Staff see everyone; a partner user their company and its branches; a rep the partners
    assigned to them and their branches."""
    if role in STAFF:
        return Scope(None)
    if role is Role.PARTNER:
        return Scope(frozenset(tree.under({partner_id})) if partner_id in tree else frozenset())
    known = {p for p in rep_partners if p in tree}
    return Scope(frozenset(tree.under(known)))
