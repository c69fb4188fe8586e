"""Proximity alerts: a partner within a set share of the next tier's threshold is told — once
per tier per period — how far it is and what reaching the tier would pay."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accrue.domain.notices import Notice, NoticeKind

DEFAULT_SHARE = Decimal("0.10")


def near(measure: Decimal, gap: Decimal, share: Decimal = DEFAULT_SHARE) -> bool:
    """Within `share` of the next threshold (measure + gap), and not there yet."""
    threshold = measure + gap
    return gap > 0 and threshold > 0 and gap <= share * threshold


@dataclass(frozen=True)
class Alert:
    program_id: str
    program_name: str
    partner_id: str
    partner_name: str
    period: str
    tier: str
    gap: str  # as people read it: "USD 1,200.00" or "40 units"
    pays: str | None

    @property
    def subject(self) -> str:
        return f"{self.partner_name} is close to {self.tier} in {self.program_name}"

    @property
    def text(self) -> str:
        pays = f" Reaching it pays {self.pays}." if self.pays else ""
        return (
            f"{self.partner_name} ({self.partner_id}) is {self.gap} away from {self.tier} in "
            f"{self.program_name} for {self.period}.{pays}"
        )

    def notice(self) -> Notice:
        """The alert as a notification: once per program, partner, period and tier."""
        key = f"tier:{self.program_id}/{self.partner_id}/{self.period}/{self.tier}"
        facts = {**self.__dict__, "text": self.text}
        said = self.text.replace(f" ({self.partner_id})", "")  # people read names, not ids
        return Notice(NoticeKind.TIER_NEAR, key, self.partner_id, self.subject, said, "/", facts)
