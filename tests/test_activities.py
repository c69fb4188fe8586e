"""Activity and performance rebates: trainings, certifications, campaigns and KPI results come
in as lines of kind `activity` (their SKU names the activity, a product of the catalog), are
validated like any line, and are paid by ordinary program rules — and never count for programs
that do not ask for them."""

from __future__ import annotations

from bookkeeping import add_program, lines_file, receive, sale, with_master, write_csv
from conftest import BACKENDS
from sqlalchemy import select

from accrue.store.master import import_master
from accrue.store.tables import RejectedRow, StandingRow

ACTIVITIES = [
    ("TRN-SALES", "Sales training completed", "Training", "Activities"),
    ("CERT-PRO", "Professional certification", "Certification", "Activities"),
    ("CAMP-SPRING", "Spring campaign executed", "Campaign", "Activities"),
    ("KPI-NPS", "Net promoter score", "KPI", "Activities"),
]

ENABLEMENT = """
id: enablement
name: Partner enablement bonus
effective: {from: 2026-01-01, to: 2026-12-31}
period: quarter
measure: units
eligibility: {line_types: [activity], categories: [Training, Certification]}
tiers:
  - {name: Trained, from: 3, per_unit: 100}
  - {name: Certified team, from: 5, per_unit: 150}
"""

SATISFACTION = """
id: satisfaction
name: Customer satisfaction award
effective: {from: 2026-01-01, to: 2026-12-31}
period: quarter
measure: units
eligibility: {line_types: [activity], skus: [KPI-NPS]}
tiers:
  - {name: Good, from: 70, fixed: 500}
  - {name: Excellent, from: 85, fixed: 1500}
"""

VOLUME_UNITS = """
id: units
name: Units
effective: {from: 2026-01-01, to: 2026-12-31}
period: quarter
measure: units
tiers: [{from: 1, per_unit: 1}]
"""


def activity(document, partner, sku, quantity="1", day="2026-02-15", line_no=1):
    return {**sale(document, day, "0", partner, quantity, line_no), "kind": "activity", "sku": sku}


@BACKENDS
def test_activities_are_validated_and_paid_by_program_rules(books, tmp_path):
    with_master(books, tmp_path)
    columns = ("sku", "name", "category", "product_line")
    import_master(books, "products", write_csv(tmp_path / "activities.csv", columns, ACTIVITIES))
    for text in (ENABLEMENT, SATISFACTION, VOLUME_UNITS):
        add_program(books, text)
    rows = [
        *(activity(f"LMS-{n}", "ACME", "TRN-SALES") for n in range(4)),  # 4 trainings
        activity("CERT-1", "ACME", "CERT-PRO"),  # + 1 certification = 5: Certified team
        activity("CAMP-1", "ACME", "CAMP-SPRING"),  # a campaign: counted by neither program
        activity("NPS-Q1", "ACME", "KPI-NPS", quantity="88"),  # KPI result
        activity("LMS-9", "BOLT", "TRN-SALES"),
        activity("NPS-Q1B", "BOLT", "KPI-NPS", quantity="72"),
        activity("BAD-1", "BOLT", "TRN-SALES", quantity="-1"),  # refused: negative
        activity("BAD-2", "BOLT", "TRN-UNKNOWN"),  # refused: no such activity
        sale("INV-1", "2026-02-10", "1000", "ACME", quantity="10"),
    ]
    received = receive(books, lines_file(tmp_path / "activities.csv", rows))
    assert (received.batch.accepted, received.batch.rejected) == (10, 2)
    with books.session() as session:
        refused = {(r.field, r.message) for r in session.scalars(select(RejectedRow))}
        amounts = {
            (r.program_id, r.partner_id): (r.amount, r.status)
            for r in session.scalars(select(StandingRow).where(StandingRow.period == "2026-Q1"))
        }
    assert refused == {
        ("amount", "a sale must not be negative; record it as a return"),
        ("sku", "unknown SKU"),
    }
    assert amounts[("enablement", "ACME")][0] == "750.00"  # 5 × $150
    assert amounts[("enablement", "BOLT")][0] == "0.00"  # 1 training: below 3
    assert amounts[("satisfaction", "ACME")][0] == "1500.00"  # NPS 88: Excellent
    assert amounts[("satisfaction", "BOLT")][0] == "500.00"  # NPS 72: Good
    # a units program without `line_types: [activity]` counts the 10 valves only
    assert amounts[("units", "ACME")][0] == "10.00"
