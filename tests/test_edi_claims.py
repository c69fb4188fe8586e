"""E13 through the public interfaces: agreements and X12 844 claims uploaded to the API, each
line answered in an 849 that two independent X12 readers parse back to the same decisions,
the CSV answer, the ledger entries once approved; 867 resale reports in as point-of-sale
lines; malformed claims refused naming segment and element."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from apiclient import agreements_csv, csv_bytes, open_api
from conftest import BACKENDS
from test_x12 import read_with_ansi_x12, read_with_pyx12

from accrue.domain.shipdebit import ClaimLine
from accrue.ingest.claims import ClaimIn
from accrue.ingest.edi import build_844, lines_from_867
from accrue.ingest.x12 import Segment, X12Error, build
from accrue.settings import Settings

WHEN = datetime(2026, 11, 24, 9, 30)


def _with_agreement(settings):
    opened = open_api(settings)
    valve = csv_bytes(
        ("sku", "name", "category", "product_line"),
        [("VALVE-200", "Valve", "Gate valves", "Valves")],
    )
    opened.ok(opened.post("ada", "/api/master/products", files={"file": ("valve.csv", valve)}))
    spa = agreements_csv(["ACME"]).replace(b"SPA-ACME", b"SPA-1001").replace(b"V-100", b"VALVE-200")
    opened.ok(opened.post("pam", "/api/agreements", files={"file": ("spa.csv", spa)}), 201)
    return opened


@pytest.fixture
def api(books_settings):
    opened = _with_agreement(books_settings)
    yield opened
    opened.client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def refusing(tmp_path_factory):
    """One set of books for the claims that are refused (they leave nothing behind)."""
    opened = _with_agreement(Settings(data_dir=tmp_path_factory.mktemp("edi") / "b", actor="t"))
    yield opened
    opened.client.__exit__(None, None, None)


def _line(n, invoice, units, sold, customer="Acme Hospital", line="1"):
    return ClaimLine(
        n,
        "ACME",
        "SPA-1001",
        customer,
        "VALVE-200",
        invoice,
        line,
        Decimal(units),
        date.fromisoformat(sold),
        date(2026, 1, 1),
    )


def _844(number: str, claimed: str, *lines: ClaimLine, control: int = 1) -> bytes:
    claim = ClaimIn(number, "ACME", date.fromisoformat(claimed), "USD", list(lines), "test")
    return build_844(claim, "Acme Distribution", control, WHEN).encode()


def _send(api, name: str, content: bytes, who: str = "acme"):
    return api.post(who, "/api/claims", files={"file": (name, content)})


def _decisions(segments) -> list[tuple]:
    """(line, outcome, units, amount, reason) from an 849's segments, read by anyone."""
    found, line = [], None
    for tag, elements in segments:
        if tag == "PAD":
            line = {"line": int(elements[0])}
            found.append(line)
        elif tag == "AAA":
            reason = elements[2] if len(elements) > 2 else ""
            line["outcome"] = (
                "rejected" if elements[0] == "N" else "adjusted" if reason else "accepted"
            )
            line["reason"] = reason or None
        elif tag == "QTY" and line is not None:
            line["units"] = Decimal(elements[1])
        elif tag == "AMT" and line is not None:
            line["amount"] = Decimal(elements[1])
    return [(d["line"], d["outcome"], d["units"], d["amount"], d["reason"]) for d in found]


