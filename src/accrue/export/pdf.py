"""What every PDF Accrue writes shares: A4, the document's name and "page N of M" at the foot
of each page, headings, paragraphs, and text the core fonts can print."""

from __future__ import annotations

from fpdf import FPDF

PRINTABLE = str.maketrans(
    {"→": "->", "×": "x", "–": "-", "—": "-", "≤": "<=", "≥": ">=", "…": "..."}
)


def latin(value) -> str:
    """Core PDF fonts are Latin-1: arrows and dashes become their ASCII look-alikes, anything
    else unprintable a question mark, never an error."""
    return str(value).translate(PRINTABLE).encode("latin-1", "replace").decode("latin-1")


class Document(FPDF):
    """An A4 document whose every page ends with its name and page number."""

    def __init__(self, name: str, orientation: str = "portrait"):
        super().__init__(orientation=orientation, format="A4")
        self.name = latin(name)
        self.set_title(self.name)
        self.set_author("Accrue")
        self.alias_nb_pages()
        self.add_page()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        self.cell(0, 8, f"{self.name} - page {self.page_no()} of {{nb}}", align="C")

    def heading(self, text: str, size: int = 12) -> None:
        self.ln(2)
        self.set_font("Helvetica", "B", size)
        self.multi_cell(0, size * 0.6, latin(text), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 10)

    def paragraph(self, text: str) -> None:
        self.multi_cell(0, 5.5, latin(text), new_x="LMARGIN", new_y="NEXT")

    def finished(self) -> bytes:
        return bytes(self.output())
