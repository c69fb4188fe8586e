"""Notifications in the books: each person told what concerns them, in the transaction of the
change that caused it — a row for the portal's bell, an e-mail in the outbox when they chose
e-mail for that kind, and one signed webhook per notice for the manufacturer's systems.

Notices are addressed to people (users), never to addresses: who is told is worked out here
from roles and partners (`approvers`, `holders`, `audience`), what they are told in
accrue.domain.notices. A person is told about one kind and key once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, event, func, select, update
from sqlalchemy.orm import Session

from accrue.domain import notices
from accrue.domain.approvals import Decision, may_decide
from accrue.domain.errors import Refused
from accrue.domain.funds import Tranche
from accrue.domain.notices import Channels, Notice, NoticeKind
from accrue.domain.permissions import Role, allows
from accrue.store.books import Books
from accrue.store.outbox import EMAIL, WEBHOOK, enqueue
from accrue.store.tables import (
    ClaimRow,
    NotificationRow,
    PartnerRow,
    PreferenceRow,
    RepRow,
    SettlementRow,
    UserRow,
)

Audience = Callable[[str], list[UserRow]]


def tell(
    session: Session, books: Books, notice: Notice, users: Iterable[UserRow], new: bool = True
) -> int:
    """Tell each of `users` (once per kind and key) by the channels they chose, and post the
    notice to the webhook once: when `new` (the caller knows it happens once), or when someone
    was told now for the first time. Returns how many people were told."""
    people = {user.id: user for user in users}
    told = set(
        session.scalars(
            select(NotificationRow.user_id).where(
                NotificationRow.kind == notice.kind.value,
                NotificationRow.key == notice.key,
                NotificationRow.user_id.in_(sorted(people)),
            )
        )
    )
    chosen = preferences(session, sorted(people))
    fresh = [user for user_id, user in sorted(people.items()) if user_id not in told]
    for user in fresh:
        wanted = notices.channels(notice.kind, chosen.get(user.id, {}))
        _record(session, books, notice, user, wanted)
    posted = bool(books.settings.webhook_url) and (new or bool(fresh))
    if posted:
        body = json.dumps({"event": notice.kind.value, **notice.facts}, sort_keys=True)
        url = books.settings.webhook_url
        enqueue(session, books, WEBHOOK, notice.kind, _reference(notice), url, "", body)
    if (fresh or posted) and not session.info.get("wakes_outbox"):
        # the delivery worker is woken once the transaction commits, not before
        session.info["wakes_outbox"] = True
        event.listen(session, "after_commit", lambda _: books.outbox_waiting.set(), once=True)
    return len(fresh)


def _reference(notice: Notice) -> str:
    return notice.key[:100]


def _record(session: Session, books: Books, notice: Notice, user: UserRow, wanted: Channels):
    mailed = wanted.email and bool(user.email) and bool(books.settings.smtp_host)
    session.add(
        NotificationRow(
            user_id=user.id,
            kind=notice.kind.value,
            key=notice.key,
            partner_id=notice.partner_id,
            subject=notice.subject,
            text=notice.text,
            link=notice.link,
            in_portal=wanted.portal,
            by_email=mailed,
            created_at=books.now(),
            read_at=None,
        )
    )
    if mailed:
        portal = books.settings.portal_url
        body = notice.text + (f"\n\n{portal.rstrip('/')}{notice.link}\n" if portal else "\n")
        address = json.dumps([user.email])
        enqueue(
            session, books, EMAIL, notice.kind, _reference(notice), address, notice.subject, body
        )


# --- who is told --------------------------------------------------------------------------------


def _active(session: Session) -> list[UserRow]:
    return list(session.scalars(select(UserRow).where(UserRow.active.is_(True))))


def holders(session: Session, permission: str) -> list[UserRow]:
    """Everyone active whose role holds `permission`: who can act on what the notice asks."""
    return [u for u in _active(session) if allows(Role(u.role), permission)]


def approvers(session: Session, prepared_by: str, decisions: list[Decision]) -> list[UserRow]:
    """Who may give a request's next approval: the role, and the segregation of duties."""
    return [
        u
        for u in holders(session, "approvals:decide")
        if may_decide(u.username, prepared_by, decisions)
    ]


def audience(session: Session, books: Books, reps: bool = False) -> Audience:
    """Who is told about a partner: its users and those of a parent of it (never a branch's
    or another partner's), and with `reps` the reps assigned to it or a parent — users, reps
    and the tree read once for every partner asked about."""
    tree = books.tree(session)
    assigned_to = (
        {r.id: set(json.loads(r.partner_ids)) for r in session.scalars(select(RepRow))}
        if reps
        else {}
    )
    users = _active(session)

    def recipients(partner_id: str) -> list[UserRow]:
        family = set(tree.path(partner_id)) if partner_id in tree else {partner_id}
        assigned = {rep for rep, partners in assigned_to.items() if family & partners}
        return [
            u
            for u in users
            if (u.role == Role.PARTNER and u.partner_id in family)
            or (u.role == Role.REP and u.rep_id in assigned)
        ]

    return recipients


def tell_partner(session: Session, books: Books, notice: Notice) -> int:
    """Tell the users of the partner the notice concerns (and of its parents)."""
    return tell(session, books, notice, audience(session, books)(notice.partner_id or ""))


# --- what the stores tell, in their transactions -------------------------------------------------

FINAL = {"approved", "rejected", "answered"}  # a claim's answer, once no approval waits


