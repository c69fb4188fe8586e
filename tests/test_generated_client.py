"""What an integrator does: generate a client from the document a running server serves, with
openapi-python-client, and walk the money path through that client alone — uploads of every
kind, a line push, recalc, standings, close, approvals by a second person, a payout batch and
its files, paid, the ledger, a trace, exports in CSV and Excel, claims and their answers, a
fund claim and its proof. The generator must not warn about any part of the document."""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import pytest
import yaml
from apiclient import (
    FUND,
    NOW,
    PASSWORD,
    PDF,
    PROGRAM,
    agreements_csv,
    claim_lines,
    init_books,
    line_rows,
    lines_csv,
    partners_csv,
    products_csv,
    reps_csv,
)
from serving import serving

from accrue.api import create_app
from accrue.settings import Settings

PACKAGE = "accrue_client"
PAYER = {"payer_name": "Maker Industries", "payer_iban": "DE89370400440532013000"}
# what an integrator configures: YAML bodies sent as the bytes they are; no formatter hooks
# http_timeout: the document takes a second or two of CPU to build; on a busy machine the
# generator's default of 5 s is not enough to fetch it
CONFIG = (
    "content_type_overrides:\n  application/yaml: application/octet-stream\npost_hooks: []\n"
    "http_timeout: 120\n"
)

