"""Who is calling and what they may do: a bearer token names a user, the route names one
permission, and `accrue.domain.permissions.POLICY` decides. Every route is declared through
`Routes`, which records its permission where the tests can enumerate it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from accrue.api.errors import ERRORS, NotSignedIn
from accrue.domain.permissions import Forbidden, allows
from accrue.store.books import Books
from accrue.store.people import Principal, authenticate

PUBLIC = "public"
bearer = HTTPBearer(auto_error=False, description="a login session or an API token")

# The embedded line store is one DuckDB connection: requests touching the books take turns.
BOOKS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Context:
    """The caller and the books, with the caller named in the audit trail."""

    user: Principal
    books: Books

    def check_partner(self, partner_id: str) -> None:
        """A partner outside the caller's scope does not exist, as far as they can tell."""
        if not self.user.scope.sees(partner_id):
            raise LookupError(f"no partner {partner_id}")


def _books(request: Request) -> Books:
    return request.app.state.books


def guard(permission: str) -> Callable[..., Iterator[Context]]:
    def context(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Iterator[Context]:
        books = _books(request)
        with BOOKS_LOCK:
            user = authenticate(books, credentials.credentials) if credentials else None
            if user is None:
                raise NotSignedIn("sign in: send Authorization: Bearer <token>")
            if not allows(user.role, permission):
                raise Forbidden(f"{user.role.value} users may not do this ({permission})")
            yield Context(user, books.acting_as(user.username))

    return context


def public_books(request: Request) -> Iterator[Books]:
    with BOOKS_LOCK:
        yield _books(request)


class Routes(APIRouter):
    """An APIRouter whose every route states its permission (x-permission in OpenAPI)."""

    def route_with(self, method: str, path: str, permission: str, **options):
        extra = {**options.pop("openapi_extra", {}), "x-permission": permission}
        responses = {**ERRORS, **options.pop("responses", {})}
        return self.api_route(
            path, methods=[method], openapi_extra=extra, responses=responses, **options
        )

    def read(self, path: str, permission: str, **options):
        return self.route_with("GET", path, permission, **options)

    def write(self, path: str, permission: str, **options):
        return self.route_with("POST", path, permission, **options)


def permission_of(route) -> str | None:
    return (getattr(route, "openapi_extra", None) or {}).get("x-permission")
