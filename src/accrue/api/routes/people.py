"""Signing in and out, who am I, users and their API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select

from accrue.api.errors import THROTTLED
from accrue.api.lists import Listed, Page, listing
from accrue.api.schemas import LoginIn, MeOut, TokenIn, TokenOut, UserIn, UserOut
from accrue.api.security import PUBLIC, Caller, Routes, records_only
from accrue.api.throttle import throttled
from accrue.store import people
from accrue.store.books import Books
from accrue.store.tables import UserRow

routes = Routes(tags=["people"])


@routes.write("/auth/login", PUBLIC, response_model=TokenOut, responses=THROTTLED)
def login(request: Request, credentials: LoginIn, books: Annotated[Books, Depends(records_only)]):
    """A session token for 12 hours; five wrong passwords lock the account for 15 minutes, and
    ten failed sign-ins from one address in a minute hold that address back (429)."""
    with throttled(request):
        return TokenOut(token=people.login(books, credentials.username, credentials.password))


@routes.write("/auth/logout", "self:read", status_code=204)
def logout(request: Request, context: Caller):
    """Revoke the token this request was made with."""
    people.revoke(context.books, request.headers["authorization"].partition(" ")[2])


@routes.read("/me", "self:read", response_model=MeOut, operation_id="who_am_i")
def me(context: Caller):
    user = context.user
    partners = user.scope.partners
    return MeOut(
        username=user.username,
        role=user.role,
        partner_id=user.partner_id,
        rep_id=user.rep_id,
        partners=None if partners is None else sorted(partners),
    )


@routes.read(
    "/users", "users:read", response_model=Page[UserOut], sort=("username", "role", "created_at")
)
def users(context: Caller, paging: Listed):
    with context.books.session() as session:
        return listing(
            session,
            select(UserRow),
            UserRow,
            paging,
            UserOut.model_validate,
            "users",
        )


@routes.write("/users", "users:write", response_model=UserOut, status_code=201)
def create_user(user: UserIn, context: Caller):
    return people.create_user(context.books, **user.model_dump())


@routes.write("/users/{username}/tokens", "users:write", response_model=TokenOut, status_code=201)
def issue_token(username: str, token: TokenIn, context: Caller):
    """An API token for an integration acting as this user; shown once, stored as a hash."""
    return TokenOut(token=people.issue_token(context.books, username, token.name))
