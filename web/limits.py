"""How much a request may send: refused from its Content-Length at once, or counted as a chunked body streams.

An ASGI middleware, so nothing (form parsing, spooling uploads to disk) sees more than its route allows.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SMALL_BODY = 64 * 1024  # a form of a few fields, with room to spare


class _TooLarge(Exception):
    """The body went past its limit while it streamed."""


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


class BodyLimit:
    """Answers 413 to a body over its route's limit (`limit_of(method, path)` in bytes) before it is read."""

    def __init__(self, app: ASGIApp, limit_of: Callable[[str, str], int]) -> None:
        self.app, self.limit_of = app, limit_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["method"], scope["path"])
        declared = _declared_length(scope)
        if declared is not None and (declared < 0 or declared > limit):
            await _refuse(scope, receive, send, limit)
            return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if started:
                raise
            await _refuse(scope, receive, send, limit)


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    # The server closes the connection after this answer, since the body was not read to its end.
    size = f"{limit // 1_000_000} MB" if limit >= 1_000_000 else f"{limit // 1024} KB"
    answer = PlainTextResponse(f"This request is too large: at most {size} may be sent here.", status_code=413,
                               headers={"Connection": "close"})
    await answer(scope, receive, send)
