"""An Accrue API over fresh books, with a user of every role signed in."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from conftest import PARTNERS, PRODUCTS
from fastapi.testclient import TestClient

from accrue.api import create_app
from accrue.domain.permissions import Role
from accrue.ingest.claims import AGREEMENT_COLUMNS
from accrue.store import people
from accrue.store.books import Books

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
PASSWORD = "correct horse battery"

PROGRAM = """
id: volume-q
name: Quarterly volume
effective: {from: 2026-01-01, to: 2026-12-31}
period: quarter
measure: amount
method: retroactive
tiers:
  - {name: Silver, from: 10000, rate: 2%}
  - {name: Gold, from: 50000, rate: 4%}
"""


def fund_program(expires_after: int = 4) -> str:
    """The market development fund `mdf`: 2% of each partner's sales, kept for
    `expires_after` quarters."""
    return f"""
id: mdf
name: Market development fund
kind: fund
effective: {{from: 2026-01-01, to: 2026-12-31}}
period: quarter
expires_after: {expires_after}
tiers: [{{from: 0, rate: 2%}}]
"""


FUND = fund_program()
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"

# username → (role, partner, rep). ACME's user sees ACME and its branches; the rep is assigned
# BOLT only; two of each approving role, so segregation of duties can be shown.
USERS = {
    "ada": (Role.ADMIN, None, None),
    "pam": (Role.PROGRAM_MANAGER, None, None),
    "fin": (Role.FINANCE, None, None),
    "fay": (Role.FINANCE, None, None),
    "abe": (Role.APPROVER, None, None),
    "amy": (Role.APPROVER, None, None),
    "aud": (Role.AUDITOR, None, None),
    "acme": (Role.PARTNER, "ACME", None),
    "acme1": (Role.PARTNER, "ACME-1", None),
    "bolt": (Role.PARTNER, "BOLT", None),
    "rita": (Role.REP, None, "R1"),
}

IBANS = {"ACME": "DE02120300000000202051", "BOLT": "FR1420041010050500013M02606"}


def csv_bytes(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def partners_csv() -> bytes:
    return csv_bytes(
        ("id", "name", "parent_id", "segment", "region", "iban", "bic"),
        [
            (
                p.id,
                p.name,
                p.parent_id or "",
                p.segment or "",
                p.region or "",
                IBANS.get(p.id, ""),
                "DEUTDEFFXXX" if p.id in IBANS else "",
            )
            for p in PARTNERS
        ],
    )


def products_csv() -> bytes:
    return csv_bytes(
        ("sku", "name", "category", "product_line"),
        [(p.sku, p.name, p.category, p.product_line) for p in PRODUCTS],
    )


def reps_csv() -> bytes:
    return csv_bytes(("rep_id", "name", "partner_id"), [("R1", "Rita Alvarez", "BOLT")])


def line_rows(partner: str, amounts: list[str], day: str = "2026-02-10", prefix: str = "INV"):
    return [
        {
            "source": "erp",
            "document": f"{prefix}-{partner}-{n}",
            "line_no": 1,
            "kind": "sale",
            "partner_id": partner,
            "sku": "V-100",
            "date": day,
            "quantity": "1",
            "amount": amount,
            "currency": "USD",
        }
        for n, amount in enumerate(amounts, 1)
    ]


def lines_csv(rows: list[dict]) -> bytes:
    return csv_bytes(list(rows[0]), [list(r.values()) for r in rows])


@dataclass
class Api:
    """A TestClient and a bearer header per username."""

    client: TestClient
    books: Books
    headers: dict[str, dict] = field(default_factory=dict)

    def as_(self, username: str) -> dict:
        return self.headers[username]

    def get(self, username: str, path: str, **options):
        return self.client.get(path, headers=self.as_(username), **options)

    def post(self, username: str, path: str, headers: dict | None = None, **options):
        return self.client.post(path, headers={**self.as_(username), **(headers or {})}, **options)

    def yaml(self, username: str, path: str, text: str):
        return self.post(username, path, content=text, headers={"Content-Type": "application/yaml"})

    def ok(self, response, status: int = 200):
        assert response.status_code == status, response.text
        return response.json() if "json" in response.headers.get("content-type", "") else response


def init_books(settings) -> None:
    """Fresh books with a user of every role."""
    books = Books.init(settings, clock=lambda: NOW)
    for username, (role, partner, rep) in USERS.items():
        people.create_user(books, username, username.title(), role, PASSWORD, partner, rep)
    books.close()


def open_api(settings, master: bool = True):
    """Fresh books with every user; master data and the program imported when `master`."""
    init_books(settings)
    client = TestClient(create_app(settings, clock=lambda: NOW))
    client.__enter__()
    api = Api(client, client.app.state.books)
    for username in USERS:
        response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        token = api.ok(response)["token"]
        api.headers[username] = {"Authorization": f"Bearer {token}"}
    if master:
        for kind, content in (
            ("partners", partners_csv()),
            ("products", products_csv()),
            ("reps", reps_csv()),
        ):
            api.ok(api.post("ada", f"/api/master/{kind}", files={"file": (f"{kind}.csv", content)}))
        api.ok(api.yaml("pam", "/api/programs", PROGRAM))
    return api


def agreements_csv(partners=("ACME", "BOLT", "CORE")) -> bytes:
    """SPA-<partner>: V-100 for Acme Hospital at $62 instead of $80, up to 500 units."""
    return csv_bytes(
        AGREEMENT_COLUMNS,
        [
            (
                f"SPA-{p}",
                p,
                "Acme Hospital",
                "V-100",
                "80.00",
                "62.00",
                "500",
                "2026-01-01",
                "2026-06-30",
                "60",
            )
            for p in partners
        ],
    )


def claim_lines(partner: str, number: str = "C-1", units=("200",), claimed_on="2026-03-01"):
    return [
        {
            "claim_number": number,
            "partner_id": partner,
            "agreement_id": f"SPA-{partner}",
            "end_customer": "Acme Hospital",
            "sku": "V-100",
            "invoice": f"{9000 + n}",
            "invoice_line": "1",
            "quantity": quantity,
            "sold_on": "2026-02-10",
            "claimed_on": claimed_on,
        }
        for n, quantity in enumerate(units, 1)
    ]


# seconds a job gets to end before the test says it never did: only against a hang (a worker
# that died), never a measure of speed, which a loaded machine does not have
PATIENCE = 600


def ended(read, job_id: int) -> dict:
    """The job once it is done or failed, asked for again and again until then."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        job = read(job_id)
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['status']} after {PATIENCE} s: {job}")
