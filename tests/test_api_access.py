"""Who may call what: every API route against every role, from the one policy table.

Each route must name a permission the policy knows (a new route without one fails here); each
role gets 403 exactly where the policy says so; partner users and reps never see, by any route
or filter, a partner outside their scope; the auditor writes nothing; nobody approves their own
work or the same item twice."""

from __future__ import annotations

import csv
import io
import re

import pytest
from apiclient import (
    PROGRAM,
    USERS,
    agreements_csv,
    claim_lines,
    line_rows,
    lines_csv,
    open_api,
)
from fastapi.routing import RouteContext
from openpyxl import load_workbook

from accrue.api.security import PUBLIC, declared_routes, permission_of
from accrue.domain.permissions import POLICY, Role, allows
from accrue.settings import Settings
from accrue.store import people

# the callers tried on every route: one of each role, and a partner user of a branch
CALLERS = ["ada", "pam", "fin", "abe", "aud", "acme", "acme1", "rita"]
SCOPES = {
    "acme": {"ACME", *(f"ACME-{i}" for i in range(1, 5))},
    "acme1": {"ACME-1"},
    "rita": {"BOLT"},
}
LOCAL_ONLY = "GOLD-ONLY"  # a program naming only BOLT, which ACME's users must not see


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("books") / "books", actor="tester")
    api = open_api(settings)
    only_bolt = PROGRAM.replace("id: volume-q", "id: bolt-only").replace(
        "period: quarter", "period: quarter\neligibility: {partners: [BOLT]}"
    )
    api.ok(api.yaml("pam", "/api/programs", only_bolt))
    rows = [
        *line_rows("ACME", ["30000.00"]),
        *line_rows("ACME-1", ["26000.00"]),
        *line_rows("BOLT", ["12000.00", "-1.5"]),  # the return is refused: amount sign
        *line_rows("CORE", ["15000.00"]),
    ]
    api.ok(api.post("fin", "/api/batches", files={"file": ("q1.csv", lines_csv(rows))}), 201)
    api.ok(api.post("fin", "/api/recalc", json={}))
    api.ok(api.post("fin", "/api/periods/2026-Q1/close", json={}))
    settled = api.ok(api.get("fin", "/api/settlements", params={"limit": 500}))["items"]
    api.settlements = {(s["program_id"], s["partner_id"]): s["id"] for s in settled}
    for key in [("volume-q", "BOLT"), ("volume-q", "CORE")]:
        request = api.ok(api.post("fin", f"/api/settlements/{api.settlements[key]}/submit"), 201)
        api.ok(api.post("abe", f"/api/approvals/{request['id']}/approve", json={}))
    batch = api.ok(
        api.post("fin", "/api/payout-batches", json={"method": "check", "currency": "USD"}), 201
    )
    api.batch = batch["id"]
    api.ok(api.post("pam", "/api/agreements", files={"file": ("spa.csv", agreements_csv())}), 201)
    api.claims, api.disputes = {}, {}
    for partner in ("ACME", "BOLT", "CORE"):
        pushed = api.post("fin", "/api/claims/lines", json={"lines": claim_lines(partner)})
        api.claims[partner] = api.ok(pushed, 201)[0]["id"]
        settlement = str(api.settlements[("volume-q", partner)])
        about = {"about": "settlement", "key": settlement, "reason": "an invoice is missing"}
        api.disputes[partner] = api.ok(api.post("fin", "/api/disputes", json=about), 201)["id"]
    yield api
    api.client.__exit__(None, None, None)


def _routes(api) -> list[RouteContext]:
    """The API's operations (the portal's pages are checked in test_portal.py)."""
    return [r for r in declared_routes(api.client.app) if r.path.startswith("/api/")]


def _values(api, partner: str = "ACME") -> dict:
    """Path parameters naming a partner's things (999999: it has no settlement)."""
    return {
        "partner_id": partner,
        "settlement_id": api.settlements.get(("volume-q", partner), 999999),
        "claim_id": api.claims.get(partner, 999999),
        "dispute_id": api.disputes.get(partner, 999999),
        "digest": "0" * 64,
        "program_id": "volume-q",
        "batch_id": 1,
        "request_id": 1,
        "journal_id": 1,
        "job_id": 1,
        "username": "rita",
        "kind": "partners",
        "label": "2026-Q2",
        "name": f"payout-{api.batch}-checks.csv",
    }


