"""A generic ANSI X12 reader and writer that checks envelopes.

Rebate data arrives as X12 844/845/849/852/867/810 files, and no maintained Python library has
schemas for those sets. This module knows only the envelope (ISA/GS/ST ... SE/GE/IEA) and splits
segments into elements; what a set's body means is up to the caller. It is strict about broken
or truncated transmissions, because a silently dropped segment is a wrong claim amount. It also
keeps the layout, so a file can be read, checked and written back exactly.

Layout: whitespace after a segment terminator is formatting, not data. `parse` records the
whitespace after the first terminator as `Separators.suffix` and the whitespace after the last
one as `Interchange.trailing`. `serialize` writes that suffix after every terminator but the
last, so `serialize(parse(t)) == t` for any file whose whitespace is the same after each segment
(as with every file `build` writes). Whitespace before the first segment, or whitespace that
differs from segment to segment, comes back in that normalized form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from accrue.domain.errors import Refused

ENVELOPE = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA"})
ISA_LENGTH = 106  # the ISA is fixed width: 106 characters, its terminator included
_ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1)  # ISA01..ISA15; ISA16 is 1
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # not TAB, LF or CR
_BLANKS = " \t\r\n"


class X12Error(Refused):
    """An X12 text that cannot be trusted, with where to look in it.

    The message names the file, the line, the segment (its 1-based position in the file and its
    id) and the element when there is one, for example
    "claims.edi line 9: segment 9 SE, element SE01: declares 8 segments, the set has 9".
    A reader can then go straight to the problem. `segment` is the segment id (for an
    invalid id, the text found there) and `position` its 1-based place among the file's
    segments. `detail` says what is wrong; the place is put in front of it, unless the text
    passed in already begins with that place (so callers may pass either).
    """

    def __init__(
        self,
        detail: str,
        *,
        source: str = "<x12>",
        line: int | None = None,
        position: int | None = None,
        segment: str | None = None,
        element: str | None = None,
    ):
        self.source, self.line, self.position = source, line, position
        self.segment, self.element = segment, element
        where = source if line is None else f"{source} line {line}"
        if position is not None or segment is not None:
            shown = segment if segment and _SEGMENT_ID.fullmatch(segment) else repr(segment)
            where += f": segment {shown}" if position is None else f": segment {position} {shown}"
            where += f", element {element}" if element else ""
        self.detail = detail.removeprefix(f"{where}: ")
        super().__init__(f"{where}: {self.detail}")


@dataclass(frozen=True)
class Separators:
    """The four X12 delimiters, plus the whitespace the file puts after each terminator."""

    element: str = "*"
    component: str = ">"
    repetition: str | None = None  # ISA11 when it is not "U" (5010 and later)
    segment: str = "~"
    suffix: str = "\n"  # what follows each segment terminator: "", "\n" or "\r\n"


@dataclass(frozen=True)
class Segment:
    """One segment as text. Elements keep their components joined, as in the file.

    `line` is where the segment starts in its file (0 when built in code). It is left out of
    equality, because a segment's value does not depend on where it was read.
    """

    id: str
    elements: tuple[str, ...] = ()
    line: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", tuple(self.elements))  # lists welcome, stored frozen

    def get(self, n: int) -> str:
        """Element n (1-based, as in "SE01"), or "" when the segment stops before it."""
        return self.elements[n - 1] if 1 <= n <= len(self.elements) else ""

    def components(self, n: int, separator: str = ">") -> list[str]:
        """Element n split into components. Pass the file's separator:
        `segment.components(3, interchange.separators.component)`. A segment does not carry
        the separator, so segments compare equal across files with different delimiters."""
        return self.get(n).split(separator)


@dataclass(frozen=True)
class Transaction:
    """One ST ... SE transaction set; `body` is what lies strictly between ST and SE."""

    st: Segment
    body: tuple[Segment, ...]
    se: Segment

    @property
    def code(self) -> str:
        return self.st.get(1)

    @property
    def control(self) -> str:
        return self.st.get(2)


@dataclass(frozen=True)
class Group:
    """One GS ... GE functional group; gs and ge are None for bare transaction sets."""

    gs: Segment | None
    transactions: tuple[Transaction, ...]
    ge: Segment | None

    @property
    def functional_id(self) -> str:
        return self.gs.get(1) if self.gs else ""

    @property
    def version(self) -> str:
        return self.gs.get(8) if self.gs else ""


@dataclass(frozen=True)
class Interchange:
    """A whole file: ISA ... IEA, or bare transaction sets (isa and iea None, one Group)."""

    isa: Segment | None
    groups: tuple[Group, ...]
    iea: Segment | None
    separators: Separators
    trailing: str  # the text after the last segment terminator, e.g. "" or "\n"

    def transactions(self) -> list[Transaction]:
        """Every transaction set, in file order."""
        return [t for group in self.groups for t in group.transactions]

    def segments(self) -> Iterator[Segment]:
        """Every segment, in file order, envelopes included."""
        yield from [self.isa] if self.isa else []
        for group in self.groups:
            yield from [group.gs] if group.gs else []
            for t in group.transactions:
                yield from (t.st, *t.body, t.se)
            yield from [group.ge] if group.ge else []
        yield from [self.iea] if self.iea else []


def parse(text: str, source: str = "<x12>") -> Interchange:
    """Read an interchange or bare transaction sets, checking every envelope and count.

    Raises X12Error, and nothing else, for any text that is not sound X12.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() takes the file's text, not {type(text).__name__}")
    if not text.strip(_BLANKS):
        raise X12Error("the file is empty: no X12 segments", source=source)
    start = len(text) - len(text.lstrip(_BLANKS))
    if text.startswith("ISA", start):
        first, seps = _read_isa(text, start, source)
        segments, gaps = _split(text, start + ISA_LENGTH, seps, source, first)
    else:
        seps, first = Separators(), None  # bare sets: the default delimiters
        segments, gaps = _split(text, start, seps, source, None)
    seps = replace(seps, suffix=gaps[0] if len(gaps) > 1 else "")
    envelopes = _Envelopes(segments, source)
    if first is None:
        return Interchange(None, (Group(None, envelopes.bare(), None),), None, seps, gaps[-1])
    groups, iea = envelopes.interchange()
    return Interchange(segments[0], groups, iea, seps, gaps[-1])


