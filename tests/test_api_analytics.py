"""Every analytics surface through the API on one set of books: calibrate and simulate a draft,
forecast, lift, unclaimed — as JSON and as CSV — and only for staff."""

from __future__ import annotations

from apiclient import PROGRAM, line_rows, open_api

from accrue.settings import Settings


def test_analytics_through_the_api(tmp_path):
    api = open_api(Settings(data_dir=tmp_path / "books", actor="t"))
    try:
        rows = [
            *line_rows("ACME", ["30000.00"], day="2025-02-10", prefix="LY"),
            *line_rows("BOLT", ["12000.00"], day="2025-02-11", prefix="LY"),
            *line_rows("CORE", ["50000.00"], day="2025-02-12", prefix="LY"),
            *line_rows("ACME", ["33000.00"], day="2026-02-10"),
            *line_rows("BOLT", ["9000.00"], day="2026-02-11"),
        ]
        api.ok(api.post("fin", "/api/lines", json={"name": "history", "lines": rows}), 201)
        api.ok(api.post("fin", "/api/recalc", json={"as_of": "2026-03-31"}))
        draft = PROGRAM.replace("2026-01-01", "2025-01-01")
        calibration = api.ok(api.yaml("pam", "/api/analytics/calibrate?baseline=2025-Q1", draft))
        assert {r["segment"] for r in calibration["items"]} == {"Gold", "Silver"}
        gold = [r for r in calibration["items"] if r["segment"] == "Gold"]
        assert gold[0]["median"] == "30000.00" and gold[0]["threshold"] == "34500.00"
        assert {r["currency"] for r in calibration["items"]} == {"USD"}
        asked = {
            "drafts": [
                draft,
                draft.replace("rate: 2%", "rate: 3%").replace("id: volume-q", "id: richer"),
            ],
            "period": "2025-Q1",
        }
        simulated = api.ok(api.post("fin", "/api/analytics/simulate", json=asked))["items"]
        totals = {r["draft"]: r["cost"] for r in simulated if r["segment"] == "all"}
        # 2% of 30,000 + 2% of 12,000 + 4% of 50,000; at 3% Silver: 900 + 360 + 2,000
        assert totals == {"volume-q": "2840.00", "richer": "3260.00"}
        csv = api.post(
            "fin", "/api/analytics/simulate/export", params={"format": "csv"}, json=asked
        )
        assert csv.text.splitlines()[0].startswith("draft,segment,partners")
        forecast = api.ok(api.get("fin", "/api/analytics/forecast", params={"as_of": "2026-02-15"}))
        acme = next(f for f in forecast["items"] if f["partner_id"] == "ACME")
        assert acme["seasonal_amount"] is not None and acme["run_rate_tier"] >= 1
        assert (
            api.ok(api.get("fin", "/api/analytics/liability", params={"as_of": "2026-02-15"}))[
                "total"
            ]
            == 1
        )
        lift = api.ok(
            api.get(
                "fin", "/api/analytics/lift/volume-q", params={"baseline": "2025", "after": "2026"}
            )
        )
        assert lift["warnings"] and lift["matched"] + lift["unmatched"] == 3
        assert lift["currency"] == "USD" and lift["rebate_cost"].endswith(".00")
        text = api.get("aud", "/api/analytics/unclaimed/export", params={"format": "csv"})
        assert text.status_code == 200 and text.text.startswith("kind,program_id")
        assert api.get("acme", "/api/analytics/forecast").status_code == 403
    finally:
        api.client.__exit__(None, None, None)