def _path(route: RouteContext, values: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), route.path)


def _call(api, username: str, route: RouteContext, path: str):
    [method] = route.methods
    headers = api.as_(username)
    if route.path.endswith("/auth/logout"):  # use a token of its own: this call revokes it
        token = people.issue_token(api.books.acting_as("tester"), username, "logout test")
        headers = {"Authorization": f"Bearer {token}"}
    return api.client.request(method, path, headers=headers)


def test_every_route_names_a_permission_the_policy_knows(api):
    routes = declared_routes(api.client.app)
    assert len(routes) >= 40
    for route in routes:
        permission = permission_of(route)
        assert permission is not None, f"{route.path} declares no permission: use Routes"
        assert permission == PUBLIC or permission in POLICY, f"{route.path}: {permission}"
    public = {r.path for r in routes if permission_of(r) == PUBLIC}
    assert public == {"/api/v1/auth/login", "/login"}
    declared = {permission_of(r) for r in routes} - {PUBLIC}
    assert declared == set(POLICY), f"unused or missing rules: {declared ^ set(POLICY)}"


def test_the_auditor_reads_everything_and_writes_nothing():
    for permission, roles in POLICY.items():
        assert (Role.AUDITOR in roles) == permission.endswith(":read"), permission


def test_each_role_is_refused_exactly_where_the_policy_says(api):
    for route in _routes(api):
        permission = permission_of(route)
        anonymous = api.client.request(next(iter(route.methods)), _path(route, _values(api)))
        assert anonymous.status_code == (422 if permission == PUBLIC else 401), route.path
        if permission == PUBLIC:
            continue
        for username in CALLERS:
            role = USERS[username][0]
            response = _call(api, username, route, _path(route, _values(api)))
            refused = response.status_code == 403
            assert refused != allows(role, permission), (
                f"{role.value} {route.path}: {response.status_code} {response.text[:200]}"
            )
            if refused:
                assert permission in response.json()["error"]["message"]


def _named(response) -> set[str]:
    """The partners a response names: in its JSON, or anywhere in a file's text."""
    if "json" in response.headers["content-type"]:
        return _partners_in(response.json())
    return set(re.findall(r"\b(ACME(?:-\d)?|BOLT|CORE)\b", response.text))


def _partners_in(document) -> set[str]:
    """Every partner a response names, at any depth."""
    found = set()
    if isinstance(document, dict):
        for key, value in document.items():
            if key in ("partner", "partner_id") and isinstance(value, str):
                found.add(value)
            else:
                found |= _partners_in(value)
    elif isinstance(document, list):
        for item in document:
            found |= _partners_in(item)
    return found


HOME = {"acme": "ACME", "acme1": "ACME-1", "rita": "BOLT"}
SCOPED_PARAMETERS = {"partner_id", "settlement_id", "claim_id", "dispute_id"}


@pytest.mark.parametrize("username", ["acme", "acme1", "rita"])
def test_partner_users_and_reps_see_nothing_outside_their_scope(api, username):
    scope, role = SCOPES[username], USERS[username][0]
    reads = [r for r in _routes(api) if "GET" in r.methods and allows(role, permission_of(r))]
    assert {r.path for r in reads} >= {"/api/v1/standings", "/api/v1/lines", "/api/v1/settlements"}
    for route in reads:
        scoped = bool(SCOPED_PARAMETERS & set(re.findall(r"\{(\w+)\}", route.path)))
        for partner in (HOME[username], "CORE"):
            path = _path(route, _values(api, partner))
            for params in ({}, {"partner_id": "BOLT"}, {"partner_id": "CORE"}, {"limit": 500}):
                response = api.get(username, path, params=params)
                assert response.status_code in (200, 404, 422), (path, response.text[:200])
                if response.status_code == 200:
                    named = _named(response)
                    assert named <= scope, f"{username} saw {named - scope} at {path} {params}"
            if scoped and partner == "CORE":
                assert api.get(username, path).status_code == 404, path
    seen = api.ok(api.get(username, "/api/standings", params={"limit": 500}))["items"]
    assert {s["partner"] for s in seen} == (set() if username == "acme1" else {HOME[username]})
    lines = api.ok(api.get(username, "/api/lines"))["items"]  # a company's and its branches'
    assert {line["partner_id"] for line in lines} == scope & {"ACME", "ACME-1", "BOLT"}
    programs = {p["id"] for p in api.ok(api.get(username, "/api/programs"))["items"]}
    assert ("bolt-only" in programs) == (username == "rita")
    assert api.get(username, "/api/programs/bolt-only").status_code == (
        200 if username == "rita" else 404
    )
    trace = api.get(username, f"/api/settlements/{api.settlements[('volume-q', 'BOLT')]}/trace")
    assert trace.status_code == (200 if username == "rita" else 404)
    assert set(api.ok(api.get(username, "/api/me"))["partners"]) == scope