if importlib.util.find_spec("openapi_python_client") is None:
    pytest.skip(
        "openapi-python-client is not installed (it is a dev dependency: pip install -e .[dev])",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def base_url(tmp_path_factory) -> Iterator[str]:
    """A real server on a free port of loopback, over fresh books with every user."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("client") / "books", actor="t", **PAYER)
    init_books(settings)
    with serving(create_app(settings, clock=lambda: NOW)) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url, tmp_path_factory) -> Iterator[SimpleNamespace]:
    """The generated package, imported from where the generator wrote it."""
    folder = tmp_path_factory.mktemp("generated")
    (folder / "config.yaml").write_text(CONFIG)
    generated = subprocess.run(
        [
            *(sys.executable, "-m", "openapi_python_client", "generate"),
            *("--url", f"{base_url}/openapi.json", "--meta", "none"),
            *("--output-path", str(folder / PACKAGE), "--config", str(folder / "config.yaml")),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    said = generated.stdout + generated.stderr
    assert generated.returncode == 0, said
    assert "warning" not in said.lower(), said
    sys.path.insert(0, str(folder))
    try:
        yield _imported(base_url)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _imported(base_url: str) -> SimpleNamespace:
    """The package: its operations by name (`ops.close_period`), its models, files, and a
    signed-in client per user."""
    package = importlib.import_module(PACKAGE)
    api = importlib.import_module(f"{PACKAGE}.api")
    ops = {
        found.name.rpartition(".")[2]: importlib.import_module(found.name)
        for found in pkgutil.walk_packages(api.__path__, f"{api.__name__}.")
        if not found.ispkg
    }
    models = importlib.import_module(f"{PACKAGE}.models")
    types = importlib.import_module(f"{PACKAGE}.types")

    def sign_in(username: str):
        anonymous = package.Client(base_url=base_url, raise_on_unexpected_status=True)
        body = models.LoginIn(username=username, password=PASSWORD)
        token = ops["login"].sync(client=anonymous, body=body).token
        return package.AuthenticatedClient(
            base_url=base_url, token=token, raise_on_unexpected_status=True
        )

    def file(content: bytes, name: str, media: str | None = None):
        return types.File(payload=io.BytesIO(content), file_name=name, mime_type=media)

    return SimpleNamespace(ops=SimpleNamespace(**ops), m=models, file=file, sign_in=sign_in)


def test_the_money_path_through_the_generated_client_alone(client):
    _master_data_and_programs(client)
    _lines_in(client)
    settlements = _standings_and_close(client)
    batch_id = _approved_and_paid(client, settlements)
    _ledger_and_trace(client, settlements)
    _exports(client)
    _claims_and_their_answers(client)
    _fund_claim_and_its_proof(client)
    assert client.ops.verify_audit_trail.sync(client=client.sign_in("aud")).ok, batch_id


def _master_data_and_programs(c) -> None:
    admin, manager = c.sign_in("ada"), c.sign_in("pam")
    for kind, content in (("partners", partners_csv()), ("products", products_csv())):
        body = c.m.BodyImportMaster(file=c.file(content, f"{kind}.csv"))
        batch = c.ops.import_master.sync(c.m.MasterKind(kind), client=admin, body=body)
        assert batch.status == "committed" and batch.rejected == 0, batch
    body = c.m.BodyImportMaster(file=c.file(reps_csv(), "reps.csv"))
    c.ops.import_master.sync(c.m.MasterKind.REPS, client=admin, body=body)
    as_json = json.loads(json.dumps(yaml.safe_load(PROGRAM), default=str))
    as_body = c.m.ValidateProgramJsonBody.from_dict(as_json)
    checked = c.ops.validate_program.sync(client=manager, body=as_body)
    assert checked.program.id == "volume-q"
    for text in (PROGRAM, FUND):
        yaml_file = c.file(text.encode(), "program.yaml", "application/yaml")
        imported = c.ops.import_program.sync(client=manager, body=yaml_file)
        assert imported.status == "new"
    as_file = c.m.ImportProgramFilesBody(file=c.file(FUND.encode(), "mdf.yaml"))
    assert c.ops.import_program.sync(client=manager, body=as_file).status == "unchanged"


def _lines_in(c) -> None:
    finance = c.sign_in("fin")
    acme = lines_csv(line_rows("ACME", ["30000.00", "25000.00"]))
    form = c.m.BodyUploadLines(file=c.file(acme, "acme.csv"))
    sent = c.ops.upload_lines.sync(client=finance, body=form, recalculate=False)
    assert sent.batch.accepted == 2  # kept; recomputed by the recalculation below
    lines = [c.m.LineIn(**row) for row in line_rows("BOLT", ["12000.00"])]
    body = c.m.LinesIn(name="erp-push-1", lines=lines)
    pushed = c.ops.push_lines.sync(client=finance, body=body, recalculate=False)
    assert pushed.batch.accepted == 1
    assert c.ops.recalculate.sync(client=finance, body=c.m.RecalcIn()).changed > 0


def _standings_and_close(c) -> list:
    finance = c.sign_in("fin")
    page = c.ops.list_standings.sync(client=finance, period="2026-Q1", program_id="volume-q")
    amounts = {s.partner_id: (s.tier_name, s.amount) for s in page.items}
    assert (amounts["ACME"], amounts["BOLT"]) == (("Gold", "2200.00"), ("Silver", "240.00"))
    closed = c.ops.close_period.sync("2026-Q1", client=finance, body=c.m.CloseIn())
    assert closed.payable.additional_properties["USD"] == "2440.00"
    settled = c.ops.list_settlements.sync(client=finance, period="2026-Q1", program_id="volume-q")
    return [s for s in settled.items if Decimal(s.payout) > 0]


def _approved_and_paid(c, settlements: list) -> int:
    finance, approver = c.sign_in("fin"), c.sign_in("abe")
    for settlement in settlements:
        request = c.ops.submit_settlement.sync(settlement.id, client=finance)
        own = c.ops.approve_request.sync_detailed(request.id, client=finance, body=c.m.DecideIn())
        assert own.status_code == 409, "the preparer approved their own settlement"
        approved = c.ops.approve_request.sync(request.id, client=approver, body=c.m.DecideIn())
        assert approved.status == "approved"
    asked = c.m.BatchIn(method=c.m.PayoutMethod.BANK_TRANSFER, currency="USD")
    batch = c.ops.create_payout_batch.sync(client=c.sign_in("fay"), body=asked)
    pending = c.ops.list_approvals.sync(client=finance, subject=c.m.Subject.PAYOUT_BATCH)
    [request] = [r for r in pending.items if r.subject_id == batch.id]
    c.ops.approve_request.sync(request.id, client=c.sign_in("amy"), body=c.m.DecideIn(reason="ok"))
    [bank_file] = c.ops.get_payout_batch.sync(batch.id, client=finance).files
    xml = c.ops.download_payout_file.sync(batch.id, bank_file, client=finance).payload.read()
    assert xml.startswith(b"<?xml") and b"2440.00" in xml
    paid = c.ops.mark_paid.sync(batch.id, client=finance, body=c.m.PaidIn())
    assert paid.status == "paid"
    journals_file = f"payout-{batch.id}-journals.csv"
    journals = c.ops.download_payout_file.sync(batch.id, journals_file, client=finance)
    assert b",payout," in journals.payload.read()
    return batch.id


def _ledger_and_trace(c, settlements: list) -> None:
    auditor = c.sign_in("aud")
    balance = c.ops.list_trial_balance.sync(client=auditor).items
    assert sum(Decimal(b.debit) for b in balance) == sum(Decimal(b.credit) for b in balance)
    owed = c.ops.list_liability.sync(client=auditor, by="program_id,period").items
    paid = [r for r in owed if (r.program_id, r.period) == ("volume-q", "2026-Q1")]
    assert all(Decimal(r.outstanding) == 0 for r in paid)
    traced = c.ops.trace_settlement.sync(settlements[0].id, client=auditor)
    assert traced.reproduced and traced.settlement.paid == traced.settlement.payout


def _exports(c) -> None:
    finance = c.sign_in("fin")
    exports = [
        (c.ops.export_standings, "-amount", b"program_id,program_version,partner_id"),
        (c.ops.export_journals, "-journal", b"journal,kind,program_id,partner_id"),
        (c.ops.export_settlements, "-payout", b"id,program_id,version,partner_id"),
    ]
    for export, sort, header in exports:
        csv_file = export.sync(client=finance, format_=c.m.FileFormat.CSV, sort=sort)
        assert csv_file.payload.read().startswith(header)
        excel = export.sync(client=finance, format_=c.m.FileFormat.XLSX, sort=sort)
        assert excel.payload.read().startswith(b"PK")  # a zipped workbook


def _claims_and_their_answers(c) -> None:
    manager, partner = c.sign_in("pam"), c.sign_in("acme")
    body = c.m.BodyImportAgreements(file=c.file(agreements_csv(), "spa.csv"))
    assert c.ops.import_agreements.sync(client=manager, body=body).rejected == 0
    pushed = [c.m.ClaimLineIn(**row) for row in claim_lines("ACME", "C-1")]
    [claim] = c.ops.push_claims.sync(client=partner, body=c.m.ClaimLinesIn(lines=pushed))
    assert claim.lines[0].outcome == "accepted"
    finance = c.sign_in("fin")
    sent = c.file(lines_csv(claim_lines("BOLT", "C-2")), "claims.csv")
    [filed] = c.ops.submit_claims.sync(client=finance, body=c.m.BodySubmitClaims(file=sent))
    for answered in (claim, filed):
        edi = c.ops.download_claim_response.sync(answered.id, client=finance).payload.read()
        assert edi.startswith(b"ISA") and b"849" in edi
        csv_answer = c.ops.download_claim_response.sync(answered.id, client=finance, format_="csv")
        assert b"accepted" in csv_answer.payload.read()


def _fund_claim_and_its_proof(c) -> None:
    partner = c.sign_in("acme")
    claim = c.ops.fund_claim.sync(client=partner, body=_fund_form(c))
    assert claim.approved == "500.00"
    again = c.ops.fund_claim.sync_detailed(client=partner, body=_fund_form(c))
    assert again.status_code == 201 and again.parsed.id == claim.id
    [digest] = claim.proofs
    assert c.ops.download_proof.sync(claim.id, digest, client=partner).payload.read() == PDF


def _fund_form(c):
    return c.m.BodyFundClaim(
        partner_id="ACME",
        program_id="mdf",
        number="M-1",
        amount="500.00",
        description="trade show booth",
        proof=c.file(PDF, "show.pdf", "application/pdf"),
    )