def serialize(interchange: Interchange) -> str:
    """Write an interchange back as text, in the layout `parse` recorded."""
    seps = interchange.separators
    texts = (
        seg.id + "".join(seps.element + e for e in seg.elements) + seps.segment
        for seg in interchange.segments()
    )
    return seps.suffix.join(texts) + interchange.trailing


def build(
    functional_id: str,
    version: str,
    sets: list[tuple[str, list[Segment]]],
    *,
    sender: str,
    receiver: str,
    control: int,
    when: datetime,
    separators: Separators = Separators(),
    usage: str = "P",
) -> str:
    """Write one interchange of one functional group, with every control number and count.

    `sets` gives each transaction set's code (e.g. "849") and its segments between ST and SE.
    ST02 runs 0001, 0002, ...; GS06 is `control` and ISA13/IEA02 is `control` in 9 digits.
    A 5010 interchange puts `separators.repetition` (or "^") in ISA11; a 4010 one puts "U"
    there and has no repetition separator. Every segment, the last one included, is followed
    by `separators.suffix`. Raises X12Error for input that would not read back as written.
    """
    five = version.startswith("005")
    seps = replace(separators, repetition=(separators.repetition or "^") if five else None)
    envelope = {"ISA06": sender, "ISA08": receiver, "ISA15": usage}
    _check_build(seps, envelope | {"GS01": functional_id, "GS08": version}, control, sets)
    date, day, hour = when.strftime("%Y%m%d"), when.strftime("%y%m%d"), when.strftime("%H%M")
    parties = ("00", " " * 10, "00", " " * 10, "ZZ", f"{sender:<15}", "ZZ", f"{receiver:<15}")
    rep, icvn, number = seps.repetition or "U", "00501" if five else "00401", f"{control:09d}"
    isa = Segment("ISA", (*parties, day, hour, rep, icvn, number, "0", usage, seps.component))
    gs = Segment("GS", (functional_id, sender, receiver, date, hour, str(control), "X", version))
    transactions = tuple(
        _transaction(code, body, f"{n:04d}") for n, (code, body) in enumerate(sets, 1)
    )
    ge = Segment("GE", (str(len(transactions)), str(control)))
    iea = Segment("IEA", ("1", number))
    group = Group(gs, transactions, ge)
    text = serialize(Interchange(isa, (group,), iea, seps, seps.suffix))
    parse(text, "<build>")  # a last guard: build never writes what parse would refuse
    return text