@BACKENDS
def test_e13_through_844_files_849_answers_and_the_ledger(api):
    first = _send(api, "c1.edi", _844("C-1", "2026-03-01", _line(1, "9001", "200", "2026-02-10")))
    [c1] = api.ok(first, 201)
    second = _844("C-2", "2026-03-15", _line(1, "9002", "350", "2026-03-01"), control=2)
    [c2] = api.ok(_send(api, "c2.edi", second), 201)
    later = _844(
        "C-3",
        "2026-07-10",
        _line(1, "09001", "10", "2026-02-10", line="01"),  # (c) 9001/1 again
        _line(2, "9100", "10", "2026-07-05"),  # (d) after the agreement
        _line(3, "9101", "10", "2026-03-01", customer="St. Mary's Clinic"),  # (e)
        control=3,
    )
    [c3] = api.ok(_send(api, "c3.edi", later), 201)
    [c4] = api.ok(
        _send(
            api,
            "c4.edi",
            _844("C-4", "2026-05-20", _line(1, "9102", "10", "2026-03-01"), control=4),
        ),
        201,
    )

    expected = {
        c1["id"]: [(1, "accepted", Decimal(200), Decimal("3600.00"), None)],
        c2["id"]: [(1, "adjusted", Decimal(300), Decimal("5400.00"), "QA")],
        c3["id"]: [
            (1, "rejected", 0, 0, "DU"),
            (2, "rejected", 0, 0, "EX"),
            (3, "rejected", 0, 0, "CU"),
        ],
        c4["id"]: [(1, "rejected", 0, 0, "LT")],
    }
    for claim_id, decisions in expected.items():
        edi = api.ok(api.get("acme", f"/api/claims/{claim_id}/response")).text
        assert edi.startswith("ISA*") and "ST*849*0001~" in edi
        assert _decisions(read_with_ansi_x12(edi)) == decisions
        pyx12_segments, faults = read_with_pyx12(edi)
        assert faults == [] and _decisions(pyx12_segments) == decisions
        answer = api.ok(
            api.get("acme", f"/api/claims/{claim_id}/response", params={"format": "csv"})
        )
        rows = [r.split(",") for r in answer.text.splitlines()[1:]]
        assert [(int(r[1]), r[7], r[10] or None) for r in rows] == [
            (d[0], d[1], d[4]) for d in decisions
        ]
    reasons = {
        line["reason_text"] for line in api.ok(api.get("fin", f"/api/claims/{c3['id']}"))["lines"]
    }
    assert reasons == {
        "duplicate of an earlier claim line",
        "sale outside the agreement's dates (expired or not yet valid)",
        "customer not on agreement",
    }

    # the same file again: the same claim, nothing new
    again = api.ok(
        _send(
            api, "c1-again.edi", _844("C-1", "2026-03-01", _line(1, "9001", "200", "2026-02-10"))
        ),
        201,
    )
    assert again[0]["id"] == c1["id"]
    assert api.ok(api.get("fin", "/api/claims"))["total"] == 4

    # approved by someone other than the partner who claimed: the concession is posted
    pending = api.ok(
        api.get("abe", "/api/approvals", params={"subject": "claim", "status": "pending"})
    )["items"]
    assert sorted(Decimal(p["amount"]) for p in pending) == [Decimal("3600.00"), Decimal("5400.00")]
    for request in pending:
        api.ok(api.post("abe", f"/api/approvals/{request['id']}/approve", json={}))
    balance = {
        b["account"]: b for b in api.ok(api.get("fin", "/api/ledger/trial-balance"))["items"]
    }
    assert balance["5300 Ship and debit"]["debit"] == "9000.00"
    assert balance["1200 Accounts receivable"]["credit"] == "9000.00"
    assert api.ok(api.get("aud", "/api/audit/verify"))["ok"]

    # the leakage report: what was asked and refused, by reason
    leakage = {(r["reason"]): r for r in api.ok(api.get("fin", "/api/leakage"))["items"]}
    assert leakage["QA"]["prevented"] == "900.00"  # 50 units × $18 cut from claim (b)
    assert {k: v["lines"] for k, v in leakage.items()} == {
        "QA": 1,
        "DU": 1,
        "EX": 1,
        "CU": 1,
        "LT": 1,
    }
    assert sum(Decimal(r["prevented"]) for r in leakage.values()) == Decimal("1620.00")


def test_a_claim_sent_again_answers_as_before_and_other_content_under_its_number_is_409(api):
    claim = _844("C-9", "2026-03-01", _line(1, "9001", "200", "2026-02-10"))
    [first] = api.ok(_send(api, "c9.edi", claim), 201)
    [again] = api.ok(_send(api, "c9-again.edi", claim), 201)
    assert again == first
    changed = _844("C-9", "2026-03-01", _line(1, "9001", "150", "2026-02-10"))
    refused = _send(api, "c9-changed.edi", changed)
    assert refused.status_code == 409, refused.text
    assert "claim_number: 'C-9' of ACME" in refused.json()["error"]["message"]


def _broken(body: list[Segment]) -> bytes:
    return build(
        "CF", "004010", [("844", body)], sender="ACME", receiver="ACCRUE", control=9, when=WHEN
    ).encode()


