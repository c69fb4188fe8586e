"""Who is calling and what they may do: a bearer token names a user, the route names one
permission, and `accrue.domain.permissions.POLICY` decides. Every route is declared through
`Routes`, which records its permission (x-permission in OpenAPI, where the tests enumerate it)
and checks it before the handler runs; handlers take the checked caller as `Caller`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Select

from accrue.api.errors import ERRORS, NotSignedIn
from accrue.api.lists import EXPORTED, Page, item_fields, paging_parameters, with_paging
from accrue.domain.errors import NotFound
from accrue.domain.permissions import Forbidden, allows
from accrue.store.books import Books
from accrue.store.people import Principal, authenticate

PUBLIC = "public"
READING = ("GET", "HEAD")
WAIT = 0.002  # seconds between looks at a busy line store
bearer = HTTPBearer(auto_error=False, description="a login session or an API token")


@dataclass(frozen=True)
class Context:
    """The caller and the books, with the caller named in the audit trail."""

    user: Principal
    books: Books

    def check_partner(self, partner_id: str, what: str = "partner") -> None:
        """A partner outside the caller's scope does not exist, as far as they can tell."""
        if not self.user.scope.sees(partner_id):
            raise NotFound(f"no {what} {partner_id}")

    def visible(self, query: Select, partner_column) -> Select:
        """`query` narrowed to the partners the caller may see."""
        partners = self.user.scope.partners
        return query if partners is None else query.where(partner_column.in_(sorted(partners)))


async def _one_at_a_time(request: Request) -> AsyncIterator[None]:
    """Requests use the books in turn: the line store is one connection per process. They
    wait here, on whichever event loop serves them, without holding a worker thread."""
    lock = request.app.state.books_lock
    while not lock.acquire(blocking=False):
        await anyio.sleep(WAIT)
    try:
        yield
    finally:
        lock.release()


def public_books(request: Request, _: Annotated[None, Depends(_one_at_a_time)]) -> Books:
    return request.app.state.books


def records_only(request: Request) -> Books:
    """The books for work that never touches the line store (sign-in, pages that read only
    records): SQLAlchemy sessions are per request, so these need not wait their turn."""
    return request.app.state.books


@contextmanager
def line_store_turn(request: Request) -> Iterator[None]:
    """Inside a handler that was not given the books in turn: take the turn for the part that
    reads or writes the line store."""
    with request.app.state.books_lock:
        yield


def authorize(
    request: Request,
    books: Annotated[Books, Depends(public_books)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Context:
    """The caller, if the route's permission (see `Routes`) allows their role."""
    permission = permission_of(request.scope["route"])
    user = authenticate(books, credentials.credentials) if credentials else None
    if user is None:
        raise NotSignedIn("sign in: send Authorization: Bearer <token>")
    if not allows(user.role, permission):
        raise Forbidden(f"{user.role.value} users may not do this ({permission})")
    return Context(user, callers_books(request, books, user))


def callers_books(request: Request, books: Books, user: Principal) -> Books:
    """The books with `user` named in the audit trail; a read (GET) only reads them, so on
    PostgreSQL it never waits for a writer or a recalculation."""
    theirs = books.acting_as(user.username)
    return theirs.reading() if request.method in READING else theirs


Caller = Annotated[Context, Depends(authorize)]


class Routes(APIRouter):
    """An APIRouter whose every route states its permission (x-permission in OpenAPI), checked
    by `authorizer` (bearer tokens for the API; the portal passes its session's)."""

    def __init__(self, *args, authorizer=authorize, **options):
        super().__init__(*args, **options)
        self.authorizer = authorizer

    def route_with(self, method: str, path: str, permission: str, **options):
        """A route; a list (a `Page`) sorts by the columns `sort` names (default: its items'
        fields), and comes with its export, `<path>/export`, as another: `list_<id>` (for a
        GET) and `export_<id>`, `<id>` being `operation_id` or the handler's name."""
        extra = {**options.pop("openapi_extra", {}), "x-permission": permission}
        responses = {**ERRORS, **options.pop("responses", {})}
        if permission != PUBLIC:  # checked even if the handler never asks who is calling
            options["dependencies"] = [Depends(self.authorizer), *options.get("dependencies", [])]
        keys, name = options.pop("sort", None), options.pop("operation_id", None)
        model = options.get("response_model")
        declared = {"methods": [method], "openapi_extra": extra}
        if not (isinstance(model, type) and issubclass(model, Page)):
            return self.api_route(
                path, **declared, responses=responses, operation_id=name, **options
            )

        def listed(handler):
            noun = name or handler.__name__
            sortable = keys or item_fields(model)
            self.api_route(
                path + "/export",
                **declared,
                responses={**responses, 200: EXPORTED},
                operation_id=f"export_{noun}",
                response_class=Response,
                dependencies=options.get("dependencies"),
            )(with_paging(handler, paging_parameters(noun, sortable, exported=True)))
            listing = self.api_route(
                path,
                **declared,
                responses=responses,
                operation_id=f"list_{noun}" if method == "GET" else noun,
                **options,
            )
            return listing(with_paging(handler, paging_parameters(noun, sortable, exported=False)))

        return listed

    def read(self, path: str, permission: str, **options):
        return self.route_with("GET", path, permission, **options)

    def write(self, path: str, permission: str, **options):
        return self.route_with("POST", path, permission, **options)

    def replace(self, path: str, permission: str, **options):
        """A PUT: the whole of something the caller owns, replaced."""
        return self.route_with("PUT", path, permission, **options)


def permission_of(route) -> str | None:
    return (getattr(route, "openapi_extra", None) or {}).get("x-permission")


def declared_routes(app: FastAPI) -> list[RouteContext]:
    """Every operation the app serves, as mounted (path with its prefix, methods)."""
    return [r for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute)]
