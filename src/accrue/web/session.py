"""Who is looking at a page: a login session in a signed, HttpOnly, SameSite cookie that holds
an opaque session id (never an API token), Secure over HTTPS; every form carries the session's
CSRF token; every page states its permission like an API route."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Form, Request
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from accrue.api.security import Context, callers_books, permission_of, records_only
from accrue.domain.permissions import allows
from accrue.store.books import Books
from accrue.store.people import SESSION_FOR, authenticate

SESSION_ID = "session_id"


class SessionCookie:
    """Starlette's signed session cookie, marked Secure when `secure` says so, or (when it is
    None) for requests that came over HTTPS: directly, or through a proxy the server trusts
    (uvicorn takes the scheme from X-Forwarded-Proto of proxies in --forwarded-allow-ips)."""

    def __init__(self, app: ASGIApp, secret: str, secure: bool | None):
        options = {
            "secret_key": secret,
            "session_cookie": "accrue_session",
            "max_age": int(SESSION_FOR.total_seconds()),
            "same_site": "lax",
        }
        self.secure = secure
        self.plain = SessionMiddleware(app, https_only=False, **options)
        self.marked = SessionMiddleware(app, https_only=True, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        secure = self.secure
        if secure is None:
            secure = scope.get("scheme") in ("https", "wss")
        await (self.marked if secure else self.plain)(scope, receive, send)


class SignInFirst(Exception):
    """No session, or one that expired: the login page, then back here."""

    def __init__(self, path: str):
        self.path = path


class Missing(Exception):
    """Not there, or not the viewer's to see: the same answer, so scope leaks nothing."""


class NotForYou(Exception):
    """A page or action the person's role may not use, or a form that is stale."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made when first needed."""
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(32)
    return request.session["csrf"]


def checked(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> None:
    """A form is accepted only with the token of this session."""
    expected = request.session.get("csrf", "")
    if not expected or not secrets.compare_digest(csrf, expected):
        raise NotForYou("this form has expired: reload the page and try again")


def page_authorize(request: Request, books: Annotated[Books, Depends(records_only)]) -> Context:
    session_id = request.session.get(SESSION_ID)
    user = authenticate(books, session_id, portal=True) if session_id else None
    if user is None:
        request.session.pop(SESSION_ID, None)
        raise SignInFirst(request.url.path)
    permission = permission_of(request.scope["route"])
    if not allows(user.role, permission):
        raise NotForYou(f"{user.role.value.replace('_', ' ')} users may not see this page")
    return Context(user, callers_books(request, books, user))


Viewer = Annotated[Context, Depends(page_authorize)]
Checked = Annotated[None, Depends(checked)]
