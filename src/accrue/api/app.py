"""The application: the books opened once per process, every router, one error body."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from accrue import __version__
from accrue.api import errors
from accrue.api.middleware import ResponseHeaders
from accrue.api.routes import (
    analytics,
    audit,
    books,
    catalog,
    claims,
    jobs,
    lines,
    money_out,
    notices,
    people,
)
from accrue.api.throttle import Throttle
from accrue.app.jobs import working
from accrue.settings import Settings
from accrue.store.books import Books, Clock, utc_now
from accrue.store.outbox import delivering
from accrue.web import (  # noqa: F401
    admin,
    approver,
    auditor,
    claiming,
    disputes,
    finance_pages,
    health,
    insight,
    rep,
    rules,
)
from accrue.web import jobs as job_pages  # noqa: F401
from accrue.web import notices as notice_pages  # noqa: F401
from accrue.web.pages import mount_portal

API = "/api/v1"  # the version in every path; `/api/...` answers as `/api/v1/...` for a release

DESCRIPTION = """
Accrue's REST API: programs, master data, lines, standings, the ledger, settlements, approvals,
payouts and the audit trail.

Sign in with `POST /api/v1/auth/login` (or use an API token) and send `Authorization: Bearer
<token>`. Each operation names the permission it needs (`x-permission`); partner users and
sales reps see only their own partners. Paths without the version (`/api/lines`) still answer,
as their `/api/v1` successor with a `Deprecation` header, for this release. Lists take
`limit`, `offset`, `sort` and their filters; `<list>/export?format=csv|xlsx` returns all of it
as a file. Money is exact decimal text. A request sent again changes nothing (a claim answers
as the first time); a claim number sent again with other content is a 409 naming it. Errors
look alike: `{"error": {"status", "message", "problems": [{"field", "message", "file", "line",
"value"}]}}`.
"""


def create_app(settings: Settings | None = None, clock: Clock = utc_now) -> FastAPI:
    """The app over the books `settings` name (opened now, closed when the server stops)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        books, lock = app.state.books, app.state.books_lock
        try:
            interval = books.settings.outbox_interval
            with delivering(books, lambda: lock, interval), working(books, lambda: lock, interval):
                yield
        finally:
            books.close()

    app = FastAPI(
        title="Accrue",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        servers=[{"url": "/", "description": "this server"}],
        generate_unique_id_function=operation_id,
    )
    _serve_docs(app)
    chosen = settings or Settings()
    app.state.books = Books.open(chosen, clock)
    app.state.books_lock = threading.Lock()
    app.state.sign_ins = Throttle()
    errors.install(app)
    app.add_middleware(errors.RefuseNul)
    app.add_middleware(Unversioned)
    for module in (
        people,
        notices,
        catalog,
        lines,
        books,
        money_out,
        claims,
        analytics,
        audit,
        jobs,
    ):
        app.include_router(module.routes, prefix=API)
    mount_portal(app, chosen.session_secret(), chosen.secure_cookies)
    _uploads_as_binary(app)
    return app


def _uploads_as_binary(app: FastAPI) -> None:
    """OpenAPI 3.1 describes an upload field by `contentMediaType` alone, which client
    generators read as a string (and the server then answers "Expected UploadFile"); adding
    `format: binary` makes them send a file."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            for schema in generate().get("components", {}).get("schemas", {}).values():
                for field in schema.get("properties", {}).values():
                    if field.get("contentMediaType") == "application/octet-stream":
                        field["format"] = "binary"
        return app.openapi_schema

    app.openapi = openapi


class Unversioned(ResponseHeaders):
    """A path from before versioning (`/api/lines`) is answered as its `/api/v1` successor,
    with `Deprecation` and a `Link` to the successor, so integrations keep working for a
    release while they move."""

    def headed(self, scope: Scope) -> tuple[Scope, dict[str, str]] | None:
        path = scope["path"]
        if not path.startswith("/api/") or path.startswith(API + "/"):
            return None
        successor = API + path.removeprefix("/api")
        notice = {"Deprecation": "true", "Link": f'<{successor}>; rel="successor-version"'}
        return {**scope, "path": successor, "raw_path": successor.encode()}, notice


def operation_id(route: APIRoute) -> str:
    """An operation's id is its function's name (`close_period`, not
    `close_api_periods__label__close_post`): what a generated client calls it."""
    return route.name


def _serve_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from files shipped in a package, never from a CDN."""
    files = Path(swagger_ui.__file__).parent / "static"
    app.mount("/static/swagger", StaticFiles(directory=files), name="swagger")

    def docs(_: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="Accrue API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    app.add_route("/docs", docs, include_in_schema=False)
