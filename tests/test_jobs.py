"""Background jobs: queued through the API and run by the server's worker, with progress
written as they go, visible in the API and the portal (the row polls itself until it ends);
run on the command line with a progress bar; a job left running by a process that died is
queued again on restart (once), then failed with why; and on PostgreSQL two workers never
claim the same job."""

from __future__ import annotations

import threading
import time

import pytest
from apiclient import NOW, PATIENCE, PROGRAM, ended, line_rows, lines_csv, open_api
from bookkeeping import add_program, lines_file, sale, with_master
from conftest import BACKENDS
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_portal import ANALYSIS_JOB, _csrf, analysed, polled, signed_in
from typer.testing import CliRunner

from accrue.api import create_app
from accrue.app.jobs import run_next, start
from accrue.cli import app as cli
from accrue.settings import Settings
from accrue.store import jobs
from accrue.store.books import Books
from accrue.store.tables import JobRow


def test_a_job_queued_through_the_api_runs_on_the_server_and_shows_in_the_portal(tmp_path):
    api = open_api(Settings(data_dir=tmp_path / "books", actor="t"))
    try:
        sent = lines_csv(line_rows("CORE", ["55000.00", "1000.00"], day="2026-02-04"))
        queued = api.ok(
            api.post("fin", "/api/jobs/import-lines", files={"file": ("q1.csv", sent)}), 202
        )
        assert queued["status"] == "queued" and queued["requested_by"] == "fin"
        job = ended(lambda i: api.ok(api.get("fin", f"/api/jobs/{i}")), queued["id"])
        assert job["status"] == "done", job
        assert job["done"] == job["total"] == 2 and job["worker"] and job["attempts"] == 1
        assert "2 accepted" in job["result"]["summary"]
        assert "recalculated" in job["result"]["summary"]
        standings = api.ok(api.get("fin", "/api/standings", params={"partner_id": "CORE"}))
        assert standings["total"] > 0  # imported and recalculated by the job
        listed = api.ok(api.get("aud", "/api/jobs"))["items"]
        assert [j["id"] for j in listed][:1] == [queued["id"]]
        assert api.get("acme", "/api/jobs").status_code == 403
        refused = api.ok(api.post("fin", "/api/jobs/close/2026-Q4", json={}), 202)
        failed = ended(lambda i: api.ok(api.get("fin", f"/api/jobs/{i}")), refused["id"])
        assert failed["status"] == "failed" and "unless forced with a reason" in failed["error"]
        browser = signed_in(api, "fin")
        page = browser.get("/jobs").text
        assert f'id="job-{queued["id"]}"' in page and "import lines" in page
        assert "unless forced with a reason" in page
        finished = browser.get(f"/jobs/{queued['id']}/status").text
        assert "hx-get" not in finished and "2 accepted" in finished  # it stops polling
    finally:
        api.client.__exit__(None, None, None)


def test_a_file_a_background_import_refuses_is_not_kept_nor_its_place_named(tmp_path):
    api = open_api(Settings(data_dir=tmp_path / "books", actor="t"))
    uploads = tmp_path / "books" / "uploads"
    try:
        kept_before = sorted(uploads.rglob("*.*"))
        for name, content in (("bad.csv", b"foo,bar\n1,2\n"), ("bad.parquet", b"not parquet")):
            sent = api.post("fin", "/api/jobs/import-lines", files={"file": (name, content)})
            job = ended(lambda i: api.ok(api.get("fin", f"/api/jobs/{i}")), api.ok(sent, 202)["id"])
            assert job["status"] == "failed" and f"{name}:" in job["error"], job
            assert str(tmp_path) not in job["error"], job["error"]
        assert sorted(uploads.rglob("*.*")) == kept_before
        good = lines_csv(line_rows("CORE", ["1000.00"], day="2026-02-04"))
        sent = api.post("fin", "/api/jobs/import-lines", files={"file": ("good.csv", good)})
        job = ended(lambda i: api.ok(api.get("fin", f"/api/jobs/{i}")), api.ok(sent, 202)["id"])
        assert job["status"] == "done", job
        assert [p.name for p in sorted(set(uploads.rglob("*.*")) - set(kept_before))] == [
            "good.csv"
        ]
    finally:
        api.client.__exit__(None, None, None)


