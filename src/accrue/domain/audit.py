"""A tamper-evident trail: each entry's hash covers its content and the previous entry's hash,
so altering, inserting or deleting any entry breaks every hash after it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

GENESIS = "0" * 64


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str  # ISO timestamp, UTC
    actor: str
    action: str
    entity: str
    key: str
    before: str  # canonical JSON, or ""
    after: str
    inputs_digest: str
    prev_hash: str
    hash: str = ""


def canonical(value) -> str:
    """JSON with sorted keys and exact decimals as strings: the same content, the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(entry: Entry) -> str:
    content = asdict(entry)
    content.pop("hash")
    return hashlib.sha256(canonical(content).encode()).hexdigest()


def sealed(entry: Entry) -> Entry:
    """The entry with its hash filled in."""
    return Entry(**{**asdict(entry), "hash": entry_hash(entry)})


@dataclass(frozen=True)
class Break:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"audit entry {self.seq}: {self.problem}"


def verify(entries: Iterable[Entry]) -> list[Break]:
    """Every entry in sequence order must follow the one before it and hash to its hash."""
    breaks: list[Break] = []
    expected_seq, prev_hash = 1, GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            breaks.append(Break(expected_seq, f"missing (the next entry is {entry.seq})"))
        if entry.prev_hash != prev_hash:
            breaks.append(Break(entry.seq, "does not follow the entry before it"))
        if entry_hash(entry) != entry.hash:
            breaks.append(Break(entry.seq, "altered: its content does not match its hash"))
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    return breaks