def _exported_partners(response, fmt: str) -> set[str]:
    """The partner ids in an export: CSV as text, Excel read cell by cell (it is zipped)."""
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(response.text)))
    else:
        sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
        header, *values = [list(r) for r in sheet.iter_rows(values_only=True)]
        rows = [dict(zip(header, v, strict=True)) for v in values]
    return {row["partner_id"] for row in rows}


def test_exports_are_scoped_like_the_pages(api):
    for fmt in ("csv", "xlsx"):
        response = api.get("acme1", "/api/lines/export", params={"format": fmt})
        assert response.status_code == 200
        assert _exported_partners(response, fmt) == {"ACME-1"}
        everyone = api.get("fin", "/api/lines/export", params={"format": fmt})
        assert {"ACME", "BOLT", "CORE"} <= _exported_partners(everyone, fmt)
    text = api.get("fin", "/api/lines/export", params={"format": "csv"}).text
    assert {"ACME", "BOLT", "CORE"} <= set(re.findall(r"\b(ACME|BOLT|CORE)\b", text))


def test_nobody_approves_their_own_work_or_the_same_item_twice(tmp_path):
    settings = Settings(data_dir=tmp_path / "books", actor="tester", approval_levels="0:1,2000:2")
    api = open_api(settings)
    try:
        api.ok(
            api.post(
                "fin", "/api/lines", json={"name": "q1", "lines": line_rows("ACME", ["56000"])}
            ),
            201,
        )
        api.ok(api.post("fin", "/api/recalc", json={}))
        api.ok(api.post("ada", "/api/periods/2026-Q1/close", json={}))
        [settled] = api.ok(api.get("fin", "/api/settlements", params={"partner_id": "ACME"}))[
            "items"
        ]
        assert settled["payout"] == "2240.00"  # 4% of 56,000: two approvals from 2,000
        request = api.ok(api.post("ada", f"/api/settlements/{settled['id']}/submit"), 201)
        assert (request["levels_required"], request["prepared_by"]) == (2, "ada")
        again = api.post("fin", f"/api/settlements/{settled['id']}/submit")
        assert again.status_code == 409 and "already pending" in again.text
        decide = f"/api/approvals/{request['id']}"
        assert "prepared" in api.post("ada", f"{decide}/approve", json={}).text
        assert api.ok(api.post("abe", f"{decide}/approve", json={}))["status"] == "pending"
        twice = api.post("abe", f"{decide}/approve", json={})
        assert twice.status_code == 409 and twice.json()["error"]["message"]
        assert api.post("aud", f"{decide}/approve", json={}).status_code == 403
        assert api.post("amy", f"{decide}/reject", json={}).status_code == 409  # no reason
        done = api.ok(api.post("fin", f"{decide}/approve", json={}))
        assert done["status"] == "approved"
        assert [(d["level"], d["user"]) for d in done["decisions"]] == [(1, "abe"), (2, "fin")]
        assert api.post("amy", f"{decide}/approve", json={}).status_code == 409
    finally:
        api.client.__exit__(None, None, None)


def test_the_api_documents_itself_without_the_internet(api):
    page = api.client.get("/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    script = api.client.get("/static/swagger/swagger-ui-bundle.js")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text[:2000]
    spec = api.client.get("/openapi.json").json()
    assert spec["paths"]["/api/v1/settlements/{settlement_id}/submit"]["post"]["x-permission"] == (
        "approvals:submit"
    )
