"""Proximity alerts in the books: raised once per program, partner, period and tier, for the
partner's users and its reps; shown in the portal, and told through accrue.store.notify in the
same transaction (the bell, e-mail as each person chose, a signed webhook), delivered after,
retried, never lost. Funds about to expire are looked for at the first recalculation of
each day."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from accrue.domain.alerts import Alert, near
from accrue.domain.money import readable_money
from accrue.domain.periods import running
from accrue.report import readable_gap
from accrue.store import notify
from accrue.store.books import Books
from accrue.store.funds import warn_expiring
from accrue.store.recalc import global_program_ids
from accrue.store.tables import AlertRow, PartnerRow, StandingRow


def raise_alerts(books: Books, as_of: date, roots: frozenset[str] | None = None) -> list[AlertRow]:
    """New alerts for standings of periods running on `as_of` (of the partner trees under
    `roots` only, when a recalculation touched only those), queued for delivery."""
    with books.session() as session:
        programs = books.latest_programs(session)
        names = dict(session.execute(select(PartnerRow.id, PartnerRow.name)).tuples().all())
        seen = set(
            session.execute(
                select(AlertRow.program_id, AlertRow.partner_id, AlertRow.period, AlertRow.tier)
            ).tuples()
        )
        audience = notify.audience(session, books, reps=True)
        running_now = select(StandingRow).where(StandingRow.period.in_(running(as_of)))
        if roots is not None:
            shared = global_program_ids(list(programs.values()))
            touched = StandingRow.root_id.in_(sorted(roots)) | StandingRow.program_id.in_(shared)
            running_now = running_now.where(touched)
        raised = []
        for row in session.scalars(running_now):
            alert = _alert(row, programs, names, books.settings.alert_share)
            if alert and (alert.program_id, alert.partner_id, alert.period, alert.tier) not in seen:
                recipients = audience(alert.partner_id)
                found = AlertRow(
                    program_id=alert.program_id,
                    partner_id=alert.partner_id,
                    period=alert.period,
                    tier=alert.tier,
                    text=alert.text,
                    raised_at=books.now(),
                    recipients=json.dumps([u.username for u in recipients]),
                    delivery=_channels(books.settings),
                )
                session.add(found)
                notify.tell(session, books, alert.notice(), recipients)
                raised.append(found)
        looking = books.done_on.get("funds") != as_of  # days to expiry change by the day
        if looking:
            warn_expiring(books, session, as_of)
    if looking:
        books.done_on["funds"] = as_of
    return raised


def _alert(row: StandingRow, programs, names, share: Decimal) -> Alert | None:
    detail = json.loads(row.detail)
    if not detail.get("gap_needed"):
        return None
    measure, gap = Decimal(detail["measure"] or 0), Decimal(detail["gap_needed"])
    if not near(measure, gap, share):
        return None
    program = programs[row.program_id]
    pays = detail.get("next_tier_pays")
    return Alert(
        program.id,
        program.name,
        row.partner_id,
        names.get(row.partner_id, row.partner_id),
        row.period,
        program.tiers[detail["tier"]].name or f"Tier {detail['tier'] + 1}",
        readable_gap(gap, detail.get("gap_unit"), row.currency),
        readable_money(pays, row.currency) if pays else None,
    )


def _channels(settings) -> str:
    """Where the alert goes, as shown beside it; the outbox records each delivery."""
    channels = ["e-mail"] * bool(settings.smtp_host) + ["webhook"] * bool(settings.webhook_url)
    return "queued for " + " and ".join(channels) if channels else ""
