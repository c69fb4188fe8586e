"""Every use case through every door: the same steps — lines imported, a new program version
(other rates, other accounts) imported, a period closed, a settlement submitted and approved, a
payout batch made, approved and paid, a claim submitted and approved, market development funds
claimed and approved, a dispute opened, resolved with an adjustment and approved, master data
changed (a partner moved under another, after its period closed) — run on fresh
books through the command line (Typer's runner), the API (bearer tokens) and the portal
(signed-in sessions posting the forms) leave the same books after each step: standings,
settlements, journals, claims, disputes, approvals, the audit trail (who did what to what) and
the alerts in the outbox. Ids are compared too (the same steps make the same rows); times,
hashes and delivery attempts are not."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from apiclient import (
    FUND,
    NOW,
    PDF,
    PROGRAM,
    agreements_csv,
    claim_lines,
    csv_bytes,
    ended,
    line_rows,
    open_api,
    partners_csv,
)
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from test_portal import _csrf, signed_in
from typer.testing import CliRunner

from accrue.cli import app as cli
from accrue.settings import Settings
from accrue.store.books import Books
from accrue.store.tables import (
    ApprovalRow,
    Base,
    ClaimLineRow,
    DisputeRow,
    PayoutBatchRow,
    SettlementRow,
)

DAY = NOW.date().isoformat()
WEBHOOK = "http://127.0.0.1:9/alerts"  # nothing listens: messages stay in the outbox
LINES = csv_bytes(
    list(line_rows("CORE", ["1"])[0]),
    [
        list(r.values())
        for r in [
            *line_rows("CORE", ["55000.00"], day="2026-02-04", prefix="Q1"),
            *line_rows("ACME", ["9500.00"], day="2026-11-02", prefix="Q4"),
        ]
    ],
)
VERSION = PROGRAM.replace("2%", "3%") + (
    "accounts: {expense: 5210 Other rebates, accrued: 2310 Other accrued}\n"
)  # v2 of volume-q, in force from the start: Q1 and Q4 repriced, their accruals moved
MOVED = partners_csv().replace(b"CORE,Core Industrial,,", b"CORE,Core Industrial,ACME,")
SPENT = {"number": "F-1", "amount": "100.00", "description": "trade show booth"}
CLAIM = claim_lines("ACME", number="C-ACME", units=("200",))
CLAIMS = csv_bytes(list(CLAIM[0]), [list(r.values()) for r in CLAIM])
IGNORED = {"at", "seq", "hash", "prev_hash"}  # and every *_at: when and where, not what
DELIVERY = {"status", "attempts", "last_error"}  # of an outbox message: the worker's, not ours
# sign-ins differ by door; seals hash times; jobs are the workers' state (the portal queues a
# close the other doors run at once), not records of the books
NOT_COMPARED = {"users", "api_tokens", "record_seals", "jobs"}
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?")
DIGEST = re.compile(r"\b[0-9a-f]{64}\b")


def latest(books: Books, table) -> int:
    with books.reading().session() as session:
        return session.scalar(select(func.max(table.id)))


class Api:
    """The use cases as API requests."""

    def __init__(self, api):
        self.api, self.books = api, api.books

    def lines(self, actor: str) -> None:
        self.api.ok(self.api.post(actor, "/api/batches", files={"file": ("q.csv", LINES)}), 201)

    def version(self, actor: str) -> None:
        self.api.ok(self.api.yaml(actor, "/api/programs", VERSION))

    def master(self, actor: str) -> None:
        moved = {"file": ("partners.csv", MOVED)}
        self.api.ok(self.api.post(actor, "/api/master/partners", files=moved))

    def close(self, actor: str, period: str) -> None:
        self.api.ok(self.api.post(actor, f"/api/periods/{period}/close", json={}))

    def submit(self, actor: str, settlement: int) -> None:
        self.api.ok(self.api.post(actor, f"/api/settlements/{settlement}/submit"), 201)

    def approve(self, actor: str, request: int) -> None:
        self.api.ok(self.api.post(actor, f"/api/approvals/{request}/approve", json={}))

    def batch(self, actor: str) -> None:
        asked = {"method": "credit_memo", "currency": "USD"}
        self.api.ok(self.api.post(actor, "/api/payout-batches", json=asked), 201)

    def paid(self, actor: str, batch: int) -> None:
        self.api.ok(self.api.post(actor, f"/api/payout-batches/{batch}/paid", json={}))

    def claim(self, actor: str) -> None:
        self.api.ok(self.api.post(actor, "/api/claims", files={"file": ("c.csv", CLAIMS)}), 201)

    def dispute(self, actor: str, line: int, reason: str) -> None:
        asked = {"about": "claim_line", "key": str(line), "reason": reason}
        self.api.ok(self.api.post(actor, "/api/disputes", json=asked), 201)

    def fund(self, actor: str) -> None:
        form = {"partner_id": "ACME", "program_id": "mdf", **SPENT}
        sent = self.api.post(actor, "/api/funds/claims", data=form, files={"proof": ("p.pdf", PDF)})
        self.api.ok(sent, 201)

    def resolve(self, actor: str, dispute: int, resolution: str, adjustment: str) -> None:
        asked = {"resolution": resolution, "adjustment": adjustment}
        self.api.ok(self.api.post(actor, f"/api/disputes/{dispute}/resolve", json=asked))


LANDING = {"acme": "/claims", "pam": "/admin/programs"}  # a page each may see (its csrf)


class Portal:
    """The use cases as forms posted by people signed in to the portal."""

    def __init__(self, api):
        self.api, self.books, self.browsers = api, api.books, {}

    def _post(self, actor: str, path: str, data: dict, **files) -> str:
        """Where the portal sends the person after the form."""
        browser, csrf = self._browser(actor)
        answer = browser.post(path, data={**data, "csrf": csrf}, files=files or None)
        assert answer.status_code in (200, 303), answer.text
        return answer.headers.get("location", "")

    def _browser(self, actor: str) -> tuple[TestClient, str]:
        if actor not in self.browsers:
            browser = signed_in(self.api, actor)
            page = browser.get(LANDING.get(actor, "/finance")).text
            self.browsers[actor] = (browser, _csrf(page))
        return self.browsers[actor]

    def lines(self, actor: str) -> None:
        self._post(actor, "/admin/uploads", {}, file=("q.csv", LINES))

    def version(self, actor: str) -> None:
        self._post(actor, "/admin/programs", {"document": VERSION})

    def master(self, actor: str) -> None:
        self._post(actor, "/admin/master", {"kind": "partners"}, file=("partners.csv", MOVED))

    def close(self, actor: str, period: str) -> None:
        """Queued as a job, which the server's worker runs: the step ends when the job does."""
        job_id = int(self._post(actor, "/finance/close", {"label": period}).removeprefix("/jobs/"))
        done = ended(lambda i: self.api.ok(self.api.get(actor, f"/api/jobs/{i}")), job_id)
        assert done["status"] == "done", done

    def submit(self, actor: str, settlement: int) -> None:
        self._post(actor, "/finance/settlements/submit", {"one": settlement})

    def approve(self, actor: str, request: int) -> None:
        self._post(actor, f"/finance/approvals/{request}", {"decision": "approve"})

    def batch(self, actor: str) -> None:
        self._post(actor, "/finance/payouts", {"method": "credit_memo", "currency": "USD"})

    def paid(self, actor: str, batch: int) -> None:
        self._post(actor, f"/finance/payouts/{batch}/paid", {})

    def claim(self, actor: str) -> None:
        self._post(actor, "/claims/file", {}, file=("c.csv", CLAIMS))

    def dispute(self, actor: str, line: int, reason: str) -> None:
        self._post(actor, "/claims/disputes", {"line": f"claim_line:{line}", "reason": reason})

    def fund(self, actor: str) -> None:
        self._post(actor, "/claims/fund", {"fund": "mdf/ACME", **SPENT}, proof=("p.pdf", PDF))

    def resolve(self, actor: str, dispute: int, resolution: str, adjustment: str) -> None:
        asked = {"resolution": resolution, "adjustment": adjustment}
        self._post(actor, f"/finance/disputes/{dispute}", asked)


