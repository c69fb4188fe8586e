"""Proximity alerts in the books: raised once per program, partner, period and tier, for the
partner's users and its reps; shown in the portal, and queued in the outbox (store/outbox) in
the same transaction, for e-mail and a signed webhook: delivered after, retried, never lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from accrue.domain.alerts import Alert, near
from accrue.domain.money import readable_money
from accrue.domain.periods import running
from accrue.domain.permissions import Role
from accrue.report import readable_gap
from accrue.store.books import Books
from accrue.store.outbox import EMAIL, WEBHOOK, enqueue
from accrue.store.tables import AlertRow, PartnerRow, RepRow, StandingRow, UserRow

EVENT = "tier.near"


def raise_alerts(books: Books, as_of: date) -> list[AlertRow]:
    """New alerts for standings of periods running on `as_of`, queued for delivery."""
    with books.session() as session:
        programs = books.latest_programs(session)
        names = dict(session.execute(select(PartnerRow.id, PartnerRow.name)).tuples().all())
        seen = set(
            session.execute(
                select(AlertRow.program_id, AlertRow.partner_id, AlertRow.period, AlertRow.tier)
            ).tuples()
        )
        audience = _audience(session, books)
        running_now = select(StandingRow).where(StandingRow.period.in_(running(as_of)))
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
                session.flush()
                _queue(session, books, found, alert, [u.email for u in recipients if u.email])
                raised.append(found)
    if raised:
        books.outbox_waiting.set()
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


def _audience(session, books: Books) -> Callable[[str], list[UserRow]]:
    """Who is told about a partner: users of it or a parent of it, and reps assigned to it or a
    parent (users, reps and the tree read once for all the alerts)."""
    tree = books.tree(session)
    reps = {r.id: set(json.loads(r.partner_ids)) for r in session.scalars(select(RepRow))}
    users = session.scalars(select(UserRow).where(UserRow.active.is_(True))).all()

    def recipients(partner_id: str) -> list[UserRow]:
        family = set(tree.path(partner_id)) if partner_id in tree else {partner_id}
        assigned = {rep for rep, partners in reps.items() if family & partners}
        return [
            u
            for u in users
            if (u.role == Role.PARTNER and u.partner_id in family)
            or (u.role == Role.REP and u.rep_id in assigned)
        ]

    return recipients


def _channels(settings) -> str:
    """Where the alert goes, as shown beside it; the outbox records each delivery."""
    channels = ["e-mail"] * bool(settings.smtp_host) + ["webhook"] * bool(settings.webhook_url)
    return "queued for " + " and ".join(channels) if channels else ""


def _queue(session, books: Books, row: AlertRow, alert: Alert, emails: list[str]) -> None:
    settings, reference = books.settings, f"alert:{row.id}"
    if settings.smtp_host and emails:
        destination = json.dumps(emails)
        enqueue(session, books, EMAIL, EVENT, reference, destination, alert.subject, alert.text)
    if settings.webhook_url:
        body = json.dumps({"event": EVENT, **alert.__dict__, "text": alert.text}, sort_keys=True)
        enqueue(session, books, WEBHOOK, EVENT, reference, settings.webhook_url, "", body)