def _transaction(code: str, body: list[Segment], control: str) -> Transaction:
    """ST, the body and an SE whose count takes in ST and SE themselves."""
    count = str(len(body) + 2)
    return Transaction(Segment("ST", (code, control)), tuple(body), Segment("SE", (count, control)))


def _check_build(seps: Separators, envelope: dict[str, str], control: int, sets) -> None:
    """Refuse, with the segment and element named, what would not read back as written."""
    if problem := _separator_problem(seps):
        raise X12Error(problem[1], source="<build>")
    if not 0 <= control <= 999_999_999:
        raise X12Error(f"control number {control} does not fit ISA13's 9 digits", source="<build>")
    if not 1 <= len(envelope["ISA06"]) <= 15 or not 1 <= len(envelope["ISA08"]) <= 15:
        raise X12Error("sender and receiver must be 1 to 15 characters", source="<build>")
    forbidden = {seps.element, seps.segment, seps.component, seps.repetition}
    for name, value in envelope.items():
        if forbidden & set(value) or _CONTROL.search(value):
            detail = f"{value!r} contains a separator or a control character"
            raise X12Error(detail, source="<build>", segment=name[:-2], element=name)
    forbidden = {seps.element, seps.segment}
    for code, body in sets:
        for position, seg in enumerate([Segment("ST", (code,)), *body], 1):
            where = {"source": "<build>", "position": position, "segment": seg.id}
            if not _SEGMENT_ID.fullmatch(seg.id) or (position > 1 and seg.id in ENVELOPE):
                raise X12Error("not a body segment id: 2-3 capitals or digits", **where)
            for n, value in enumerate(seg.elements, 1):
                if forbidden & set(value) or _CONTROL.search(value):
                    bad = "contains a separator or a control character"
                    raise X12Error(f"{value!r} {bad}", element=f"{seg.id}{n:02d}", **where)


def _separator_problem(seps: Separators) -> tuple[str | None, str] | None:
    """What is wrong with a set of delimiters, and which ISA element holds the bad one."""
    named = [
        ("element separator", seps.element, None),
        ("component separator", seps.component, "ISA16"),
        ("segment terminator", seps.segment, None),
        ("repetition separator", seps.repetition, "ISA11"),
    ]
    seen: dict[str, str] = {}
    for name, char, element in named:
        if char is None:
            continue
        newline_ok = name == "segment terminator"
        if len(char) != 1 or char.isalnum() or char in " \t" or (char in "\r\n" and not newline_ok):
            return element, f"the {name} {char!r} must be one character, not a letter or space"
        if char in seen:
            return element, f"the {name} {char!r} is also the {seen[char]}"
        seen[char] = name
    if not set(seps.suffix) <= set(_BLANKS) - {seps.segment, seps.element}:
        return None, f"the suffix {seps.suffix!r} must be whitespace, and not the terminator"
    return None


