"""Users, passwords and tokens.

Passwords are hashed with argon2id; tokens (API tokens for integrations and login sessions)
are random and kept only as their SHA-256, so a copy of the database opens nothing. Five wrong
passwords in a row lock the account for fifteen minutes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from accrue.domain.errors import Refused
from accrue.domain.permissions import Role, Scope, scope_of
from accrue.store.books import Books
from accrue.store.tables import RepRow, TokenRow, UserRow

# argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane): a login costs tens of
# milliseconds of one core, not hundreds of both, so sign-ins do not stall the portal.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
SESSION_FOR = timedelta(hours=12)
PREFIX = "acr_"


class LoginRefused(PermissionError):
    """Wrong username or password, or an account locked for a while; says which."""


@dataclass(frozen=True)
class Principal:
    """Who is asking, and what they may see."""

    username: str
    role: Role
    scope: Scope
    partner_id: str | None = None
    rep_id: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    books: Books,
    username: str,
    name: str,
    role: Role,
    password: str,
    partner_id: str | None = None,
    rep_id: str | None = None,
    email: str | None = None,
) -> UserRow:
    if len(password) < 10:
        raise Refused("password: use at least 10 characters")
    if role is Role.PARTNER and not partner_id:
        raise Refused("partner_id: a partner user belongs to a partner")
    if role is Role.REP and not rep_id:
        raise Refused("rep_id: a sales rep user is one of the reps")
    with books.session() as session:
        if session.scalar(select(UserRow.id).where(UserRow.username == username)):
            raise Refused(f"username: {username!r} is taken")
        user = UserRow(
            username=username,
            name=name,
            role=role.value,
            partner_id=partner_id,
            rep_id=rep_id,
            email=email,
            password_hash=HASHER.hash(password),
            active=True,
            failed_logins=0,
            created_at=books.now(),
        )
        session.add(user)
        session.flush()
        about = {"username": username, "role": role.value, "partner": partner_id, "rep": rep_id}
        books.audit(session, "create", "user", username, after=about)
    return user


def login(books: Books, username: str, password: str) -> str:
    """A session token for the right password; LoginRefused otherwise."""
    now = datetime.fromisoformat(books.now())
    with books.session() as session:
        user = session.scalar(select(UserRow).where(UserRow.username == username))
        if user and user.locked_until and datetime.fromisoformat(user.locked_until) > now:
            raise LoginRefused(f"too many failed logins: try again after {user.locked_until}")
        if not (user and user.active and _verify(user, password)):
            if user:
                user.failed_logins += 1
                if user.failed_logins >= LOCK_AFTER:
                    user.locked_until = (now + LOCK_FOR).isoformat()
                    user.failed_logins = 0
            failed = LoginRefused("wrong username or password")
        else:
            user.failed_logins, user.locked_until, failed = 0, None, None
            token = _issue(session, user, "login", (now + SESSION_FOR).isoformat(), books.now())
    if failed:  # raised after the transaction commits, so the count of failures is kept
        raise failed
    return token


def _verify(user: UserRow, password: str) -> bool:
    try:
        return HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _issue(session: Session, user: UserRow, name: str, expires_at: str | None, now: str) -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(
        TokenRow(
            user_id=user.id,
            name=name,
            token_hash=_digest(token),
            created_at=now,
            expires_at=expires_at,
            revoked=False,
        )
    )
    return token


def issue_token(books: Books, username: str, name: str) -> str:
    """A long-lived API token for an integration, shown once."""
    with books.session() as session:
        user = session.scalar(select(UserRow).where(UserRow.username == username))
        if user is None:
            raise Refused(f"username: no user {username!r}")
        token = _issue(session, user, name, None, books.now())
        books.audit(session, "issue", "token", f"{username}/{name}", after={"name": name})
    return token


# Who a token is, remembered briefly: a page or call asks on every request. Revoking forgets at
# once; a changed role or partner tree is seen within REMEMBER.
REMEMBER = timedelta(seconds=30)
_known: dict[tuple[str, str], tuple[Principal, datetime]] = {}


def authenticate(books: Books, token: str) -> Principal | None:
    key = (books.settings.url, _digest(token))
    remembered = _known.get(key)
    now = books.clock()
    if remembered and remembered[1] > now:
        return remembered[0]
    found = _authenticate(books, token)
    if found is not None:
        for stale in [k for k, (_, until) in _known.items() if until <= now]:
            del _known[stale]  # sessions come and go: keep only the live ones
        _known[key] = (found, now + REMEMBER)
    return found


def _authenticate(books: Books, token: str) -> Principal | None:
    now = books.now()
    with books.session() as session:
        row = session.scalar(select(TokenRow).where(TokenRow.token_hash == _digest(token)))
        if row is None or row.revoked or (row.expires_at and row.expires_at < now):
            return None
        user = session.get(UserRow, row.user_id)
        if not user.active:
            return None
        return principal(books, session, user)


def principal(books: Books, session: Session, user: UserRow) -> Principal:
    role = Role(user.role)
    rep_partners = []
    if role is Role.REP and user.rep_id:
        rep = session.get(RepRow, user.rep_id)
        rep_partners = json.loads(rep.partner_ids) if rep else []
    scope = scope_of(role, user.partner_id, rep_partners, books.tree(session))
    return Principal(user.username, role, scope, user.partner_id, user.rep_id)


def revoke(books: Books, token: str) -> None:
    _known.pop((books.settings.url, _digest(token)), None)
    with books.session() as session:
        row = session.scalar(select(TokenRow).where(TokenRow.token_hash == _digest(token)))
        if row is not None:
            row.revoked = True
