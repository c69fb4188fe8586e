"""The X12 reader/writer: shared samples, envelope errors, two independent readers, properties.

ansi-x12 (`x12`) and pyx12 are used only here, as cross-checks written by other people: they
must see the same segments as `accrue.ingest.x12` and find the same envelope faults.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
import x12 as ansi_x12
from hypothesis import given, settings
from hypothesis import strategies as st
from pyx12.errors import X12Error as Pyx12Error
from pyx12.x12file import X12Reader

from accrue.ingest.x12 import (
    Interchange,
    Segment,
    Separators,
    X12Error,
    build,
    parse,
    serialize,
)

# copied from ../shared/edi/samples with their PROVENANCE.md (MIT/Apache-2.0 fixtures)
SAMPLES = Path(__file__).parent / "data" / "edi"
VALID = sorted((SAMPLES / "valid").glob("*.edi"))
SE_WRONG = sorted((SAMPLES / "se-count-wrong").glob("*.edi"))


def is_interchange(path: Path) -> bool:
    return path.read_text().startswith("ISA")


ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
    "*200101*1200*U*00501*000000001*0*P*>~\n"
)
GOOD = (
    ISA + "GS*IN*SENDER*RECEIVER*20200101*1200*1*X*005010~\n"
    "ST*810*0001~\nBIG*20200101*INV123~\nN1*ST*BUYER~\nSE*4*0001~\n"
    "GE*1*1~\nIEA*1*000000001~\n"
)
BARE = "ST*852*0001~\nXQ*F*20200101~\nSE*3*0001~\n"
WHEN = datetime(2026, 11, 24, 9, 30)


def claim_sets() -> list[tuple[str, list[Segment]]]:
    """Two 844-shaped claims, the second longer, with a composite (UIT01) in it."""
    first = [Segment("BAA", ("00", "SD", "20261124", "CT", "CLAIM1"))]
    first += [Segment("CON", ("AU", "AUTH-77", "AC")), Segment("PAD", ("1", "SD"))]
    second = [*first, Segment("UIT", ("EA>CS", "12.50")), Segment("QTY", ("39", "100"))]
    return [("844", first), ("844", [*second, Segment("CTT", ("2",))])]


def built(version: str = "005010", **overrides) -> str:
    options = {"sender": "ACCRUE", "receiver": "DISTY", "control": 1234, "when": WHEN}
    return build("CF", version, claim_sets(), **(options | overrides))


def ours(text: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(s.id, s.elements) for s in parse(text).segments()]


def read_with_ansi_x12(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """ansi-x12 tokenizes bytes and raises X12EnvelopeError on any envelope fault."""
    document = ansi_x12.tokenize_x12(text.encode("ascii"))
    ansi_x12.parse_x12_interchange(document)
    return [(s.tag, tuple(e.decode("ascii") for e in s.elements)) for s in document.segments]


def read_with_pyx12(text: str) -> tuple[list[tuple[str, tuple[str, ...]]], list[str]]:
    """pyx12 yields segments and lists envelope faults (ISA/GS/ST level) instead of raising."""
    reader = X12Reader(io.StringIO(text))
    segments, faults = [], []
    for seg in reader:
        values = tuple(seg.get_value(f"{n:02d}") for n in range(1, len(seg) + 1))
        segments.append((seg.get_seg_id(), values))
        faults += reader.pop_errors()
    reader.cleanup()
    faults += reader.pop_errors()
    return segments, [f"{kind} {code}: {text}" for kind, code, text, *_ in faults if kind != "seg"]


# --- the shared samples -------------------------------------------------------------------


def test_the_shared_samples_are_there():
    assert len(VALID) == 5 and len(SE_WRONG) == 5, f"expected 5 + 5 samples in {SAMPLES}"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_samples_parse_and_round_trip(path: Path):
    text = path.read_text()
    interchange = parse(text, path.name)
    assert serialize(interchange) == text
    for transaction in interchange.transactions():
        assert int(transaction.se.get(1)) == len(transaction.body) + 2
        assert transaction.code == path.stem.split("_")[2]
    assert (interchange.isa is None) == (not is_interchange(path))


@pytest.mark.parametrize("path", SE_WRONG, ids=lambda p: p.stem)
def test_samples_with_a_wrong_segment_count_are_rejected(path: Path):
    with pytest.raises(X12Error) as caught:
        parse(path.read_text(), path.name)
    error = caught.value
    assert "SE" in str(error) and "SE01" in str(error)
    assert (error.segment, error.element, error.source) == ("SE", "SE01", path.name)
    assert "declares" in error.detail


def test_the_message_names_file_line_segment_and_element():
    text = "ST*810*0001~\nBIG*20200101*INV123~\nN1*ST*BUYER~\nSE*2*0001~\n"
    with pytest.raises(X12Error) as caught:
        parse(text, "claims.edi")
    assert str(caught.value) == (
        "claims.edi line 4: segment 4 SE, element SE01: declares 2 segments, the set has 4"
    )
    assert (caught.value.line, caught.value.position) == (4, 4)


def test_a_message_that_already_names_its_place_is_not_prefixed_twice():
    place = {"source": "c.edi", "line": 3, "segment": "PAD", "element": "PAD02"}
    plain, full = (
        X12Error("no such type", **place),
        X12Error("c.edi line 3: segment PAD, element PAD02: no such type", **place),
    )
    assert str(plain) == str(full) == "c.edi line 3: segment PAD, element PAD02: no such type"
    assert plain.detail == full.detail == "no such type"


# --- malformed files ------------------------------------------------------------------------


def replaced(old: str, new: str, text: str = GOOD) -> str:
    assert old in text
    return text.replace(old, new, 1)


MALFORMED = {
    # name: (text, segment id named, element named)
    "ISA one character short": (replaced("SENDER         ", "SENDER        "), "ISA", "ISA06"),
    "ISA cut off": (ISA[:60], "ISA", "ISA08"),
    "IEA control differs from ISA13": (
        replaced("IEA*1*000000001", "IEA*1*000000002"),
        "IEA",
        "IEA02",
    ),
    "IEA counts 2 groups": (replaced("IEA*1*", "IEA*2*"), "IEA", "IEA01"),
    "GE counts 2 sets": (replaced("GE*1*1", "GE*2*1"), "GE", "GE01"),
    "GE control differs from GS06": (replaced("GE*1*1", "GE*1*7"), "GE", "GE02"),
    "SE control differs from ST02": (replaced("SE*4*0001", "SE*4*0002"), "SE", "SE02"),
    "SE count too low": (replaced("SE*4*", "SE*3*"), "SE", "SE01"),
    "SE count too high": (replaced("SE*4*", "SE*5*"), "SE", "SE01"),
    "SE count not a number": (replaced("SE*4*", "SE*four*"), "SE", "SE01"),
    "truncated: no SE": (BARE.replace("SE*3*0001~\n", ""), "ST", None),
    "truncated: SE missing before GE": (replaced("SE*4*0001~\n", ""), "GE", None),
    "truncated: no GE": (GOOD.split("GE*")[0], "GS", None),
    "truncated: no IEA": (GOOD.split("IEA*")[0], "ISA", None),
    "truncated inside the last segment": (GOOD[:-2], "IEA", None),
    "data after IEA": (GOOD + "N1*ST*LATE~\n", "N1", None),
    "ST outside GS": (
        replaced("GS*IN*SENDER*RECEIVER*20200101*1200*1*X*005010~\n", ""),
        "ST",
        None,
    ),
    "GS without ISA": ("GS*IN*S*R*20200101*1200*1*X*005010~\n" + BARE, "GS", None),
    "segment outside ST in bare sets": (BARE + "N1*ST*STRAY~\n", "N1", None),
    "nested ST": (replaced("N1*ST*BUYER~\n", "ST*810*0002~\n"), "ST", None),
    "segment id starting with a digit": (replaced("BIG*", "1BG*"), "1BG", None),
    "segment id in lower case": (replaced("BIG*", "big*"), "big", None),
    "segment id too long": (replaced("BIG*", "BIGG*"), "BIGG", None),
    "wrong element separator inside the ISA": (
        replaced("*ZZ*SENDER", "|ZZ*SENDER"),
        "ISA",
        "ISA04",
    ),
    "wrong element separator in GS": (replaced("GS*IN*", "GS|IN|"), "GS|IN|SENDER", None),
    "component separator = element separator": (replaced("*P*>~", "*P**~"), "ISA", "ISA16"),
    "repetition separator = component separator": (
        replaced("*P*>~", "*P*^~", replaced("*U*00501", "*^*00501")),
        "ISA",
        "ISA11",
    ),
    "terminator never appears": (BARE.replace("~", ""), "ST", None),
    "binary byte in data": (replaced("BIG*20200101", "BIG*2020\x000101"), "BIG", "BIG01"),
    "binary byte in bare data": (BARE.replace("XQ*F*", "XQ*F\x1b*"), "XQ", "XQ01"),
}


@pytest.mark.parametrize(("text", "segment", "element"), MALFORMED.values(), ids=MALFORMED)
def test_malformed_files_are_rejected_naming_segment_and_element(text, segment, element):
    with pytest.raises(X12Error) as caught:
        parse(text, "bad.edi")
    error = caught.value
    assert (error.segment, error.element) == (segment, element)
    assert error.position is not None and error.line is not None
    assert str(error).startswith(f"bad.edi line {error.line}: segment {error.position} ")
    assert element is None or f"element {element}:" in str(error)


@pytest.mark.parametrize("text", ["", "\n", " \r\n\t"], ids=["empty", "newline", "blanks"])
def test_an_empty_file_is_rejected(text):
    with pytest.raises(X12Error, match="empty") as caught:
        parse(text, "empty.edi")
    assert (caught.value.segment, caught.value.element, caught.value.line) == (None, None, None)


def test_line_numbers_follow_the_file_not_the_segment_count():
    text = "\n\nST*852*0001~\n\nXQ*F*20200101~SE*2*0001~\n"
    with pytest.raises(X12Error) as caught:
        parse(text)
    assert (caught.value.line, caught.value.position) == (5, 3)


# --- the model ------------------------------------------------------------------------------


def test_the_model_exposes_envelopes_and_elements():
    interchange = parse(GOOD)
    assert interchange.isa.get(13) == "000000001" and interchange.iea.get(1) == "1"
    (group,) = interchange.groups
    assert (group.functional_id, group.version) == ("IN", "005010")
    (invoice,) = interchange.transactions()
    assert (invoice.code, invoice.control, invoice.st.line, invoice.se.line) == (
        "810",
        "0001",
        3,
        6,
    )
    assert [s.id for s in invoice.body] == ["BIG", "N1"]
    assert invoice.body[0].get(2) == "INV123" and invoice.body[0].get(3) == ""
    assert interchange.separators == Separators("*", ">", None, "~", "\n")
    assert interchange.trailing == "\n"


def test_bare_sets_have_no_envelope_and_default_separators():
    interchange = parse(BARE + BARE.replace("0001", "0002"))
    assert (interchange.isa, interchange.iea) == (None, None)
    (group,) = interchange.groups
    assert (group.gs, group.ge, group.functional_id, group.version) == (None, None, "", "")
    assert [t.control for t in interchange.transactions()] == ["0001", "0002"]
    assert interchange.separators == Separators()


def test_components_split_on_the_separator_the_caller_passes():
    interchange = parse(built())
    uit = next(s for s in interchange.segments() if s.id == "UIT")
    assert uit.get(1) == "EA>CS"
    assert uit.components(1, interchange.separators.component) == ["EA", "CS"]
    assert uit.components(2) == ["12.50"] and uit.components(9) == [""]


def test_segments_compare_by_value_not_by_line():
    assert Segment("N1", ["ST", "X"], line=7) == Segment("N1", ("ST", "X"))


def test_crlf_and_unterminated_last_line_layouts_round_trip():
    for text in (GOOD.replace("\n", "\r\n"), GOOD.rstrip("\n"), GOOD.replace("\n", "")):
        assert serialize(parse(text)) == text


def test_irregular_whitespace_is_normalized_to_the_first_suffix():
    text = BARE.replace("SE*", "\r\n  SE*")
    interchange = parse(text)
    assert serialize(interchange) == BARE
    assert [s.line for s in interchange.segments()] == [1, 2, 4]


# --- build ----------------------------------------------------------------------------------


def test_build_writes_fixed_width_envelopes_with_right_counts():
    text = built()
    lines = text.splitlines()
    assert len(lines[0]) == 106 and lines[0].endswith("*^*00501*000001234*0*P*>~")
    assert lines[0][:69] == "ISA*00*          *00*          *ZZ*ACCRUE         *ZZ*DISTY          "
    assert lines[0][69:81] == "*261124*0930"
    assert lines[1] == "GS*CF*ACCRUE*DISTY*20261124*0930*1234*X*005010~"
    interchange = parse(text, "built.edi")
    assert serialize(interchange) == text and text.endswith("~\n")
    first, second = interchange.transactions()
    assert [(t.control, t.se.get(1), t.se.get(2)) for t in (first, second)] == [
        ("0001", "5", "0001"),
        ("0002", "8", "0002"),
    ]
    assert [t.body for t in (first, second)] == [tuple(b) for _, b in claim_sets()]
    (group,) = interchange.groups
    assert (group.ge.get(1), group.ge.get(2)) == ("2", "1234")
    assert (interchange.iea.get(1), interchange.iea.get(2)) == ("1", "000001234")
    assert interchange.separators.repetition == "^"


def test_build_4010_marks_isa11_u_and_has_no_repetition_separator():
    text = built("004010", control=7, usage="T")
    assert text.splitlines()[0].endswith("*U*00401*000000007*0*T*>~")
    assert parse(text).separators.repetition is None


def test_build_with_other_separators():
    seps = Separators(element="|", component=":", repetition="!", segment="'", suffix="\r\n")
    text = built(separators=seps)
    assert text.splitlines()[0].endswith("|!|00501|000001234|0|P|:'")
    assert parse(text).separators == seps
    assert serialize(parse(text)) == text


@pytest.mark.parametrize(
    ("sets", "segment", "element"),
    [
        ([("844", [Segment("REF", ("DI", "A~B"))])], "REF", "REF02"),
        ([("844", [Segment("REF", ("DI*X",))])], "REF", "REF01"),
        ([("844", [Segment("SE", ("1", "0001"))])], "SE", None),
        ([("844", [Segment("ref", ("DI",))])], "ref", None),
        ([("84*4", [])], "ST", "ST01"),
    ],
    ids=["terminator", "element separator", "envelope segment", "lower-case id", "ST01"],
)
def test_build_refuses_text_that_would_not_read_back(sets, segment, element):
    options = {"sender": "A", "receiver": "B", "control": 1, "when": WHEN}
    with pytest.raises(X12Error) as caught:
        build("CF", "004010", sets, **options)
    assert (caught.value.segment, caught.value.element) == (segment, element)


@pytest.mark.parametrize(
    ("overrides", "element"),
    [({"sender": "A*B"}, "ISA06"), ({"usage": "~"}, "ISA15"), ({"version": "00>5010"}, "GS08")],
)
def test_build_refuses_separators_in_envelope_values(overrides, element):
    options = {"sender": "A", "receiver": "B", "control": 1, "when": WHEN, "version": "005010"}
    options |= overrides
    with pytest.raises(X12Error) as caught:
        build("CF", options.pop("version"), claim_sets(), **options)
    assert (caught.value.segment, caught.value.element) == (element[:-2], element)
    assert str(caught.value).startswith(f"<build>: segment {element[:-2]}, element {element}: ")


@pytest.mark.parametrize(
    "overrides",
    [
        {"sender": "S" * 16},
        {"receiver": ""},
        {"control": 10**9},
        {"usage": "PT"},
        {"separators": Separators(component="*")},
        {"separators": Separators(segment="\n", suffix="\n")},
    ],
    ids=["long sender", "no receiver", "control", "usage", "separators", "suffix"],
)
def test_build_refuses_bad_envelope_values(overrides):
    with pytest.raises(X12Error):
        built(**overrides)


# --- the independent readers ----------------------------------------------------------------
# Where they differ from this module (seen with ansi-x12 0.2.0 and pyx12 4.0.0; not pinned in
# tests, as their behaviour is not ours to keep):
# - both take ISA11 "U" in a 00501 ISA as the repetition separator; here "U" means none;
# - neither flags control characters in data; ansi-x12 accepts any alphanumeric segment id
#   ("1BG", "big", "BIGG"), which pyx12 lists only as segment-level remarks;
# - pyx12 accepts data after the IEA and a repetition separator equal to ISA16, and raises a
#   bare IndexError on an ST outside any GS or on a GS written with another element separator;
# - pyx12 drops trailing empty components ("EA>X>" reads as "EA>X").

FULL_VALID = [p for p in VALID if is_interchange(p)]
FULL_SE_WRONG = [p for p in SE_WRONG if is_interchange(p)]


def test_there_are_interchanges_to_cross_check():
    assert len(FULL_VALID) == 2 and len(FULL_SE_WRONG) == 3


@pytest.mark.parametrize(
    "text",
    [*(p.read_text() for p in FULL_VALID), built(), built("004010"), GOOD],
    ids=[*(p.stem for p in FULL_VALID), "built 5010", "built 4010", "GOOD"],
)
def test_both_readers_see_what_we_see(text):
    segments = ours(text)
    assert read_with_ansi_x12(text) == segments
    pyx12_segments, faults = read_with_pyx12(text)
    assert faults == []
    assert pyx12_segments == segments


@pytest.mark.parametrize("path", FULL_SE_WRONG, ids=lambda p: p.stem)
def test_both_readers_reject_the_wrong_segment_counts(path: Path):
    text = path.read_text()
    with pytest.raises(ansi_x12.X12EnvelopeError, match="SE01"):
        read_with_ansi_x12(text)
    _, faults = read_with_pyx12(text)
    assert len(faults) == 1 and faults[0].startswith("st 4: SE count of")


@pytest.mark.parametrize(
    "path", [p for p in SE_WRONG if not is_interchange(p)], ids=lambda p: p.stem
)
def test_neither_reader_can_read_bare_sets(path: Path):
    text = path.read_text()
    with pytest.raises(ansi_x12.X12EnvelopeError, match="ISA"):
        read_with_ansi_x12(text)
    with pytest.raises(Pyx12Error, match="ISA"):
        read_with_pyx12(text)


ENVELOPE_FAULTS = [
    name for name in MALFORMED if name.startswith(("IEA", "GE", "SE count too", "SE control"))
]


@pytest.mark.parametrize("name", ENVELOPE_FAULTS)
def test_both_readers_also_reject_count_and_control_faults(name):
    text = MALFORMED[name][0]
    with pytest.raises(ansi_x12.X12EnvelopeError, match=MALFORMED[name][2]):
        read_with_ansi_x12(text)
    assert read_with_pyx12(text)[1] != []


# --- properties -----------------------------------------------------------------------------

X12_ALPHABET = "ISAGETN0123456789*~>:^|\n\r \x00"


def parse_or_refuse(text: str) -> Interchange | None:
    """The contract: a value or an X12Error, never another exception."""
    try:
        interchange = parse(text, "fuzz.edi")
    except X12Error as error:
        assert str(error).startswith("fuzz.edi")
        return None
    again = parse(serialize(interchange))  # what parse accepts, serialize writes back readably
    assert list(again.segments()) == list(interchange.segments())
    return interchange


@given(st.text())
def test_parse_never_raises_anything_else_on_any_text(text):
    parse_or_refuse(text)


@given(st.text(alphabet=X12_ALPHABET, max_size=200))
def test_parse_never_raises_anything_else_on_x12_like_text(text):
    parse_or_refuse(text)


SEEDS = [GOOD, BARE, built(), *(p.read_text() for p in VALID + SE_WRONG)]


@st.composite
def mutated(draw) -> str:
    """A sample with a few characters deleted, duplicated or changed."""
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "change"]))
        new = draw(st.sampled_from(X12_ALPHABET + "\x7f\x85é")) if kind == "change" else ""
        text = {
            "delete": text[:at] + text[at + 1 :],
            "duplicate": text[: at + 1] + text[at:],
            "change": text[:at] + new + text[at + 1 :],
        }[kind]
    return text


@settings(max_examples=300)
@given(mutated())
def test_parse_never_raises_anything_else_on_mutated_samples(text):
    parse_or_refuse(text)


SAFE = st.text(alphabet="ABCXYZ0189 .-/", max_size=8)
BODY_IDS = st.from_regex(r"[A-Z][A-Z0-9]{1,2}", fullmatch=True).filter(
    lambda s: s not in {"ISA", "GS", "ST", "SE", "GE", "IEA"}
)
SEGMENTS = st.builds(Segment, BODY_IDS, st.lists(SAFE, max_size=5).map(tuple))
SETS = st.lists(st.tuples(st.sampled_from(["844", "849", "867"]), st.lists(SEGMENTS)), min_size=1)
SEPARATORS = st.sampled_from(
    [
        Separators(),
        Separators(suffix=""),
        Separators("|", ":", "!", "'", "\r\n"),
        Separators("*", ":", None, "\n", ""),
    ]
)


@settings(max_examples=60)
@given(
    SETS,
    SEPARATORS,
    st.sampled_from(["004010", "005010"]),
    st.integers(0, 999_999_999),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
)
def test_built_interchanges_round_trip_and_readers_agree(sets, separators, version, control, when):
    envelope = {"sender": "S", "receiver": "R", "control": control, "when": when}
    text = build("CF", version, sets, separators=separators, **envelope)
    interchange = parse(text)
    assert serialize(interchange) == text
    assert [(t.code, t.body) for t in interchange.transactions()] == [
        (code, tuple(body)) for code, body in sets
    ]
    assert read_with_ansi_x12(text) == ours(text)
    pyx12_segments, faults = read_with_pyx12(text)
    assert (pyx12_segments, faults) == (ours(text), [])