def _read_isa(text: str, start: int, source: str) -> tuple[Segment, Separators]:
    """Check the fixed-width ISA and take the delimiters from it.

    The ISA is the only place that says how the rest of the file is split, so a wrong width
    means every later segment would be misread. Hence the exact check of every field.
    """
    line = 1 + text.count("\n", 0, start)
    where = {"source": source, "line": line, "position": 1, "segment": "ISA"}
    sep = text[start + 3 : start + 4]
    if not sep:
        raise X12Error("the file ends inside the ISA", element="ISA01", **where)
    fields = text[start + 4 : start + ISA_LENGTH + 1].split(sep, 15)
    for k, width in enumerate(_ISA_WIDTHS):
        name = f"ISA{k + 1:02d}"
        if k + 1 >= len(fields):
            raise X12Error(f"the ISA is cut short in {name}", element=name, **where)
        if len(fields[k]) != width:
            fixed = f"the ISA is fixed width, {ISA_LENGTH} characters with {sep!r} between fields"
            size = f"{name} is {len(fields[k])} characters, must be {width}"
            raise X12Error(f"{size}: {fixed}", element=name, **where)
    if len(fields[15]) < 2:
        raise X12Error("no component separator and terminator", element="ISA16", **where)
    repetition = fields[10] if fields[10] != "U" else None
    seps = Separators(sep, fields[15][0], repetition, fields[15][1], suffix="")
    if problem := _separator_problem(seps):
        raise X12Error(problem[1], element=problem[0], **where)
    for k, value in enumerate(fields[:15], 1):
        if seps.segment in value:
            detail = f"holds the segment terminator {seps.segment!r}: separators inconsistent"
            raise X12Error(detail, element=f"ISA{k:02d}", **where)
    return _segment(text[start : start + ISA_LENGTH - 1], seps, line, 1, source), seps


def _split(
    text: str, start: int, seps: Separators, source: str, first: Segment | None
) -> tuple[list[Segment], list[str]]:
    """Cut the text into segments from `start` on, after `first` (the ISA) when there is one.

    Also returns the whitespace found after each segment's terminator, to keep the layout.
    """
    blank = "".join(c for c in _BLANKS if c not in (seps.segment, seps.element))
    gap = re.compile(f"[{re.escape(blank)}]*")
    segments, gaps = ([first], []) if first else ([], [])
    pos, line, counted = start, 1, 0
    while True:
        after = gap.match(text, pos).end()
        if segments:
            gaps.append(text[pos:after])
        if after == len(text):
            return segments, gaps
        line, counted = line + text.count("\n", counted, after), after
        end = text.find(seps.segment, after)
        if end < 0:
            never = len(segments) == (1 if first else 0)
            _unterminated(text[after:], seps, line, len(segments) + 1, source, never)
        segments.append(_segment(text[after:end], seps, line, len(segments) + 1, source))
        pos = end + 1


def _unterminated(rest: str, seps: Separators, line: int, position: int, source: str, never: bool):
    """Text after the last terminator that is not whitespace: a cut file or a wrong terminator."""
    found = rest.split(seps.element, 1)[0][:12]
    if never:
        detail = f"the segment terminator {seps.segment!r} never appears"
        detail += " after the ISA" if position > 1 else ""
    else:
        detail = f"no segment terminator {seps.segment!r} after this segment: file truncated?"
    raise X12Error(detail, source=source, line=line, position=position, segment=found)


def _segment(raw: str, seps: Separators, line: int, position: int, source: str) -> Segment:
    """One segment from its text, refusing binary data and ids that are not X12 ids."""
    parts = raw.split(seps.element)
    where = {"source": source, "line": line, "position": position, "segment": parts[0][:12]}
    allowed = {seps.component, seps.repetition}
    for n, part in enumerate(parts):
        bad = [c for c in _CONTROL.findall(part) if c not in allowed]
        if bad:
            element = f"{parts[0]}{n:02d}" if n else None
            raise X12Error(f"control character {bad[0]!r}: binary data?", element=element, **where)
    if not _SEGMENT_ID.fullmatch(parts[0]):
        detail = "not a segment id (2-3 capitals or digits, starting with a letter)"
        raise X12Error(f"{detail}; wrong separators?", **where)
    return Segment(parts[0], tuple(parts[1:]), line)