class Cli:
    """The use cases as `accrue` commands, run as ACCRUE_ACTOR on the same books (the server
    stopped), with the books' clock at the API's instant."""

    def __init__(self, api, settings: Settings, folder, monkeypatch):
        api.client.__exit__(None, None, None)
        opening = Books.open.__func__
        monkeypatch.setattr(
            Books, "open", classmethod(lambda cls, chosen, clock=None: opening(cls, chosen, _now))
        )
        monkeypatch.chdir(folder)
        (folder / "q.csv").write_bytes(LINES)
        (folder / "c.csv").write_bytes(CLAIMS)
        (folder / "v.yaml").write_text(VERSION)
        (folder / "partners.csv").write_bytes(MOVED)
        (folder / "p.pdf").write_bytes(PDF)
        self.settings = settings
        self.books = Books.open(settings)

    def _run(self, actor: str, *words: str) -> None:
        env = {
            "ACCRUE_DATA_DIR": str(self.settings.data_dir),
            "ACCRUE_ACTOR": actor,
            "ACCRUE_WEBHOOK_URL": WEBHOOK,
        }
        self.books.close()
        done = CliRunner().invoke(cli, list(words), env=env)
        self.books = Books.open(self.settings)
        assert done.exit_code == 0, (words, done.output, done.exception)

    def lines(self, actor: str) -> None:
        self._run(actor, "import", "lines", "q.csv", "--as-of", DAY)

    def version(self, actor: str) -> None:
        self._run(actor, "import", "programs", "v.yaml", "--as-of", DAY)

    def master(self, actor: str) -> None:
        self._run(actor, "import", "partners", "partners.csv", "--as-of", DAY)

    def close(self, actor: str, period: str) -> None:
        self._run(actor, "close", period, "--as-of", DAY)

    def submit(self, actor: str, settlement: int) -> None:
        self._run(actor, "submit", str(settlement))

    def approve(self, actor: str, request: int) -> None:
        self._run(actor, "approve", str(request))

    def batch(self, actor: str) -> None:
        self._run(actor, "payouts", "batch", "--method", "credit_memo", "--currency", "USD")

    def paid(self, actor: str, batch: int) -> None:
        self._run(actor, "payouts", "paid", str(batch), "--on", DAY)

    def claim(self, actor: str) -> None:
        self._run(actor, "claims", "submit", "c.csv")

    def dispute(self, actor: str, line: int, reason: str) -> None:
        self._run(actor, "disputes", "open", "claim_line", str(line), "--reason", reason)

    def fund(self, actor: str) -> None:
        spent = [f"--{key}={value}" for key, value in SPENT.items()]
        self._run(actor, "claims", "fund", "--partner", "ACME", "--program", "mdf", *spent,
                  "--proof", "p.pdf")  # fmt: skip

    def resolve(self, actor: str, dispute: int, resolution: str, adjustment: str) -> None:
        self._run(
            actor, "disputes", "resolve", str(dispute), "--resolution", resolution,
            "--adjustment", adjustment,
        )  # fmt: skip


