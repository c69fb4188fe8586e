"""A tamper-evident trail: each entry's hash covers its content and the previous entry's hash,
so altering, inserting or deleting any entry breaks every hash after it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from accrue.domain.errors import Refused

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


@dataclass(frozen=True)
class Head:
    """The newest entry's seq and hash, exported by the operator (`seq:hash`): the chain
    cannot show that its newest entries were deleted, but a head kept elsewhere can."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        found = re.fullmatch(r"(\d+):([0-9a-fA-F]{64})", text.strip())
        if not found:
            raise Refused(f"a head is `seq:hash` (as `accrue audit head` prints), not {text!r}")
        return cls(int(found[1]), found[2].lower())


def verify(entries: Iterable[Entry], head: Head | None = None) -> list[Break]:
    """Every entry in sequence order must follow the one before it and hash to its hash, and
    the trail must still hold `head`, a head exported earlier."""
    breaks: list[Break] = []
    expected_seq, prev_hash = 1, GENESIS
    held = head is None or head == Head(0, GENESIS)
    for entry in entries:
        held = held or (entry.seq == head.seq and entry.hash == head.hash)
        if entry.seq != expected_seq:
            breaks.append(Break(expected_seq, f"missing (the next entry is {entry.seq})"))
        if entry.prev_hash != prev_hash:
            breaks.append(Break(entry.seq, "does not follow the entry before it"))
        if entry_hash(entry) != entry.hash:
            breaks.append(Break(entry.seq, "altered: its content does not match its hash"))
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    if not held:
        breaks.append(
            Break(head.seq, f"the exported head {head} is gone: newest entries deleted or replaced")
        )
    return breaks
