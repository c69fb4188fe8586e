"""Users, passwords and tokens.

Passwords are hashed with argon2id; tokens (API tokens for integrations and login sessions)
are random and kept only as their SHA-256, so a copy of the database opens nothing. Five wrong
passwords in a row lock the account for fifteen minutes: each attempt is counted in the database
before its password is checked, so guesses sent at once are counted too. A password must be one
that zxcvbn (with its shipped lists of common passwords, words and names) finds hard to guess.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from accrue.domain.errors import Refused
from accrue.domain.identifiers import check_identifier, identifier_problem
from accrue.domain.permissions import Role, Scope, scope_of
from accrue.store.books import Books
from accrue.store.tables import RepRow, TokenRow, UserRow

# argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane): a login costs tens of
# milliseconds of one core, not hundreds of both, so sign-ins do not stall the portal.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Password checks run here, on at most half the cores: fifty people signing in at once wait for
# each other, not every page the signed-in are reading.
HASHING = ThreadPoolExecutor(max(1, (os.cpu_count() or 2) // 2), thread_name_prefix="hashing")
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
SESSION_FOR = timedelta(hours=12)
PREFIX = "acr_"  # a bearer token for the API
# who the trail names for a sign-in's attempt (counted, or locking the account) before the
# password is checked: the name someone claims, never the account the server runs under
SIGNING_IN = "sign-in:{username}"
PORTAL = "acs_"  # a portal session id: opens pages, never the API (nor the reverse)
NAME_LENGTH, TOKEN_NAME_LENGTH = 200, 100  # their columns' lengths
STRONG = 3  # zxcvbn's score (0-4): 3 is "safely unguessable", about 10^10 guesses


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
    check_identifier("username", username)
    check_identifier("name", name, NAME_LENGTH)
    check_password(password, username, name)
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


def check_password(password: str, *known: str) -> None:
    """At least 10 characters, and hard to guess: not a common password, word or name, nor
    built from the user's own names (`known`)."""
    if len(password) < 10:
        raise Refused("password: use at least 10 characters")
    verdict = zxcvbn(password[:100], user_inputs=[w for k in known if k for w in k.split()])
    if verdict["score"] < STRONG:
        advice = [verdict["feedback"]["warning"], *verdict["feedback"]["suggestions"]]
        hint = " ".join(a for a in advice if a)
        raise Refused(f"password: too easy to guess{': ' + hint if hint else ''}")


def login(books: Books, username: str, password: str, portal: bool = False) -> str:
    """A session token for the right password (a portal session id when `portal`: what the
    portal's cookie holds, useless as an API token); LoginRefused otherwise. The attempt is counted
    (committed) before the password is checked, and an unknown username costs the same hash
    check as a known one, so neither parallel guesses nor timing tell anything."""
    now = datetime.fromisoformat(books.now())
    attempt = None
    if identifier_problem(username) is None:
        books = books.acting_as(SIGNING_IN.format(username=username))
        attempt = _count_attempt(books, username, now)
    if attempt is None:  # no such user (no username holds a NUL byte: the database cannot)
        _verify(_decoy(), password)
        raise LoginRefused("wrong username or password")
    user_id, attempts, password_hash, active = attempt
    if attempts > LOCK_AFTER:  # guesses beyond the allowance, sent while others were checked
        until = _lock(books, user_id, now)
        raise LoginRefused(f"too many failed logins: try again after {until}")
    if not (_verify(password_hash, password) and active):
        if attempts >= LOCK_AFTER:
            _lock(books, user_id, now)
        raise LoginRefused("wrong username or password")
    with books.acting_as(username).session() as session:  # the person, proven by now
        user = session.get(UserRow, user_id)
        user.failed_logins, user.locked_until = 0, None
        expires = (now + SESSION_FOR).isoformat()
        if portal:
            return _issue(session, user, "portal", expires, books.now(), PORTAL)
        return _issue(session, user, "login", expires, books.now())


def _count_attempt(books: Books, username: str, now: datetime):
    """(id, attempts so far, hash, active) of an unlocked user, counting this attempt at once;
    None for an unknown username; LoginRefused while the account is locked."""
    with books.session() as session:
        counted = session.execute(
            update(UserRow)
            .where(
                UserRow.username == username,
                or_(UserRow.locked_until.is_(None), UserRow.locked_until <= now.isoformat()),
            )
            .values(failed_logins=UserRow.failed_logins + 1)
            .returning(UserRow.id, UserRow.failed_logins, UserRow.password_hash, UserRow.active)
        ).first()
        if counted is None:
            locked = session.scalar(
                select(UserRow.locked_until).where(UserRow.username == username)
            )
            if locked:
                raise LoginRefused(f"too many failed logins: try again after {locked}")
    return counted


def _lock(books: Books, user_id: int, now: datetime) -> str:
    """Lock the account for LOCK_FOR; until when."""
    until = (now + LOCK_FOR).isoformat()
    with books.session() as session:
        user = session.get(UserRow, user_id)
        user.locked_until, user.failed_logins = until, 0
    return until


@cache
def _decoy() -> str:
    """A hash to check an unknown username's password against, so it costs what a known one
    does."""
    return HASHER.hash(secrets.token_urlsafe(32))


def _verify(password_hash: str, password: str) -> bool:
    """Checked on the hashing threads (see HASHING), outside any transaction."""
    return HASHING.submit(_matches, password_hash, password).result()


def _matches(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _issue(
    session: Session,
    user: UserRow,
    name: str,
    expires_at: str | None,
    now: str,
    prefix: str = PREFIX,
) -> str:
    token = prefix + secrets.token_urlsafe(32)
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
    check_identifier("name", name, TOKEN_NAME_LENGTH)
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


def authenticate(books: Books, token: str, portal: bool = False) -> Principal | None:
    """Who an API token is (a portal session id when `portal`); None for anything else."""
    if not token.startswith(PORTAL if portal else PREFIX):
        return None
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
    with books.reading().session() as session:
        row = session.scalar(select(TokenRow).where(TokenRow.token_hash == _digest(token)))
        if row is None or row.revoked or (row.expires_at and row.expires_at < now):
            return None
        user = session.get(UserRow, row.user_id)
        if not user.active:
            return None
        who = ("principal", user.username)  # the partner tree, read whole: once per change
        return books.remembered(who, lambda: principal(books, session, user), session)


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
