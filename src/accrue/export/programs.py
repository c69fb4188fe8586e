"""A program's page for partners as a PDF: the plain-language summary and the worked example."""

from __future__ import annotations

from accrue.explain import Scenario
from accrue.export.pdf import Document


def render_program(name: str, summary: list[str], example: list[Scenario]) -> bytes:
    pdf = Document(f"{name} - program rules")
    pdf.heading(summary[0], 16)
    for line in summary[1:]:
        pdf.paragraph(line)
    pdf.heading("Worked example, computed by the engine")
    for scenario in example:
        pdf.paragraph(f"- {scenario.label}: {scenario.result}")
    return pdf.finished()
