"""One error body for every failure: what is wrong, and which field (and file, line) it is.

{"error": {"status": 422, "message": "...", "problems": [{"field": "amount", ...}]}}
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from accrue.api.throttle import TooManyAttempts
from accrue.domain.errors import Conflict, NotFound, Refused
from accrue.domain.permissions import Forbidden
from accrue.domain.program import ProgramError
from accrue.ingest.errors import InputError
from accrue.ingest.x12 import X12Error
from accrue.store.people import LoginRefused

log = logging.getLogger("accrue.api")


class ProblemOut(BaseModel):
    field: str | None = None
    message: str
    file: str | None = None
    line: int | None = None
    value: str | None = None


class ErrorOut(BaseModel):
    status: int
    message: str
    problems: list[ProblemOut] = []


class ErrorBody(BaseModel):
    error: ErrorOut


ERRORS = {
    401: {"model": ErrorBody, "description": "not signed in"},
    403: {"model": ErrorBody, "description": "not allowed for this role or partner"},
    404: {"model": ErrorBody, "description": "not found (or outside the caller's scope)"},
    409: {"model": ErrorBody, "description": "refused by a business rule"},
    422: {"model": ErrorBody, "description": "invalid input, naming the field"},
}
THROTTLED = {429: {"model": ErrorBody, "description": "too many failed sign-ins from this address"}}


class NotSignedIn(PermissionError):
    """No token, or one that is unknown, expired or revoked."""


def body(status: int, message: str, problems: list[dict] | None = None) -> JSONResponse:
    error = ErrorOut(status=status, message=message, problems=problems or [])
    return JSONResponse(ErrorBody(error=error).model_dump(), status_code=status)


def _field(message: str) -> str | None:
    """Store messages start with the field they are about: "password: use at least …"."""
    head, _, rest = message.partition(": ")
    return head if rest and head.isidentifier() else None


class RefuseNul:
    """A NUL byte in a URL's path or query is refused (422) before any route sees it: it is
    never part of an id, and PostgreSQL cannot even compare text with one."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")
        ):
            await body(422, "the address contains a NUL byte")(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    def invalid_request(_: Request, error: RequestValidationError):
        problems = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path")),
                "message": e["msg"],
                "value": None if e.get("input") is None else str(e.get("input"))[:200],
            }
            for e in error.errors()
        ]
        return body(422, "invalid request", problems)

    @app.exception_handler(HTTPException)
    def http_error(_: Request, error: HTTPException):
        return body(error.status_code, str(error.detail))

    @app.exception_handler(InputError)
    def input_error(_: Request, error: InputError):
        problems = [
            {
                "file": p.file,
                "line": p.line,
                "field": p.field,
                "value": None if p.value is None else str(p.value),
                "message": p.message,
            }
            for p in error.problems
        ]
        return body(422, f"{len(problems)} problem(s) in the input", problems)

    @app.exception_handler(X12Error)
    def edi_error(_: Request, error: X12Error):
        problem = {
            "file": error.source,
            "line": error.line,
            "message": error.detail,
            "field": error.element or error.segment,
        }
        return body(422, str(error), [problem])

    @app.exception_handler(ProgramError)
    def program_error(_: Request, error: ProgramError):
        problems = [
            {
                "file": error.source,
                "field": field or None,
                "message": message + (f" — {hint}" if hint else ""),
            }
            for field, message, hint in error.problems
        ]
        return body(422, f"{len(problems)} problem(s) in the program", problems)

    @app.exception_handler(NotSignedIn)
    def not_signed_in(_: Request, error: NotSignedIn):
        return body(401, str(error))

    @app.exception_handler(LoginRefused)
    def login_refused(_: Request, error: LoginRefused):
        if isinstance(error, TooManyAttempts):
            answer = body(429, str(error))
            answer.headers["Retry-After"] = str(error.wait)
            return answer
        return body(401, str(error))

    @app.exception_handler(Forbidden)
    def forbidden(_: Request, error: Forbidden):
        return body(403, str(error))

    @app.exception_handler(NotFound)
    def not_found(_: Request, error: NotFound):
        return body(404, str(error).strip("'\""))

    @app.exception_handler(Refused)
    def refused(_: Request, error: Refused):
        message = str(error)
        status = 409 if isinstance(error, Conflict) else 422
        return body(status, message, [{"field": _field(message), "message": message}])

    @app.exception_handler(Exception)
    def bug(request: Request, error: Exception):
        """Anything else is a bug: logged with its trace, answered without one."""
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return body(500, "internal error: this is a bug in Accrue, and it has been logged")
