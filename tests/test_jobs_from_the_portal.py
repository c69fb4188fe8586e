"""Long work the portal and the API hand to the job worker: a period close confirmed on the
portal is queued (the request returns while the worker is kept busy) and its page shows the
close's result once the worker ran it; a statement run writes every partner's PDF statement,
served to staff and to each partner only their own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from apiclient import PATIENCE, ended, line_rows, open_api
from test_portal import _csrf, signed_in

from accrue.settings import Settings
from accrue.store import jobs


@pytest.fixture
def api(tmp_path):
    """Fresh books with Q1 and Q4 sales of three partners, recalculated."""
    api = open_api(Settings(data_dir=tmp_path / "books", actor="t"))
    rows = [
        *line_rows("ACME", ["30000.00"], day="2026-02-02", prefix="A"),
        *line_rows("BOLT", ["9000.00"], day="2026-02-03", prefix="B"),
        *line_rows("CORE", ["55000.00"], day="2026-02-04", prefix="C"),
    ]
    api.ok(api.post("fin", "/api/lines", json={"name": "q1", "lines": rows}), 201)
    yield api
    api.client.__exit__(None, None, None)


def _job(api, job_id: int) -> dict:
    return api.ok(api.get("fin", f"/api/jobs/{job_id}"))


def test_a_close_from_the_portal_is_queued_at_once_and_its_page_shows_what_it_settled(api):
    finance = signed_in(api, "fin")
    csrf = _csrf(finance.get("/finance/close", params={"period": "2026-Q1"}).text)
    confirmed = {"label": "2026-Q1", "csrf": csrf}
    with ThreadPoolExecutor(1) as pool, api.client.app.state.books_lock:  # the worker waits
        answer = pool.submit(finance.post, "/finance/close", data=confirmed).result(PATIENCE)
        assert answer.status_code == 303, answer.text
        [kind, job_id] = answer.headers["location"].strip("/").split("/")
        job = jobs.get(api.books, int(job_id))  # the API waits its turn, as the worker does
        assert (kind, job.kind, job.requested_by) == ("jobs", "close", "fin")
        assert job.status in ("queued", "running") and job.done == 0
        waiting = finance.get(answer.headers["location"]).text
        assert "hx-get" in waiting and "closing 2026-Q1 queued" in waiting
    done = ended(lambda i: _job(api, i), int(job_id))
    assert done["status"] == "done", done
    assert done["result"]["summary"].startswith("closed 2026-Q1: 3 settlements")
    shown = finance.get(f"/jobs/{job_id}/view").text
    assert "hx-get" not in shown and "closed 2026-Q1: 3 settlements" in shown
    assert "3 settlement(s) written" in shown
    settled = api.ok(api.get("fin", "/api/settlements", params={"period": "2026-Q1"}))
    assert settled["total"] == 3
    again = api.post("fin", "/api/periods/2026-Q1/close", json={})
    assert again.status_code == 409, again.text  # the job closed it


def test_an_early_close_without_a_reason_is_refused_at_once_and_queues_nothing(api):
    finance = signed_in(api, "fin")
    page = finance.get("/finance").text
    refused = finance.post(
        "/finance/close", data={"label": "2026-Q4", "csrf": _csrf(page)}, follow_redirects=True
    )
    assert "unless forced with a reason" in refused.text
    assert api.ok(api.get("fin", "/api/jobs"))["total"] == 0


def test_a_statement_run_queued_through_the_api_keeps_one_pdf_per_partner_for_its_partner(api):
    partners = [
        p["id"] for p in api.ok(api.get("fin", "/api/partners", params={"limit": 500}))["items"]
    ]
    queued = api.ok(api.post("fin", "/api/jobs/statements", json={"period": "2026-Q1"}), 202)
    assert queued["kind"] == "statements" and queued["requested_by"] == "fin"
    job = ended(lambda i: _job(api, i), queued["id"])
    assert job["status"] == "done", job
    assert job["done"] == job["total"] == len(partners)
    listed = job["result"]["statements"]
    assert sorted(s["partner_id"] for s in listed) == sorted(partners)
    own = api.get("acme", f"/api/jobs/{job['id']}/statements/ACME.pdf")
    assert own.status_code == 200 and own.content.startswith(b"%PDF")
    assert api.get("acme", f"/api/jobs/{job['id']}/statements/BOLT.pdf").status_code == 404
    staff = api.get("fin", f"/api/jobs/{job['id']}/statements/BOLT.pdf")
    assert staff.status_code == 200 and staff.content.startswith(b"%PDF")
    acme = signed_in(api, "acme")
    assert acme.get(f"/jobs/{job['id']}/statements/ACME.pdf").content == own.content
    assert acme.get(f"/jobs/{job['id']}/statements/BOLT.pdf").status_code == 404
    refused = api.post("acme", "/api/jobs/statements", json={"period": "2026-Q1"})
    assert refused.status_code == 403
    unknown = api.post(
        "fin", "/api/jobs/statements", json={"period": "2026-Q1", "partners": ["NOPE"]}
    )
    assert unknown.status_code == 404


def test_the_finance_page_queues_a_statement_run_whose_page_links_each_statement(api):
    finance = signed_in(api, "fin")
    page = finance.get("/finance").text
    answer = finance.post("/finance/statements", data={"label": "2026-Q1", "csrf": _csrf(page)})
    assert answer.status_code == 303, answer.text
    job_id = int(answer.headers["location"].removeprefix("/jobs/"))
    assert ended(lambda i: _job(api, i), job_id)["status"] == "done"
    shown = finance.get(f"/jobs/{job_id}").text
    assert f'href="/jobs/{job_id}/statements/ACME.pdf"' in shown
    saved = finance.get(f"/jobs/{job_id}/statements/ACME.pdf")
    assert saved.status_code == 200 and saved.content.startswith(b"%PDF")