def _now() -> datetime:
    return NOW.astimezone(UTC)


STEPS = (
    ("import lines", lambda d: d.lines("fin")),  # CORE's Q1 earns Gold, ACME's Q4 nears Silver
    ("import a program version", lambda d: d.version("pam")),
    ("close a period", lambda d: d.close("fin", "2026-Q1")),
    ("submit a settlement", lambda d: d.submit("fin", latest(d.books, SettlementRow))),
    ("approve it", lambda d: d.approve("abe", latest(d.books, ApprovalRow))),
    ("batch the payouts", lambda d: d.batch("fin")),
    ("release the batch", lambda d: d.approve("abe", latest(d.books, ApprovalRow))),
    ("mark it paid", lambda d: d.paid("fin", latest(d.books, PayoutBatchRow))),
    ("submit a claim", lambda d: d.claim("acme")),
    ("approve the claim", lambda d: d.approve("abe", latest(d.books, ApprovalRow))),
    ("claim market development funds", lambda d: d.fund("acme")),
    ("approve the fund claim", lambda d: d.approve("abe", latest(d.books, ApprovalRow))),
    (
        "open a dispute",
        lambda d: d.dispute("acme", latest(d.books, ClaimLineRow), "we sold 250 to them"),
    ),
    (
        "resolve it with an adjustment",
        lambda d: d.resolve("fin", latest(d.books, DisputeRow), "agreed, 50 more", "900.00"),
    ),
    ("approve the adjustment", lambda d: d.approve("abe", latest(d.books, ApprovalRow))),
    ("move a partner under another", lambda d: d.master("pam")),
)