def test_the_portal_queues_a_recalculation_and_an_import_and_rows_poll_until_they_end(tmp_path):
    api = open_api(Settings(data_dir=tmp_path / "books", actor="t"))
    try:
        browser = signed_in(api, "fin")
        page = browser.get("/jobs").text
        answer = browser.post("/jobs/recalculate", data={"csrf": _csrf(page), "full": "true"})
        assert answer.status_code == 303 and answer.headers["location"] == "/jobs"
        job_id = api.ok(api.get("fin", "/api/jobs"))["items"][0]["id"]
        row = browser.get(f"/jobs/{job_id}/status").text
        assert f'id="job-{job_id}"' in row
        done = ended(lambda i: api.ok(api.get("fin", f"/api/jobs/{i}")), job_id)
        assert done["status"] == "done" and "recalculated all" in done["result"]["summary"]
        assert "hx-get" not in browser.get(f"/jobs/{job_id}/status").text
        assert signed_in(api, "acme").get("/jobs").status_code == 403
        sent = lines_csv(line_rows("BOLT", ["12000.00"], day="2026-02-04"))
        queued = browser.post(
            "/admin/uploads",
            data={"csrf": _csrf(page), "background": "true"},
            files={"file": ("bolt.csv", sent)},
        )
        assert queued.status_code == 303 and queued.headers["location"] == "/jobs"
        imported = api.ok(api.get("fin", "/api/jobs"))["items"][0]
        assert imported["kind"] == "import_lines" and imported["requested_by"] == "fin"
        done = ended(lambda i: api.ok(api.get("fin", f"/api/jobs/{i}")), imported["id"])
        assert done["status"] == "done" and "1 accepted" in done["result"]["summary"]
    finally:
        api.client.__exit__(None, None, None)


ASKED = {"program": "volume-q", "baseline": "2026-Q4", "period": "2026-Q4", "after": "2026"}


def _analysis_jobs(books: Books) -> list[JobRow]:
    with books.session() as session:
        return session.scalars(select(JobRow).where(JobRow.kind == "analytics")).all()


def test_the_analytics_page_answers_at_once_and_a_background_job_works_it_out(tmp_path):
    """Fresh books: the page shows the job working out the answer (not the answer), then the
    answer once it is done; after the books change, a page asked for while the job waits for
    the books joins that job instead of queuing another."""
    api = open_api(Settings(data_dir=tmp_path / "books", actor="t"))
    try:
        rows = [*line_rows("ACME", ["30000.00"], day="2026-11-02")]
        rows += line_rows("CORE", ["55000.00"], day="2026-11-04")
        api.ok(api.post("fin", "/api/lines", json={"name": "q4", "lines": rows}), 201)
        browser = signed_in(api, "pam")
        first = browser.get("/analytics", params=ASKED)
        assert first.status_code == 200 and "Working out the analysis" in first.text
        assert "Simulated over 2026-Q4" not in first.text
        job_id = ANALYSIS_JOB.search(first.text).group(1)
        done = polled(browser, f"/analytics/jobs/{job_id}")
        assert done.headers["hx-refresh"] == "true"  # HTMX reloads the page: it shows the answer
        shown = browser.get("/analytics", params=ASKED).text
        assert "Simulated over 2026-Q4" in shown and "Calibration of" in shown
        assert "Working out the analysis" not in shown
        [job] = _analysis_jobs(api.books)
        assert job.requested_by == "pam" and job.status == "done" and job.done == job.total > 1
        more = line_rows("BOLT", ["9000.00"], day="2026-11-03")
        api.ok(api.post("fin", "/api/lines", json={"name": "more", "lines": more}), 201)
        with api.client.app.state.books_lock:  # the worker waits for the books: the job waits
            again = [browser.get("/analytics", params=ASKED).text for _ in range(2)]
            assert all("Working out the analysis" in page for page in again)
            assert len(_analysis_jobs(api.books)) == 2  # one more, joined by the second page
        assert "Simulated over 2026-Q4" in analysed(browser, ASKED).text
        assert signed_in(api, "acme").get(f"/analytics/jobs/{job_id}").status_code == 403
    finally:
        api.client.__exit__(None, None, None)


@BACKENDS
def test_progress_is_in_the_job_table_while_the_job_runs(books, tmp_path):
    with_master(books, tmp_path)
    add_program(books, PROGRAM)
    files = [
        lines_file(tmp_path / f"{name}.csv", [sale(f"{name}-1", "2026-02-04", "6000.00")])
        for name in ("a", "b")
    ]
    params = {"files": [[str(f), f.name] for f in files], "as_of": "2026-11-24"}
    job = start(books, "import_lines", params)
    seen = []

    def watch(done: int, total: int, doing: str) -> None:
        row = jobs.get(books, job.id)  # what the API and the portal read at this moment
        seen.append((row.status, row.done, row.total, row.doing))

    ran = run_next(books, watch=watch)
    assert seen == [
        ("running", 0, 3, "importing a.csv"),
        ("running", 1, 3, "importing b.csv"),
        ("running", 2, 3, "recalculating"),
    ]
    assert (ran.id, ran.status, ran.done, ran.total, ran.doing) == (job.id, "done", 3, 3, "")
    assert run_next(books) is None  # nothing left


