"""The outbox: messages written in the same transaction as the change that caused them, and
delivered afterwards — e-mail through SMTP (STARTTLS and a login when configured) and webhooks
signed with HMAC-SHA256 — by the server's worker or `accrue deliver`.

A message is claimed before it is sent (pending → sending, in one UPDATE only one worker can
win), so it goes at most once; a failure puts it back as pending with a later attempt time,
doubling from 30 seconds to an hour, and after eight attempts it stays failed for an admin to
see. A worker that dies while sending leaves the message as sending: never sent twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, timedelta
from email.message import EmailMessage

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from accrue.settings import Settings
from accrue.store.books import Books
from accrue.store.tables import OutboxRow
from accrue.store.threads import repeating

EMAIL, WEBHOOK = "email", "webhook"
PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
TIMEOUT = 10  # seconds a mail server or webhook receiver gets to answer
log = logging.getLogger(__name__)


def enqueue(
    session: Session,
    books: Books,
    channel: str,
    event: str,
    reference: str,
    destination: str,
    subject: str,
    body: str,
) -> None:
    """A message to deliver once `session` commits (and never if it rolls back)."""
    now = books.now()
    session.add(
        OutboxRow(
            channel=channel,
            event=event,
            reference=reference,
            destination=destination,
            subject=subject,
            body=body,
            status=PENDING,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
            last_error="",
        )
    )


def retry_after(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: 30 s, 1 min, 2 min … at most an hour."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


@dataclass(frozen=True)
class Delivered:
    delivered: int
    retrying: int
    failed: int

    @property
    def summary(self) -> str:
        return f"{self.delivered} delivered, {self.retrying} to retry, {self.failed} failed"


Turn = Callable[[], AbstractContextManager]


def deliver_due(books: Books, turn: Turn = nullcontext) -> Delivered:
    """Every message whose time has come, each claimed, sent and recorded; `turn` is held
    around each use of the books (the server's lock), never while a message is on its way."""
    with turn(), books.session() as session:
        due = session.scalars(
            select(OutboxRow.id)
            .where(OutboxRow.status == PENDING, OutboxRow.next_attempt_at <= books.now())
            .order_by(OutboxRow.id)
        ).all()
    counts = {DELIVERED: 0, PENDING: 0, FAILED: 0}
    for message_id in due:
        with turn():
            message = _claimed(books, message_id)
        if message is None:
            continue  # another worker has it
        error = _send(books.settings, message)
        with turn():
            counts[_record(books, message_id, error)] += 1
    return Delivered(counts[DELIVERED], counts[PENDING], counts[FAILED])


def _claimed(books: Books, message_id: int) -> OutboxRow | None:
    with books.session() as session:
        won = session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == message_id, OutboxRow.status == PENDING)
            .values(status=SENDING)
        ).rowcount
        message = session.get(OutboxRow, message_id) if won else None
        if message is not None:
            session.expunge(message)
        return message


def _record(books: Books, message_id: int, error: str | None) -> str:
    with books.session() as session:
        message = session.get(OutboxRow, message_id)
        message.attempts += 1
        if error is None:
            message.status, message.delivered_at = DELIVERED, books.now()
        elif message.attempts >= MAX_ATTEMPTS:
            message.status, message.last_error = FAILED, error
        else:
            later = books.clock() + retry_after(message.attempts)
            message.status, message.last_error = PENDING, error
            message.next_attempt_at = later.astimezone(UTC).isoformat(timespec="microseconds")
        return message.status


def _send(settings: Settings, message: OutboxRow) -> str | None:
    """None when the message was accepted, else what went wrong."""
    try:
        if message.channel == EMAIL:
            _mail(settings, message)
        else:
            _post(settings, message)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def _mail(settings: Settings, message: OutboxRow) -> None:
    if not settings.smtp_host:
        raise smtplib.SMTPException("no SMTP server configured (ACCRUE_SMTP_HOST)")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = (
        settings.mail_from,
        ", ".join(json.loads(message.destination)),
        message.subject,
    )
    mail["Message-ID"] = f"<outbox-{message.id}@accrue>"
    mail.set_content(message.body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        smtp.send_message(mail)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post(settings: Settings, message: OutboxRow) -> None:
    """A 2xx answer delivers; urllib raises for anything else. The delivery id lets a
    receiver that saw a message before tell it is the same one."""
    body = message.body.encode()
    request = urllib.request.Request(
        message.destination,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Accrue-Signature": signature(settings.webhook_secret, body),
            "X-Accrue-Delivery": str(message.id),
        },
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT):
        pass


def delivering(books: Books, turn: Turn, interval: float) -> AbstractContextManager:
    """The server's delivery thread, while the context lasts: a pass over the outbox when
    woken (a message was queued) or every `interval` seconds. A pass that fails is logged
    and the next one tries again: the messages stay in the books."""
    return repeating(
        "accrue-outbox", books.outbox_waiting, interval, lambda: deliver_due(books, turn)
    )
