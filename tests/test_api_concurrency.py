"""Two servers on one PostgreSQL, two people pressing the same button at the same moment: an
approval is given once, a batch is made once, a payment is released once.

Real `accrue serve` processes, real HTTP, requests released together by a barrier."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from decimal import Decimal

import httpx
import psycopg
import pytest
from apiclient import PASSWORD, line_rows, open_api
from sqlalchemy import func, select

from accrue.store.books import WRITERS_LOCK, Books
from accrue.store.ledger import trial_balance
from accrue.store.tables import DecisionRow, JournalRow, PayoutItemRow

ROUNDS = 4
SAFETY = 300  # seconds: only against a hang, never a measure of speed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(settings, workers: int = 1) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "ACCRUE_DATA_DIR": str(settings.data_dir)}
    env["ACCRUE_DATABASE_URL"] = settings.database_url
    command = [sys.executable, "-m", "accrue", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    while process.poll() is None:  # ready when it answers, however loaded the machine
        try:
            if httpx.get(f"{url}/openapi.json", timeout=None).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"accrue serve exited: {process.stderr.read().decode()[-2000:]}")


def _together(*calls):
    """Run the calls at the same instant, each on its own thread; their responses in order."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


class Person:
    def __init__(self, url: str, username: str):
        self.client = httpx.Client(base_url=url, timeout=None)
        login = {"username": username, "password": PASSWORD}
        token = self.client.post("/api/auth/login", json=login).json()["token"]
        self.client.headers["Authorization"] = f"Bearer {token}"

    def post(self, path: str, **options):
        return lambda: self.client.post(path, **options)

    def get(self, path: str, **options):
        return lambda: self.client.get(path, **options)


@pytest.mark.parametrize("books_settings", ["postgres"], indirect=True)
def test_simultaneous_decisions_release_money_once(books_settings):
    api = open_api(books_settings)
    partners = ["ACME", "BOLT", "CORE"]
    lines = [row for p in partners for row in line_rows(p, ["20000.00"])]
    api.ok(api.post("fin", "/api/lines", json={"name": "q1", "lines": lines}), 201)
    api.ok(api.post("fin", "/api/recalc", json={}))
    api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={}))
    settled = api.ok(api.get("fin", "/api/settlements", params={"period": "2026-Q1"}))["items"]
    requests = [api.ok(api.post("fin", f"/api/settlements/{s['id']}/submit"), 201) for s in settled]
    books = api.books
    api.client.__exit__(None, None, None)

    servers = [_serve(books_settings), _serve(books_settings)]
    try:
        (_, one), (_, two) = servers
        abe, amy = Person(one, "abe"), Person(two, "amy")
        fin, fay = Person(one, "fin"), Person(two, "fay")

        # each settlement's one approval, asked of two servers by two approvers at once
        for request in requests:
            path = f"/api/approvals/{request['id']}/approve"
            answers = _together(abe.post(path, json={}), amy.post(path, json={}))
            assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        with books.session() as session:
            decisions = session.scalar(select(func.count()).select_from(DecisionRow))
        assert decisions == len(requests)

        # two people batching the same settlements at once: one batch
        batch = {"method": "check", "currency": "USD"}
        made = _together(
            fin.post("/api/payout-batches", json=batch), fay.post("/api/payout-batches", json=batch)
        )
        assert sorted(m.status_code for m in made) == [201, 409], [m.text for m in made]
        created = next(m.json() for m in made if m.status_code == 201)
        maker = fin if made[0].status_code == 201 else fay
        assert len(created["items"]) == len(settled)

        # the batch's release approved once, then marked paid by two people at once, ROUNDS times
        pending = maker.client.get("/api/approvals", params={"status": "pending"}).json()["items"]
        release = f"/api/approvals/{pending[0]['id']}/approve"
        answers = _together(abe.post(release, json={}), amy.post(release, json={}))
        assert sorted(a.status_code for a in answers) == [200, 409]
        paid_path = f"/api/payout-batches/{created['id']}/paid"
        for _ in range(ROUNDS):
            _together(*(p.post(paid_path, json={}) for p in (fin, fay, fin, fay)))
        with books.session() as session:
            payouts = session.scalar(
                select(func.count()).select_from(JournalRow).where(JournalRow.kind == "payout")
            )
            items = session.scalars(select(PayoutItemRow)).all()
        assert payouts == len(settled) and all(i.journal_id for i in items)
        final = fin.client.get("/api/settlements", params={"period": "2026-Q1"}).json()["items"]
        assert all(Decimal(s["paid"]) == Decimal(s["payout"]) == Decimal("400.00") for s in final)
        owed = fin.client.get("/api/ledger/liability", params={"by": "period"}).json()["items"]
        assert not [o for o in owed if o["period"] == "2026-Q1" and Decimal(o["outstanding"])]
        assert fin.client.get("/api/payout-batches").json()["items"][0]["status"] == "paid"
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=30)
        books.close()


