"""Lists sort by what their values are: money and numbers by value, dates as dates, in a page
and in its export alike (as text, "896.12" would come before "69020.32", journal 10 before 9)."""

from __future__ import annotations

import csv
import io

import pytest
from apiclient import line_rows, open_api

from accrue.settings import Settings

BIG, SMALL = "69020.32", "896.12"  # 4% of 1,725,508.00 and 2% of 44,806.00


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    opened = open_api(Settings(data_dir=tmp_path_factory.mktemp("sorting") / "books", actor="t"))
    rows = [
        *line_rows("ACME", ["1725508.00"]),
        *line_rows("BOLT", ["44806.00"]),
        *(
            row
            for month in ("04", "07", "10")
            for partner in ("ACME", "BOLT", "CORE")
            for row in line_rows(partner, ["900.00", "10000.00"], f"2026-{month}-10", month)
        ),
    ]
    opened.ok(opened.post("fin", "/api/lines", json={"name": "year", "lines": rows}), 201)
    opened.ok(opened.post("fin", "/api/recalc", json={}))
    opened.ok(opened.post("fin", "/api/periods/2026-Q1/close", json={}))
    yield opened
    opened.client.__exit__(None, None, None)


def _page(api, path: str, sort: str, **params) -> list[dict]:
    return api.ok(api.get("fin", path, params={"sort": sort, "limit": 500, **params}))["items"]


def _exported(api, path: str, sort: str, **params) -> list[dict]:
    response = api.get("fin", path + "/export", params={"sort": sort, "format": "csv", **params})
    return list(csv.DictReader(io.StringIO(api.ok(response).text)))


@pytest.mark.parametrize("rows", [_page, _exported])
@pytest.mark.parametrize(
    ("path", "sort", "field", "params"),
    [
        ("/api/ledger/liability", "-outstanding", "outstanding", {"by": "partner_id,period"}),
        ("/api/settlements", "-payout", "payout", {"period": "2026-Q1"}),
        ("/api/standings", "-amount", "amount", {"period": "2026-Q1"}),
    ],
)
def test_money_sorts_by_value(api, rows, path, sort, field, params):
    values = [r[field] for r in rows(api, path, sort, **params) if r[field] in (BIG, SMALL)]
    assert values == [BIG, SMALL]


@pytest.mark.parametrize("rows", [_page, _exported])
def test_journal_ids_sort_as_numbers(api, rows):
    ids = [int(r["journal"]) for r in rows(api, "/api/ledger/journals", "journal")]
    assert len(set(ids)) >= 10
    assert ids == sorted(ids)
    descending = [int(r["journal"]) for r in rows(api, "/api/ledger/journals", "-journal")]
    assert descending == sorted(ids, reverse=True)


@pytest.mark.parametrize("rows", [_page, _exported])
def test_lines_sort_by_amount_date_and_document(api, rows):
    amounts = [r["amount"] for r in rows(api, "/api/lines", "-amount")]
    assert amounts[:3] == ["1725508.00", "44806.00", "10000.00"]
    dates = [r["date"] for r in rows(api, "/api/lines", "date")]
    assert dates == sorted(dates) and dates[0] < dates[-1]
    documents = [r["document"] for r in rows(api, "/api/lines", "document")]
    assert documents == sorted(documents)


@pytest.mark.parametrize("path", ["/api/lines", "/api/settlements", "/api/ledger/journals"])
def test_an_unknown_sort_key_is_refused_by_name(api, path):
    response = api.get("fin", path, params={"sort": "-nonsense"})
    assert response.status_code == 422
    assert "sort" in response.text


def test_the_list_itself_still_answers_with_a_file_for_this_release(api):
    response = api.get("fin", "/api/settlements", params={"sort": "-payout", "format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows == _exported(api, "/api/settlements", "-payout")