def _count(text: str) -> int | None:
    """A count element as a number; None for anything else (and for absurdly long digits)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


class _Envelopes:
    """Groups the flat segment list into envelopes, checking each trailer against its header."""

    def __init__(self, segments: list[Segment], source: str):
        self.segs, self.source = segments, source

    def fail(self, i: int, detail: str, element: str | None = None) -> X12Error:
        seg = self.segs[i]
        where = {"source": self.source, "line": seg.line, "position": i + 1, "segment": seg.id}
        return X12Error(detail, element=element, **where)

    def counts(self, i: int, n: int, actual: int, noun: str, owner: str) -> None:
        """Trailer element n must declare `actual` things: "declares 8 segments, the set has 9"."""
        declared = self.segs[i].get(n)
        if _count(declared) != actual:
            shown = declared if _count(declared) is not None else repr(declared)
            detail = f"declares {shown} {noun}, {owner} has {actual}"
            raise self.fail(i, detail, f"{self.segs[i].id}{n:02d}")

    def matches(self, i: int, n: int, header: int, m: int) -> None:
        """Trailer element n must repeat the header's control number (its element m)."""
        value, expected = self.segs[i].get(n), self.segs[header].get(m)
        if value != expected:
            name, other = f"{self.segs[i].id}{n:02d}", f"{self.segs[header].id}{m:02d}"
            raise self.fail(i, f"{value!r} does not match {other} {expected!r}", name)

    def interchange(self) -> tuple[tuple[Group, ...], Segment]:
        """GS groups after the ISA, then the IEA, and nothing after it."""
        groups, i = [], 1
        while i < len(self.segs) and self.segs[i].id == "GS":
            group, i = self.group(i)
            groups.append(group)
        if i == len(self.segs):
            raise self.fail(0, "the interchange has no IEA: the file is truncated")
        if self.segs[i].id != "IEA":
            raise self.fail(i, f"{self.segs[i].id} outside a functional group: expected GS or IEA")
        self.counts(i, 1, len(groups), "functional groups", "the interchange")
        self.matches(i, 2, 0, 13)
        if i + 1 < len(self.segs):
            raise self.fail(i + 1, "data after the IEA, which ends the interchange")
        return tuple(groups), self.segs[i]

    def group(self, start: int) -> tuple[Group, int]:
        """ST sets after a GS, then its GE."""
        sets, i = [], start + 1
        while i < len(self.segs) and self.segs[i].id == "ST":
            transaction, i = self.transaction(i)
            sets.append(transaction)
        if i == len(self.segs):
            raise self.fail(start, "the functional group has no GE: the file is truncated")
        if self.segs[i].id != "GE":
            raise self.fail(i, f"{self.segs[i].id} outside a transaction set: expected ST or GE")
        self.counts(i, 1, len(sets), "transaction sets", "the group")
        self.matches(i, 2, start, 6)
        return Group(self.segs[start], tuple(sets), self.segs[i]), i + 1

    def transaction(self, start: int) -> tuple[Transaction, int]:
        """Body segments after an ST up to its SE; any other envelope segment first is an error."""
        i = start + 1
        while i < len(self.segs) and self.segs[i].id not in ENVELOPE:
            i += 1
        if i == len(self.segs):
            raise self.fail(start, "the transaction set has no SE: the file is truncated")
        if self.segs[i].id != "SE":
            detail = f"{self.segs[i].id} inside the transaction set begun at segment {start + 1}"
            raise self.fail(i, f"{detail}, before its SE")
        self.counts(i, 1, i - start + 1, "segments", "the set")
        self.matches(i, 2, start, 2)
        body = tuple(self.segs[start + 1 : i])
        return Transaction(self.segs[start], body, self.segs[i]), i + 1

    def bare(self) -> tuple[Transaction, ...]:
        """Transaction sets with no ISA or GS around them: only ST ... SE, repeated."""
        sets, i = [], 0
        while i < len(self.segs):
            seg = self.segs[i]
            if seg.id != "ST":
                where = {"ISA": "not at the start of the file", "GS": "without an ISA"}
                detail = where.get(seg.id, "outside a transaction set: expected ST")
                raise self.fail(i, f"{seg.id} {detail}")
            transaction, i = self.transaction(i)
            sets.append(transaction)
        return tuple(sets)