READS = ("/api/ledger/trial-balance", "/api/ledger/liability", "/api/settlements", "/api/me")


def _balanced(rows: list[dict]) -> bool:
    return sum(Decimal(r["debit"]) for r in rows) == sum(Decimal(r["credit"]) for r in rows)


@pytest.mark.parametrize("books_settings", ["postgres"], indirect=True)
def test_two_workers_read_while_others_write_and_never_wait_for_them(books_settings):
    api = open_api(books_settings)
    books = api.books
    api.client.__exit__(None, None, None)
    process, url = _serve(books_settings, workers=2)
    try:
        fin, fay, aud = Person(url, "fin"), Person(url, "fay"), Person(url, "aud")

        # imports and recalculations from two people at once, read all along by a third
        def upload(person, partner, n):
            rows = line_rows(partner, ["20000.00", "5000.00"], prefix=f"W{n}")
            return person.post("/api/lines", json={"name": f"w{n}", "lines": rows})

        writes = [upload(fin, "ACME", 1), upload(fay, "BOLT", 2), upload(fin, "CORE", 3)]
        writes += [fin.post("/api/recalc", json={}), fay.post("/api/recalc", json={})]
        reads = [aud.get("/api/ledger/trial-balance") for _ in range(6)]
        answers = _together(*writes, *reads)
        assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
        assert all(_balanced(a.json()["items"]) for a in answers[len(writes) :])
        fin.client.post("/api/recalc", json={}).raise_for_status()
        with books.session() as session:
            totals = trial_balance(session)
        assert totals and sum(b.debit for b in totals) == sum(b.credit for b in totals)

        # a writer holding the books for as long as this block lasts: every read still answers,
        # from both workers (a read that waited for it would never answer while the block
        # lasts: SAFETY turns that hang into a failure), while a write (a sign-in counts its
        # attempt) queues for its turn and gets it once the block ends
        with _writers_lock(books_settings) as holder:
            waiting = threading.Thread(target=Person, args=(url, "amy"))
            waiting.start()
            read = _together(*(aud.get(path, timeout=SAFETY) for path in READS * 4))
            assert all(r is not None and r.status_code == 200 for r in read), read
            _until_a_write_queues(holder, waiting)
        waiting.join()
    finally:
        process.terminate()
        process.wait(timeout=30)
        books.close()


@contextmanager
def _writers_lock(settings):
    """The lock every writing transaction takes, held from outside as a long write would; the
    connection holding it."""
    url = settings.database_url.replace("+psycopg", "")
    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (WRITERS_LOCK,))
        yield holder
        holder.execute("SELECT pg_advisory_unlock(%s)", (WRITERS_LOCK,))


# transactions of these books waiting for the writers' lock (a bigint key: objid, objsubid 1)
QUEUED_WRITES = """
SELECT count(*) FROM pg_locks
WHERE locktype = 'advisory' AND NOT granted AND objid = %s AND objsubid = 1
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def _until_a_write_queues(holder, writer: threading.Thread) -> None:
    """Until PostgreSQL shows a transaction waiting for the writers' lock, which `writer` (a
    thread making a write) is still alive to be waiting on."""
    while not holder.execute(QUEUED_WRITES, (WRITERS_LOCK,)).fetchone()[0]:
        assert writer.is_alive(), "the write ended while the writers' lock was held"
        time.sleep(0.05)


def test_several_workers_are_refused_on_the_embedded_store(books_settings):
    Books.init(books_settings).close()
    env = {**os.environ, "ACCRUE_DATA_DIR": str(books_settings.data_dir)}
    command = [sys.executable, "-m", "accrue", "serve", "--workers", "2"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "embedded store belongs to one process" in done.stderr
    assert "bug" not in done.stderr
