"""ASGI middleware that adds headers to some responses: the API's deprecation notice on
unversioned paths, the portal's Content-Security-Policy."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ResponseHeaders:
    """Adds the headers `headed` returns to a response (answered for the scope it returns);
    requests it returns None for pass untouched."""

    def __init__(self, app: ASGIApp):
        self.app = app

    def headed(self, scope: Scope) -> tuple[Scope, dict[str, str]] | None:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headed = self.headed(scope) if scope["type"] == "http" else None
        if headed is None:
            return await self.app(scope, receive, send)
        scope, headers = headed

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, with_headers)
