"""What the books accept as an identifier (a partner id, SKU, rep id, document, claim or
agreement number): at most MAX_LENGTH characters and no control characters. A NUL byte or an
id of ten thousand characters is a broken export, not an id, and PostgreSQL would refuse to
store either; they are refused at the door, naming the file, line and field."""

from __future__ import annotations

import re

from accrue.domain.errors import Refused

MAX_LENGTH = 64
MAX_RECORD_ID = 2**31 - 1  # record ids and claim line numbers: 32-bit integers on every backend
CONTROL = r"[\x00-\x1f\x7f]"  # NUL and the other control characters (Python re and RE2 alike)
_CONTROL = re.compile(CONTROL)


def identifier_problem(value: str, longest: int = MAX_LENGTH) -> str | None:
    """Why `value` cannot be an identifier, or None when it can."""
    if len(value) > longest:
        return f"at most {longest} characters, not {len(value)}"
    if _CONTROL.search(value):
        return "must not contain control characters such as NUL"
    return None


def check_identifier(field: str, value: str, longest: int = MAX_LENGTH) -> None:
    """Refused, naming `field`, unless `value` can be an identifier (or a one-line name)."""
    if problem := identifier_problem(value, longest):
        raise Refused(f"{field}: {problem}")


def check_text(field: str, value: str) -> None:
    """Refused, naming `field`, when a free text (a name, a reason) holds a NUL byte: no text
    a person means has one, and PostgreSQL cannot store it."""
    if "\x00" in value:
        raise Refused(f"{field}: must not contain a NUL byte")


def record_id(text: str) -> int | None:
    """`text` as a record's id (ASCII digits, 1 to MAX_RECORD_ID), or None when no record can have
    it: "²" passes `isdigit()` but not `int()`, and a 20-digit number overflows the
    database's keys, so neither may reach a query."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_RECORD_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_RECORD_ID else None