def through(door) -> list[dict[str, list]]:
    """Every use case once, each by someone allowed to, in an order the books accept; the
    books as they stand after each."""
    seen = []
    for _, step in STEPS:
        step(door)
        seen.append(books_as_rows(door.books))
    return seen


def books_as_rows(books: Books) -> dict[str, list]:
    """Every table the use cases write (and the lines), normalised: no times, hashes or
    delivery attempts."""
    with books.reading().session() as session:
        found = {
            name: [
                _normal(row, IGNORED | (DELIVERY if name == "outbox" else set()))
                for row in session.execute(table.select()).mappings()
            ]
            for name, table in Base.metadata.tables.items()
            if name not in NOT_COMPARED
        }
    lines = books.line_store.lines().to_pyarrow().to_pylist()
    found["audit_log"] = [e for e in found["audit_log"] if not _signing_in(e)]
    found["lines"] = sorted((_normal(line) for line in lines), key=json.dumps)
    return found


def _signing_in(entry: dict) -> bool:
    """An audit entry that only seals sign-ins: the portal signs in, the command line not."""
    return entry["action"] == "seal" and set(entry["key"].split(", ")) <= NOT_COMPARED


def _normal(row, ignored: set[str] = IGNORED) -> dict:
    return {
        key: DIGEST.sub("<digest>", TIME.sub("<time>", str(value)))
        for key, value in row.items()
        if key not in ignored and not key.endswith("_at")
    }


def _fresh(tmp_path, name: str):
    settings = Settings(data_dir=tmp_path / name / "books", actor="setup", webhook_url=WEBHOOK)
    api = open_api(settings)
    api.ok(api.post("pam", "/api/agreements", files={"file": ("spa.csv", agreements_csv())}), 201)
    api.ok(api.yaml("pam", "/api/programs", FUND))
    return settings, api


def test_every_use_case_leaves_the_same_books_through_every_door(tmp_path, monkeypatch):
    seen = {}
    for name, door in (("api", Api), ("portal", Portal)):
        api = _fresh(tmp_path, name)[1]
        seen[name] = through(door(api))
        api.client.__exit__(None, None, None)
    settings, api = _fresh(tmp_path, "cli")
    cli_door = Cli(api, settings, tmp_path / "cli", monkeypatch)
    seen["cli"] = through(cli_door)
    cli_door.books.close()
    last = seen["api"][-1]
    assert last["outbox"] and last["settlements"] and last["disputes"], "the scenario is whole"
    versioned = seen["api"][1]
    assert versioned["standings"] != seen["api"][0]["standings"], "the version recalculated"
    assert {"2310 Other accrued"} <= {p["account"] for p in versioned["postings"]}
    moved, before = seen["api"][-1]["standings"], seen["api"][-2]["standings"]
    assert moved != before, "the master data change recalculated"
    for n, (step, _) in enumerate(STEPS):
        for table, rows in seen["api"][n].items():
            assert seen["portal"][n][table] == rows, f"{step}: portal ≠ API in {table}"
            assert seen["cli"][n][table] == rows, f"{step}: CLI ≠ API in {table}"
