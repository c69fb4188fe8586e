"""The audit trail as people read it: each entry a sentence (who did what to what, by name) and
a table of its fields, before → after where a field changed, money with its currency, ids
replaced by names. The sealed JSON stays in the books untouched; this is only how it reads."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from accrue.domain.money import readable_money

VERBS = {
    "import": "imported",
    "close": "closed",
    "submit": "submitted for approval",
    "approve": "approved",
    "reject": "rejected",
    "create": "created",
    "pay": "paid",
    "reverse": "reversed",
    "receive": "received",
    "post": "posted the journals of",
    "open": "opened",
    "resolve": "resolved",
    "seal": "sealed",
    "recalc": "recalculated",
    "issue": "issued",
    "refused": "refused",
    "interrupted": "found interrupted",
}
MONEY = {"amount", "total", "approved", "asked", "prevented", "adjustment", "payout", "requested"}
LABELS = {
    "of": "approvals needed",
    "approvals_needed": "approvals needed",
    "force_reason": "reason to close before the end",
    "settlement_ids": "settlements",
    "fund": "fund",
    "request": "approval request",
}
DIGEST = re.compile(r"^[0-9a-f]{32,}$")
SHOWN_ITEMS = 4  # list and mapping entries written out before the rest are counted


@dataclass(frozen=True)
class Names:
    """What the trail's ids are called: partners, programs, people, and each settlement,
    claim or dispute by what it is about."""

    partners: dict[str, str] = field(default_factory=dict)
    programs: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)
    reps: dict[str, str] = field(default_factory=dict)
    subjects: dict[tuple[str, str], str] = field(default_factory=dict)  # (entity, key) → about
    currencies: dict[tuple[str, str], str] = field(default_factory=dict)  # (entity, key) → code

    def of(self, text: str) -> str:
        """A partner, program or rep id as its name; a key such as `volume-q/D01/2026-Q3`
        with each part named; anything else as it is."""
        parts = [
            self.partners.get(p) or self.programs.get(p) or self.reps.get(p) or p
            for p in text.split("/")
        ]
        return " · ".join(parts) if len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class Change:
    label: str
    before: str  # "" when the field is new
    after: str


@dataclass(frozen=True)
class Readable:
    seq: int
    when: str  # 2026-12-02 03:33 UTC
    who: str
    sentence: str
    changes: list[Change]
    trace: str | None  # the page that traces the subject to its lines, when there is one


def readable(entry, names: Names) -> Readable:
    """One audit entry as a sentence and its fields."""
    before, after = _fields(entry.before), _fields(entry.after)
    currency = str(after.get("currency") or names.currencies.get((entry.entity, entry.key)) or "")
    changes = [
        Change(
            _label(key),
            _value(key, before[key], names, currency) if key in before else "",
            _value(key, after[key], names, currency) if key in after else "(removed)",
        )
        for key in [*after, *(k for k in before if k not in after)]
        if before.get(key, _UNSET) != after.get(key, _UNSET)
    ]
    who = names.people.get(entry.actor, entry.actor)
    verb = VERBS.get(entry.action, entry.action)
    return Readable(
        seq=entry.seq,
        when=f"{entry.at[:10]} {entry.at[11:16]} UTC",
        who=who,
        sentence=f"{who} {verb} {subject(entry.entity, entry.key, names)}",
        changes=changes,
        trace=_trace(entry.entity, entry.key),
    )


_UNSET = object()


def subject(entity: str, key: str, names: Names) -> str:
    """What an entry is about, by name: "settlement 12 (Acme · Volume Rebate · 2026-Q3)"."""
    about = names.subjects.get((entity, key))
    if entity == "program":
        program_id, _, version = key.partition("@")
        return f"program {names.programs.get(program_id, program_id)}, version {version[1:]}"
    if entity == "user":
        return f"user {names.people.get(key, key)}"
    if entity == "token":
        owner, _, name = key.partition("/")
        return f"API token “{name}” of {names.people.get(owner, owner)}"
    if entity in ("lines", "partners", "products", "reps", "fx", "agreements"):
        return f"{entity} file (batch {key})" if key != "*" else f"every {entity} batch"
    if entity == "records":
        return f"the records of {key.replace('_', ' ')}"
    if entity == "standings":
        return "every standing" if key in ("*", "all") else f"standings of {_partners(key, names)}"
    written = f"{entity.replace('_', ' ')} {key}"
    return f"{written} ({about})" if about else written


def _trace(entity: str, key: str) -> str | None:
    if entity == "settlement":
        return f"/why/{key}"
    if entity == "payout_batch":
        return f"/audit/payouts/{key}"
    return None


def _fields(text: str) -> dict:
    if not text:
        return {}
    found = json.loads(text)
    return found if isinstance(found, dict) else {"value": found}


def _label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " "))


def _value(key: str, value, names: Names, currency: str) -> str:
    """A field's value as words: money with its currency, ids as names, digests shortened,
    lists and mappings summed up rather than dumped."""
    if value is None or value == "":
        return "—"
    if key in MONEY and _number(value) is not None:
        return readable_money(value, currency) if currency else f"{_number(value):,f}"
    if key == "scope":
        return "every partner" if value == "all" else _partners(str(value), names)
    if key == "document" and isinstance(value, dict):
        return f"the program as written ({value.get('name', 'unnamed')})"
    if isinstance(value, list):
        return _listed(key, value, names)
    if isinstance(value, dict):
        return _mapped(value, names)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _short(value, names)


def _partners(ids: str, names: Names) -> str:
    """A comma-separated list of partner ids, as their names."""
    return ", ".join(names.of(i) for i in ids.split(", "))


def _number(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _listed(key: str, items: list, names: Names) -> str:
    """A sealed range ([first, last, digest]) as "1 to 3, sealed …"; a short list written
    out; a long one counted."""
    if not items:
        return "none"
    if _sealed_range(items):
        first, last, digest = items
        return f"{first:,} to {last:,}, sealed {_short(digest, names)}"
    if len(items) > SHOWN_ITEMS or any(isinstance(i, list | dict) for i in items):
        return f"{len(items):,} {_label(key)}"
    return ", ".join(_short(i, names) for i in items)


def _sealed_range(items: list) -> bool:
    return (
        len(items) == 3
        and all(isinstance(i, int) for i in items[:2])
        and isinstance(items[2], str)
        and bool(DIGEST.match(items[2]))
    )


def _mapped(value: dict, names: Names) -> str:
    parts = [f"{_label(k)}: {_short(v, names)}" for k, v in list(value.items())[:SHOWN_ITEMS]]
    rest = len(value) - SHOWN_ITEMS
    return "; ".join(parts) + (f"; and {rest:,} more" if rest > 0 else "")


def _short(value, names: Names) -> str:
    """A value inside a field: digests shortened, ids named, collections counted."""
    if isinstance(value, dict):
        return f"{len(value):,} entries"
    if isinstance(value, list):
        return f"{len(value):,} items"
    text = str(value)
    return f"{text[:12]}…" if DIGEST.match(text) else names.of(text)
