"""Request bodies looked at before any route reads them: a NUL byte in the text of a JSON body
or a form is refused (422). It is never part of a name, a reason or an id, and PostgreSQL cannot
hold one, so it would otherwise end as a 500 wherever the text is stored. (A NUL in the address
is refused by `accrue.api.errors.RefuseNul`; files uploaded in a multipart form may hold any
byte, and their readers judge them.)"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accrue.api.errors import body

# a NUL as each body writes it: JSON's escape (not one whose backslash is itself escaped), a
# form's percent-encoding
NUL = {
    "application/json": re.compile(rb"(?<!\\)(?:\\\\)*\\u0000"),
    "application/x-www-form-urlencoded": re.compile(rb"%00"),
}


class RefuseNulInBodies:
    """A JSON or form body holding a NUL byte is answered 422; any other request, and the
    body once read, go on to the app as they came."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        nul = _nul_of(scope)
        if nul is None:
            await self.app(scope, receive, send)
            return
        content = await _whole_body(receive)
        if nul.search(content):
            await body(422, "the request contains a NUL byte")(scope, receive, send)
            return
        await self.app(scope, _replaying(content, receive), send)


def _nul_of(scope: Scope) -> re.Pattern | None:
    """How a NUL is written in this request's body, when it is JSON or a form."""
    if scope["type"] != "http":
        return None
    headers = dict(scope["headers"])
    media = headers.get(b"content-type", b"").split(b";")[0].strip().decode("latin-1").lower()
    return NUL.get("application/json" if media.endswith("+json") else media)


async def _whole_body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replaying(content: bytes, receive: Receive) -> Receive:
    """`receive` that gives the body already read first, then what the client sends next (its
    disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": content, "more_body": False}

    return replay
