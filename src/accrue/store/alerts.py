"""Proximity alerts in the books: raised once per program, partner, period and tier, for the
partner's users and its reps; shown in the portal, sent by e-mail (SMTP) and to a webhook
signed with HMAC-SHA256. A delivery that fails is recorded, never lost, never fatal."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import urllib.request
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from email.message import EmailMessage

from sqlalchemy import select

from accrue.domain.alerts import Alert, near
from accrue.domain.money import readable_money
from accrue.domain.periods import running
from accrue.domain.permissions import Role
from accrue.report import readable_gap
from accrue.store.books import Books
from accrue.store.tables import AlertRow, PartnerRow, RepRow, StandingRow, UserRow


def raise_alerts(books: Books, as_of: date) -> list[AlertRow]:
    """New alerts for standings of periods running on `as_of`, delivered."""
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
                    delivery="",
                )
                session.add(found)
                raised.append((found, alert, [u.email for u in recipients if u.email]))
    for row, alert, emails in raised:
        _deliver(books, row, alert, emails)
    return [row for row, _, _ in raised]


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


def _deliver(books: Books, row: AlertRow, alert: Alert, emails: list[str]) -> None:
    outcomes = []
    settings = books.settings
    if settings.smtp_host and emails:
        outcomes.append(_mail(settings, alert, emails))
    if settings.webhook_url:
        outcomes.append(_webhook(settings, alert))
    with books.session() as session:
        session.get(AlertRow, row.id).delivery = "; ".join(outcomes)


def _mail(settings, alert: Alert, emails: list[str]) -> str:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = (
        settings.mail_from,
        ", ".join(emails),
        alert.subject,
    )
    message.set_content(alert.text)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        return f"e-mail failed: {error}"
    return f"e-mailed {len(emails)}"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _webhook(settings, alert: Alert) -> str:
    body = json.dumps(
        {"event": "tier.near", **alert.__dict__, "text": alert.text}, sort_keys=True
    ).encode()
    request = urllib.request.Request(
        settings.webhook_url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Accrue-Signature": signature(settings.webhook_secret, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return f"webhook {answer.status}"
    except OSError as error:
        return f"webhook failed: {error}"
