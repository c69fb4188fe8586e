"""Lines: the sales, returns and point-of-sale records every amount is traced back to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class LineKind(StrEnum):
    SALE = "sale"
    RETURN = "return"
    POS = "pos"
    ACTIVITY = "activity"  # a training, certification, campaign or KPI result: its SKU names it


@dataclass(frozen=True)
class Line:
    """One line of a source document; returns carry negative quantity and amount."""

    source: str
    document: str
    line_no: int
    kind: LineKind
    partner_id: str
    sku: str
    date: date
    quantity: Decimal
    amount: Decimal
    currency: str

    @property
    def key(self) -> tuple[str, str, int]:
        """Identity of a line: the same (source, document, line) is the same line."""
        return (self.source, self.document, self.line_no)