HEAD = [
    Segment("BAA", ("00", "CP", "20260301", "", "C-9")),
    Segment("N1", ("DS", "Acme", "91", "ACME")),
]
CON = [Segment("CON", ("AU", "SPA-1001", "AC")), Segment("N1", ("EN", "Acme Hospital"))]
PAD = [
    Segment("PAD", ("1", "SD")),
    Segment("LIN", ("", "VP", "VALVE-200")),
    Segment("QTY", ("39", "10", "EA")),
    Segment("REF", ("IV", "9001")),
    Segment("DTM", ("003", "20260210")),
]


@pytest.mark.parametrize(
    ("body", "element"),
    [
        (
            [*HEAD, *CON, *PAD[:3], Segment("REF", ("ZZ", "9001")), PAD[4]],
            "REF01",
        ),  # unknown qualifier
        ([*HEAD, *CON, *PAD[:4], Segment("DTM", ("003", "2026-02-10"))], "DTM02"),
        ([*HEAD, *CON, PAD[0], PAD[1], Segment("QTY", ("39", "ten", "EA")), *PAD[3:]], "QTY02"),
        ([*HEAD, *CON, PAD[0], PAD[1], Segment("QTY", ("39", "1E400", "EA")), *PAD[3:]], "QTY02"),
        ([*HEAD, *CON, PAD[0], PAD[1], Segment("QTY", ("39", "1E-400", "EA")), *PAD[3:]], "QTY02"),
        ([*HEAD, *CON, *PAD, Segment("AMT", ("CL", "NaN"))], "AMT02"),
        ([*HEAD, Segment("CUR", ("BY", "usd")), *CON, *PAD], "CUR02"),
        ([*HEAD, *CON, PAD[0], Segment("LIN", ("", "XX", "VALVE-200")), *PAD[2:]], "LIN02"),
        ([HEAD[0], Segment("N1", ("ZZ", "Acme", "91", "ACME")), *CON, *PAD], "N101"),
        ([*HEAD, CON[0], Segment("N1", ("BT", "Acme Hospital")), *PAD], "N101"),
        ([*HEAD, *PAD], "PAD01"),  # a line before its agreement
        ([*HEAD, *CON, Segment("PAD", ("1.5", "SD")), *PAD[1:]], "PAD01"),  # no line 1.5
        ([*HEAD, *CON, Segment("PAD", ("99999999999", "SD")), *PAD[1:]], "PAD01"),  # over 2^31
        ([*HEAD, *CON, *PAD[:3], PAD[4]], "PAD01"),  # no invoice
        ([Segment("BAA", ("00", "CP", "20261301", "", "C-9")), HEAD[1], *CON, *PAD], "BAA03"),
        ([*HEAD, *CON, *PAD, Segment("TD5", ("B",))], "TD501"),  # not part of a claim line
    ],
)
def test_malformed_844s_are_refused_naming_segment_and_element(refusing, body, element):
    api = refusing
    response = _send(api, "bad.edi", _broken(body))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert f"element {element}" in error["message"] and error["problems"][0]["field"] == element
    assert api.ok(api.get("fin", "/api/claims"))["total"] == 0


@pytest.mark.parametrize(
    ("quantity", "named"),
    [
        *((text, ("payload", 1, "quantity")) for text in ("1E400", "NaN", "-Infinity", "1e-40")),
        (1e300, (None, None, "lines.0.quantity")),  # a number, not text: refused by the schema
    ],
)
def test_json_claim_lines_with_an_unbounded_quantity_are_refused_naming_the_field(
    refusing, quantity, named
):
    line = {
        "claim_number": "C-J",
        "partner_id": "ACME",
        "agreement_id": "SPA-1001",
        "end_customer": "Acme Hospital",
        "sku": "VALVE-200",
        "invoice": "9001",
        "invoice_line": "1",
        "quantity": quantity,
        "sold_on": "2026-02-10",
    }
    response = refusing.post("acme", "/api/claims/lines", json={"lines": [line]})
    assert response.status_code == 422, response.text
    problems = response.json()["error"]["problems"]
    assert {(p["file"], p["line"], p["field"]) for p in problems} == {named}
    assert refusing.ok(refusing.get("fin", "/api/claims"))["total"] == 0


def test_a_claim_for_another_partner_is_refused_as_unknown(refusing):
    api = refusing
    other = ClaimIn("C-5", "BOLT", date(2026, 3, 1), "USD", [_line(1, "1", "1", "2026-02-10")], "t")
    response = _send(api, "bolt.edi", build_844(other, "Bolt", 5, WHEN).encode())
    assert response.status_code == 404 and "BOLT" in response.text


