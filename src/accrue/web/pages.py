"""The portal's pages and form actions; each declares its permission like an API route."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException
from starlette.types import Scope

from accrue.api import errors
from accrue.api.middleware import ResponseHeaders
from accrue.api.security import PUBLIC, Routes, line_store_turn, records_only
from accrue.api.throttle import TooManyAttempts, throttled
from accrue.domain.errors import NotFound, Refused
from accrue.domain.permissions import Role
from accrue.export.statements import names_for, render
from accrue.store import notify, people
from accrue.store.books import Books
from accrue.store.statements import statement
from accrue.web import partner as landing
from accrue.web import views
from accrue.web.formats import FILTERS
from accrue.web.session import (
    SESSION_ID,
    Checked,
    Missing,
    NotForYou,
    SessionCookie,
    SignInFirst,
    Viewer,
    csrf_token,
    page_authorize,
)

HERE = Path(__file__).parent
# Scripts and styles only as files from this server: an inline script or handler, however it
# got into a page, does not run. Swagger UI (/docs) starts itself inline, so it goes without.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
WITHOUT_POLICY = ("/docs",)
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(FILTERS)
pages = Routes(authorizer=page_authorize, include_in_schema=False)
HOME = {
    Role.PARTNER: "/partner",
    Role.REP: "/rep",
    Role.FINANCE: "/finance",
    Role.APPROVER: "/approvals",
    Role.AUDITOR: "/audit",
    Role.ADMIN: "/finance",
    Role.PROGRAM_MANAGER: "/programs",
}


def page(request: Request, name: str, status: int = 200, **values) -> HTMLResponse:
    user = values.pop("user", None)
    notice = request.session.pop("notice", None)
    context = {"csrf": csrf_token(request), "user": user, "notice": notice, **values}
    if user is not None:  # the bell's number, on every page of a signed-in person
        context["unread"] = notify.unread(request.app.state.books.reading(), user.username)
    return templates.TemplateResponse(request, name, context, status_code=status)


def saved_as(*media_types: str) -> dict:
    """A route's options for a file the browser saves, in one of `media_types`."""
    return {
        "response_class": Response,
        "responses": {200: {"content": {media: {} for media in media_types}}},
    }


def download(content: bytes | str, media_type: str, name: str) -> Response:
    """A file the browser saves as `name`."""
    disposition = f'attachment; filename="{name}"'
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


def back(request: Request, to: str, notice: str) -> RedirectResponse:
    request.session["notice"] = notice
    return RedirectResponse(to, status_code=303)


@pages.read("/login", PUBLIC, response_class=HTMLResponse)
def login_form(request: Request):
    return page(request, "login.html")


@pages.write("/login", PUBLIC, response_class=HTMLResponse)
def login(
    request: Request,
    books: Annotated[Books, Depends(records_only)],
    _: Checked,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
):
    try:
        with throttled(request):
            session_id = people.login(books, username, password, portal=True)
    except people.LoginRefused as refused:
        status = 429 if isinstance(refused, TooManyAttempts) else 401
        return page(request, "login.html", status, error=str(refused), username=username)
    request.session.clear()  # a new session: nothing carried over from before the login
    request.session[SESSION_ID] = session_id
    return RedirectResponse("/", status_code=303)


@pages.write("/logout", "self:read")
def logout(request: Request, viewer: Viewer, _: Checked):
    people.revoke(viewer.books, request.session.get(SESSION_ID, ""))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@pages.read("/", "self:read")
def home(viewer: Viewer):
    return RedirectResponse(HOME[viewer.user.role], status_code=303)


@pages.read("/partner", "standings:read", response_class=HTMLResponse)
def partner(request: Request, viewer: Viewer, show: Annotated[str, Query(max_length=64)] = ""):
    """Totals, the best next moves, then one card per program by the kind of period: progress to
    the next tier, the gap, what it pays. Staff, who see every partner, choose one (`?show=D01`)."""
    today = viewer.books.clock().date()
    return page(
        request,
        "partner.html",
        user=viewer.user,
        view=landing.landing(viewer, today, show or None),
        statements=views.statement_periods(viewer, today),
        alerts=views.alerts(viewer, today),
    )


@pages.read(
    "/statements/{partner_id}/{period}.pdf", "settlements:read", **saved_as("application/pdf")
)
def statement_pdf(request: Request, partner_id: str, period: str, viewer: Viewer):
    """A partner's statement for a period, as a PDF."""
    if not viewer.user.scope.sees(partner_id):
        raise Missing(f"no statement for {partner_id}")
    try:
        with line_store_turn(request):
            found = statement(viewer.books, partner_id, period)
        names = names_for(viewer.books, found)
    except (NotFound, Refused) as missing:
        raise Missing(str(missing)) from None
    content = render(found, names)
    return download(content, "application/pdf", f"statement-{partner_id}-{period}.pdf")


class ContentSecurity(ResponseHeaders):
    """The Content-Security-Policy on every response but `WITHOUT_POLICY`."""

    def headed(self, scope: Scope) -> tuple[Scope, dict[str, str]] | None:
        if scope["path"] in WITHOUT_POLICY:
            return None
        return scope, {"Content-Security-Policy": CONTENT_SECURITY_POLICY}


def mount_portal(app: FastAPI, secret: str, secure: bool | None = None) -> None:
    """The pages, their static files, the session cookie (Secure when `secure`, or when None
    for requests that came over HTTPS), the Content-Security-Policy, and what a refusal looks
    like."""
    app.add_middleware(ContentSecurity)
    app.add_middleware(SessionCookie, secret=secret, secure=secure)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages)

    @app.exception_handler(SignInFirst)
    def sign_in(request: Request, error: SignInFirst):
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(NotForYou)
    def refused(request: Request, error: NotForYou):
        return error_page(request, 403, str(error))

    @app.exception_handler(Missing)
    def missing(request: Request, error: Missing):
        return error_page(request, 404, str(error))

    @app.exception_handler(HTTPException)
    def http_error(request: Request, error: HTTPException):
        """A person who follows a wrong link gets a page; a program calling the API, JSON."""
        if for_programs(request):
            return errors.body(error.status_code, str(error.detail))
        said = f"no page {request.url.path}" if error.status_code == 404 else str(error.detail)
        return error_page(request, error.status_code, said)

    invalid_request = app.exception_handlers[RequestValidationError]

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, error: RequestValidationError):
        if for_programs(request):
            return invalid_request(request, error)
        fields = ", ".join(str(e["loc"][-1]) for e in error.errors())
        return error_page(request, 400, f"this page cannot use what was sent ({fields})")


def for_programs(request: Request) -> bool:
    """The API and its description answer in JSON; everything else is the portal's."""
    return request.url.path.startswith(("/api/", "/openapi.json", "/docs", "/redoc"))


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """The refusal as a page with the navigation of whoever is signed in."""
    session_id = request.session.get(SESSION_ID)
    books = request.app.state.books
    user = people.authenticate(books, session_id, portal=True) if session_id else None
    return page(request, "refused.html", status, user=user, message=message)