def claim_answered(session: Session, books: Books, claim: ClaimRow) -> None:
    """Tell the partner's users a claim's answer, once it is final."""
    if claim.status not in FINAL:
        return
    notice = notices.claim_answered(
        claim.id,
        claim.number,
        claim.partner_id,
        claim.status,
        Decimal(claim.approved),
        Decimal(claim.prevented),
        claim.currency,
    )
    tell_partner(session, books, notice)


def payment_sent(
    session: Session,
    books: Books,
    settlement: SettlementRow,
    program_name: str,
    amount: Decimal,
    method: str,
    reference: str,
    on: date,
) -> None:
    notice = notices.payment_sent(
        settlement.id,
        settlement.partner_id,
        program_name,
        settlement.period,
        amount,
        settlement.currency,
        method,
        reference,
        on,
    )
    tell_partner(session, books, notice)


def statements_ready(session: Session, books: Books, period: str, partner_ids: set[str]) -> None:
    """Once `period` closes, each user of a settled partner (or of a parent of one) is told
    that their own company's statement for it is ready: one notice per company, however many
    of its branches were settled."""
    recipients = audience(session, books)
    names = dict(session.execute(select(PartnerRow.id, PartnerRow.name)).tuples().all())
    companies: dict[str, list[UserRow]] = {}
    for partner_id in sorted(partner_ids):
        for user in recipients(partner_id):
            people = companies.setdefault(user.partner_id, [])
            if user not in people:
                people.append(user)
    for company, people in companies.items():
        notice = notices.statement_ready(company, names.get(company, company), period)
        tell(session, books, notice, people)


# --- funds about to expire ----------------------------------------------------------------------


def warn_expiring_funds(books: Books, session: Session, today: date, funds: Iterable[tuple]) -> int:
    """Tell each partner about unused funds whose last day is within a threshold of
    `fund_expiry_warnings` days: once per fund, partner, period and threshold. `funds` are
    (program, partner, tranches) as accrued.store.funds lists them."""
    thresholds = notices.parse_thresholds(books.settings.fund_expiry_warnings)
    recipients, told = audience(session, books), 0
    for program, partner_id, tranches in funds:
        for tranche in tranches:
            notice = _expiring(program, partner_id, tranche, today, thresholds)
            if notice is not None:
                told += tell(session, books, notice, recipients(partner_id), new=False)
    return told


def _expiring(program, partner_id: str, tranche: Tranche, today, thresholds) -> Notice | None:
    if tranche.expires_on is None or tranche.remaining <= 0:
        return None
    days = notices.warning_due(tranche.expires_on, today, thresholds)
    if days is None:
        return None
    return notices.fund_expiring(
        program.id,
        program.name,
        partner_id,
        tranche.period,
        tranche.remaining,
        program.currency,
        tranche.expires_on,
        days,
    )


# --- what a person reads and chooses ------------------------------------------------------------


def preferences(session: Session, user_ids: list[int]) -> dict[int, dict[str, Channels]]:
    """Each person's choices, by user id and kind (kinds they never chose are absent)."""
    rows = session.scalars(select(PreferenceRow).where(PreferenceRow.user_id.in_(user_ids)))
    chosen: dict[int, dict[str, Channels]] = {}
    for row in rows:
        chosen.setdefault(row.user_id, {})[row.kind] = Channels(row.portal, row.email)
    return chosen


def user_id(session: Session, username: str) -> int:
    found = session.scalar(select(UserRow.id).where(UserRow.username == username))
    if found is None:
        raise Refused(f"no user {username}")
    return found


def channels_of(books: Books, username: str) -> dict[NoticeKind, Channels]:
    """Every kind with the channels this person gets it by (their choice or the default)."""
    with books.session() as session:
        chosen = preferences(session, [user_id(session, username)])
    mine = next(iter(chosen.values()), {})
    return {kind: notices.channels(kind, mine) for kind in NoticeKind}


def choose(
    books: Books, username: str, chosen: dict[NoticeKind, Channels]
) -> dict[NoticeKind, Channels]:
    """Keep this person's channels for the kinds given (the others stay as they were)."""
    with books.session() as session:
        person = user_id(session, username)
        for kind, wanted in chosen.items():
            row = session.get(PreferenceRow, (person, kind.value))
            row = row or PreferenceRow(user_id=person, kind=kind.value)
            row.portal, row.email = wanted.portal, wanted.email
            session.add(row)
    return channels_of(books, username)


def shown_to(session: Session, username: str, unread_only: bool = False) -> Select:
    """The query of a person's notifications shown in the portal (theirs only)."""
    query = select(NotificationRow).where(
        NotificationRow.user_id == user_id(session, username),
        NotificationRow.in_portal.is_(True),
    )
    return query.where(NotificationRow.read_at.is_(None)) if unread_only else query


def inbox(books: Books, username: str, limit: int = 200) -> list[NotificationRow]:
    """A person's newest notifications shown in the portal."""
    with books.session() as session:
        query = shown_to(session, username).order_by(NotificationRow.id.desc()).limit(limit)
        return list(session.scalars(query))


def unread(books: Books, username: str) -> int:
    """How many of this person's portal notifications are unread: the bell's number."""
    with books.session() as session:
        mine = shown_to(session, username, unread_only=True).subquery()
        return session.scalar(select(func.count()).select_from(mine))


def mark_read(books: Books, username: str, ids: list[int] | None = None) -> int:
    """Mark this person's notifications read (these, or all): another's are never touched."""
    with books.session() as session:
        query = update(NotificationRow).where(
            NotificationRow.user_id == user_id(session, username),
            NotificationRow.read_at.is_(None),
        )
        if ids is not None:
            query = query.where(NotificationRow.id.in_(ids))
        return session.execute(query.values(read_at=books.now())).rowcount
