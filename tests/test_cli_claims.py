"""Claims from the command line over the example files: agreements, an 844 and a CSV of
claims answered line by line, the 849, an approval by someone else, the leakage report."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from accrue.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture
def accrue(tmp_path):
    def invoke(*args: str, code: int = 0, actor: str = "clerk") -> str:
        where = ["--data-dir", str(tmp_path / "books")]
        result = runner.invoke(app, [*where, *args], env={"ACCRUE_ACTOR": actor})
        assert result.exit_code == code, result.output
        return result.output

    invoke("init")
    invoke("import", "partners", str(EXAMPLES / "data/partners.csv"))
    invoke("import", "products", str(EXAMPLES / "data/products.csv"))
    invoke("import", "agreements", str(EXAMPLES / "claims/agreements.csv"))
    return invoke


def test_claims_are_answered_approved_and_their_leakage_reported(accrue):
    edi = accrue("claims", "submit", str(EXAMPLES / "claims/d01-claim.844.edi"))
    assert "approved USD 9000.00, prevented 1620.00 — pending" in edi
    assert "QA quantity over agreement" in edi and "EX sale outside" in edi
    accrue("claims", "submit", str(EXAMPLES / "claims/claims.csv"))
    answer = accrue("claims", "response", "1")
    assert answer.startswith("ISA*") and "AAA*Y**QA~" in answer and "AAA*N**EX~" in answer
    csv = accrue("claims", "response", "1", "--format", "csv")
    assert "D01-2026-03,2,SPA-1001,GV-001,9002,1,350,adjusted,300,5400.00,QA" in csv
    refused = accrue("approve", "1", code=1)  # the clerk received it: not theirs to approve
    assert "prepared" in refused
    assert "claim 1): approved" in accrue("approve", "1", actor="controller")
    assert "rejected" in accrue("approve", "2", "--reject", "--reason", "duplicate", actor="boss")
    leakage = accrue("claims", "leakage")
    assert "DU duplicate of an earlier claim line" in leakage and "2,200.00" in leakage


def test_a_bad_claims_file_is_refused_naming_file_line_and_field(accrue, tmp_path):
    bad = tmp_path / "bad.csv"
    good = (EXAMPLES / "claims/claims.csv").read_text().splitlines()
    bad.write_text(
        "\n".join([good[0], good[1].replace("2026-04-14", "14/04/2026"), good[2]]) + "\n"
    )
    refused = accrue("claims", "submit", str(bad), code=1)
    assert "bad.csv:2: sold_on = '14/04/2026': not a YYYY-MM-DD date" in refused
    assert "Traceback" not in refused
    assert "no claim 1" in accrue("claims", "show", "1", code=1)
