"""Small raw-ASGI helpers: headers, body with a size limit, JSON and SSE responses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..core.errors import GatewayError
from ..formats.base import RequestContext

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_HEADERS = [(b"content-type", b"application/json")]
_STREAM_HEADERS: dict[bytes, list[tuple[bytes, bytes]]] = {}


def stream_headers(content_type: bytes) -> list[tuple[bytes, bytes]]:
    """Response headers of a stream in a renderer's content type (built once per content type)."""
    h = _STREAM_HEADERS.get(content_type)
    if h is None:
        h = _STREAM_HEADERS[content_type] = [
            (b"content-type", content_type),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
    return h


class ClientGone(Exception):
    """The client disconnected before the request was read."""


def header_map(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def request_context(scope: Scope, headers: dict[str, str]) -> RequestContext:
    """The dialect's view of a request (the body is read later, by the handler)."""
    return RequestContext(scope["method"], scope["path"], headers, scope.get("query_string", b""),
                          scope.get("path_params"))  # fmt: skip


async def read_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes:
    cl = headers.get("content-length")
    if cl is not None and cl.isdigit() and int(cl) > limit:
        raise GatewayError("payload_too_large", f"Request body is {int(cl)} bytes; the limit is {limit} bytes.",
                           code="payload_too_large")  # fmt: skip
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise ClientGone
        body = msg.get("body", b"")
        if body:
            size += len(body)
            if size > limit:
                raise GatewayError("payload_too_large", f"Request body exceeds the limit of {limit} bytes.",
                                   code="payload_too_large")  # fmt: skip
            chunks.append(body)
        if not msg.get("more_body"):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_bytes(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] = JSON_HEADERS
) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def error_headers(err: GatewayError) -> list[tuple[bytes, bytes]]:
    if err.retry_after is not None:
        return [*JSON_HEADERS, (b"retry-after", str(max(1, round(err.retry_after))).encode())]
    return JSON_HEADERS
