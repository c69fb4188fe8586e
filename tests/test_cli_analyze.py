"""Every analysis from the command line on the example data (what `make run` seeds)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accrue.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).parent.parent / "examples"
DAY = ("--as-of", "2026-11-24")


@pytest.fixture(scope="module")
def accrue(tmp_path_factory):
    where = ["--data-dir", str(tmp_path_factory.mktemp("demo") / "books")]

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, [*where, *args])
        assert result.exit_code == code, result.output
        return result.output

    invoke("init")
    for kind in ("partners", "products", "reps", "fx"):
        invoke("import", kind, str(EXAMPLES / f"data/{kind}.csv"))
    invoke("import", "programs", str(EXAMPLES / "programs"))
    invoke("import", "lines", str(EXAMPLES / "data/lines.csv"), *DAY)
    invoke("import", "agreements", str(EXAMPLES / "claims/agreements.csv"))
    return invoke


def test_calibrate_and_simulate_a_draft(accrue):
    draft = str(EXAMPLES / "programs/volume-retroactive.yaml")
    calibrated = accrue("analyze", "calibrate", draft, "--baseline", "2025-Q2", "--csv")
    header, *rows = calibrated.splitlines()
    assert header.startswith("segment,partners,p10,p25,median")
    assert {r.split(",")[0] for r in rows} == {"Gold", "Silver", "Bronze"} and len(rows) == 9
    simulated = accrue(
        "analyze",
        "simulate",
        draft,
        str(EXAMPLES / "programs/volume-incremental.yaml"),
        "--period",
        "2026-Q2",
    )
    assert "volume-retroactive" in simulated and "Thresholds +10%" in simulated


def test_forecast_lift_and_unclaimed(accrue):
    forecast = accrue("analyze", "forecast", *DAY, "--csv")
    assert forecast.splitlines()[0] == "program,period,currency,earned,run rate,seasonal"
    assert "volume-retroactive,2026-Q4,USD" in forecast
    lifted = accrue("analyze", "lift", "gold-na", "--baseline", "2025", "--after", "2026")
    assert "Matching" in lifted and "too few for a reliable estimate" in lifted
    assert "controls were matched across them" in lifted
    money = r"incremental revenue USD -?[\d,]+\.\d\d for rebates of USD [\d,]+\.\d\d:"
    assert re.search(money, " ".join(lifted.split())), lifted
    left = accrue("analyze", "unclaimed", *DAY, "--csv")
    assert left.splitlines()[0].startswith("kind,program,partner,currency,unclaimed")
    assert ",mdf-fund," in left
    assert "is not a date" in accrue("analyze", "forecast", "--as-of", "24/11/2026", code=1)