@BACKENDS
def test_a_job_left_running_by_a_dead_process_is_run_again_once_then_failed(books_settings):
    Books.init(books_settings).close()
    books = Books.open(books_settings)
    try:
        job = start(books, "recalculate", {"as_of": "2026-11-24"})
        with jobs.claimed(books, "gone:1"):
            pass  # the process dies: the job stays running, nobody holds it
        assert jobs.get(books, job.id).status == "running"
        _restart_server(books_settings)  # recovers it and runs it
        again = jobs.get(books, job.id)
        assert (again.status, again.attempts, again.error) == ("done", 2, "")
        twice = start(books, "recalculate", {"as_of": "2026-11-24"})
        with jobs.claimed(books, "gone:2"):
            pass
        assert [j.id for j in jobs.recover(books)] == [twice.id]
        queued = jobs.get(books, twice.id)
        assert (queued.status, queued.error) == (
            "queued",
            "the process running it stopped (gone:2); queued again",
        )
        with jobs.claimed(books, "gone:3"):
            pass
        jobs.recover(books)
        failed = jobs.get(books, twice.id)
        assert (failed.status, failed.error) == (
            "failed",
            "the process running it stopped (gone:3); not started again after 2 attempts",
        )
    finally:
        books.close()


def _restart_server(settings: Settings) -> None:
    """A server started on the books, kept until its worker has no job left queued or
    running."""
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        books = client.app.state.books
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            with books.session() as session:
                busy = session.scalars(
                    select(JobRow.id).where(JobRow.status.in_(("queued", "running")))
                ).all()
            if not busy:
                return
            time.sleep(0.05)
        raise AssertionError(f"jobs {busy} never ended")


@BACKENDS
def test_a_job_held_by_a_live_worker_is_not_recovered(books):
    job = start(books, "recalculate", {"as_of": "2026-11-24"})
    with jobs.claimed(books, "alive:1") as claimed:
        assert claimed.id == job.id
        recovered = jobs.recover(books)
        if books.postgres:  # another process could be running it: left alone
            assert recovered == [] and jobs.get(books, job.id).status == "running"
        else:  # the embedded books have one process: a running job at start was left
            assert [j.id for j in recovered] == [job.id]


@pytest.mark.parametrize("books_settings", ["postgres"], indirect=True)
def test_two_workers_never_claim_the_same_job(books_settings):
    settings = books_settings
    Books.init(settings).close()
    opened = [Books.open(settings) for _ in range(2)]
    try:
        queued = {start(opened[0], "recalculate", {"as_of": "2026-11-24"}).id for _ in range(30)}
        taken: list[list[int]] = [[], []]
        ready = threading.Barrier(2)

        def work(n: int) -> None:
            ready.wait()
            while True:
                with jobs.claimed(opened[n], f"worker:{n}") as job:
                    if job is None:
                        return
                    taken[n].append(job.id)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not set(taken[0]) & set(taken[1])
        assert sorted(taken[0] + taken[1]) == sorted(queued)
    finally:
        for books in opened:
            books.close()


def test_the_command_line_runs_queued_jobs_with_a_progress_bar(books_settings, tmp_path):
    books = Books.init(books_settings)
    try:
        with_master(books, tmp_path)
        add_program(books, PROGRAM)
        lines = lines_file(tmp_path / "q1.csv", [sale("Q1-1", "2026-02-04", "12000.00")])
        params = {"files": [[str(lines), "q1.csv"]], "as_of": "2026-11-24"}
        job = start(books, "import_lines", params)
        bad = start(books, "close", {"label": "2026-Q4", "as_of": "2026-11-24"})
    finally:
        books.close()
    env = {"ACCRUE_DATA_DIR": str(books_settings.data_dir)}
    if books_settings.database_url:
        env["ACCRUE_DATABASE_URL"] = books_settings.database_url
    done = CliRunner().invoke(cli, ["jobs", "run"], env=env)
    assert done.exit_code == 1, done.output  # the close was refused
    assert f"job {job.id} (import_lines): done — batch" in done.output
    assert (
        f"job {bad.id} (close): failed — " in done.output
        and "unless forced with a reason" in done.output
    )
    listed = CliRunner().invoke(cli, ["jobs", "list"], env=env)
    assert listed.exit_code == 0 and "import_lines" in listed.output