def _867(*heading: Segment, price: str = "0.125", units: str = "1") -> str:
    body = [
        Segment("BPT", ("00", "POS-1", "20260228", "PS")),
        *heading,
        Segment("N1", ("DS", "Acme Distribution", "91", "ACME")),
        Segment("PTD", ("SD",)),
        Segment("QTY", ("39", units, "EA")),
        Segment("LIN", ("1", "VP", "VALVE-200")),
        Segment("UIT", ("EA", price)),
    ]
    return build(
        "PT", "004010", [("867", body)], sender="ACME", receiver="ACCRUE", control=3, when=WHEN
    )


@pytest.mark.parametrize(
    ("heading", "price", "amount", "currency"),
    [
        ((), "0.125", "0.13", "USD"),  # half-up like all money, not half-even's 0.12
        ((), "0.625", "0.63", "USD"),
        ((Segment("CUR", ("SE", "JPY")),), "100.5", "101", "JPY"),
        ((Segment("CUR", ("BY", "KWD")),), "1.0005", "1.001", "KWD"),
        ((Segment("CUR", ("BY", "EUR")),), "62", "62.00", "EUR"),
    ],
)
def test_867_amounts_round_half_up_in_the_currency_of_its_cur_segment(
    heading, price, amount, currency
):
    [row] = lines_from_867(_867(*heading, price=price), "pos.edi")
    assert (row["amount"], row["currency"]) == (amount, currency)


@pytest.mark.parametrize(
    ("heading", "units", "element", "words"),
    [
        ((Segment("CUR", ("BY", "usd")),), "1", "CUR02", "3-letter ISO 4217"),
        (
            (Segment("CUR", ("BY", "USD")), Segment("CUR", ("SE", "EUR"))),
            "1",
            "CUR02",
            "differs from the transaction's USD",
        ),
        ((), "1E400", "QTY02", "too large"),
        ((), "Infinity", "QTY02", "not a finite number"),
    ],
)
def test_867_with_a_bad_currency_or_quantity_is_refused_naming_the_element(
    heading, units, element, words
):
    with pytest.raises(X12Error) as refused:
        lines_from_867(_867(*heading, units=units), "pos.edi")
    assert refused.value.element == element and words in str(refused.value)


@BACKENDS
def test_867_resale_reports_come_in_as_point_of_sale_lines_once(api):
    body = [
        Segment("BPT", ("00", "POS-2026-02", "20260228", "PS")),
        Segment("N1", ("DS", "Acme Distribution", "91", "ACME")),
        Segment("PTD", ("SD",)),
        Segment("REF", ("DI", "9001")),
        Segment("DTM", ("003", "20260210")),
        Segment("QTY", ("39", "200", "EA")),
        Segment("LIN", ("1", "VP", "VALVE-200")),
        Segment("UIT", ("EA", "62.00")),
        Segment("PTD", ("RP",)),
        Segment("REF", ("DI", "9001-R")),
        Segment("DTM", ("003", "20260215")),
        Segment("SII", ("VP", "VALVE-200", "5", "EA", "62.00")),
    ]
    report = build(
        "PT", "004010", [("867", body)], sender="ACME", receiver="ACCRUE", control=7, when=WHEN
    )
    sent = api.ok(
        api.post("fin", "/api/batches", files={"file": ("pos.edi", report.encode())}), 201
    )
    assert (sent["batch"]["accepted"], sent["batch"]["rejected"]) == (2, 0)
    lines = api.ok(api.get("fin", "/api/lines", params={"partner_id": "ACME", "sort": "date"}))[
        "items"
    ]
    assert [(x["kind"], x["document"], x["quantity"], x["amount"]) for x in lines] == [
        ("pos", "9001", "200", "12400.00"),
        ("return", "9001-R", "-5", "-310.00"),
    ]
    replay = api.ok(
        api.post("fin", "/api/batches", files={"file": ("pos.edi", report.encode())}), 201
    )
    assert (replay["batch"]["accepted"], replay["batch"]["duplicate"]) == (0, 2)
    # sell-through now caps what ACME may claim on invoice 9001 line 1
    [claim] = api.ok(
        _send(api, "c.edi", _844("C-7", "2026-03-01", _line(1, "9001", "250", "2026-02-10"))), 201
    )
    assert [(x["outcome"], x["approved_quantity"], x["reason"]) for x in claim["lines"]] == [
        ("adjusted", "200.000", "QS")
    ]
