"""The upstream client: mapping upstream error answers to gateway errors, and the connect / first-byte /
idle timeouts (a real aiohttp server on loopback; no gateway in between)."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from email.utils import formatdate

import pytest
from aiohttp import ClientResponse, web

from any2api.config import ErrorRule, Timeouts
from any2api.core.errors import GatewayError
from any2api.upstream import Upstream, iter_body, map_upstream_error, read_body

pytestmark = pytest.mark.anyio

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# --- statuses and bodies -> errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "gateway_status", "retryable"),
    [
        (400, "invalid_request", 400, False),
        (404, "not_found", 404, False),
        (408, "timeout", 504, True),
        (409, "invalid_request", 400, False),
        (413, "payload_too_large", 413, False),
        (422, "invalid_request", 400, False),
        (429, "rate_limit", 429, True),
        (500, "upstream", 502, True),
        (502, "upstream", 502, True),
        (503, "overloaded", 503, True),
        (504, "timeout", 504, True),
        (529, "overloaded", 503, True),
        (418, "upstream", 502, True),  # anything else: the upstream failed
    ],
)
def test_status_maps_to_kind(status: int, kind: str, gateway_status: int, retryable: bool) -> None:
    err = map_upstream_error(status, b'{"error": {"message": "the reason"}}')
    assert err.kind == kind
    assert err.status == gateway_status
    assert err.retryable is retryable
    assert err.upstream_status == status
    assert "the reason" in err.message


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_are_an_upstream_failure_tried_on_another_account(status: int) -> None:
    err = map_upstream_error(status, b'{"error": {"message": "Incorrect API key"}}', provider="ds")
    assert err.kind == "upstream"  # the client's own key was fine: not a 401 to the client
    assert err.status == 502
    assert err.code == "upstream_auth_failed"
    assert err.retryable
    assert f"HTTP {status}" in err.message
    assert "Incorrect API key" in err.message
    assert "ds" in err.message


def test_server_errors_say_the_upstream_status() -> None:
    err = map_upstream_error(500, b'{"error": {"message": "boom", "type": "server_error"}}')
    assert err.message == "Upstream error (HTTP 500): boom"
    assert err.code == "server_error"


def test_client_errors_keep_the_upstream_message_and_code() -> None:
    err = map_upstream_error(400, b'{"error": {"message": "bad temperature", "code": "invalid_value"}}')
    assert err.message == "bad temperature"
    assert err.code == "invalid_value"


def test_not_found_naming_a_model_is_model_not_found() -> None:
    assert (
        map_upstream_error(404, b'{"error": {"message": "The model x does not exist"}}').code
        == "model_not_found"
    )
    assert map_upstream_error(404, b'{"error": {"message": "no such route"}}').code == "not_found"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error": {"message": "openai style"}}', "openai style"),
        (
            b'{"type": "error", "error": {"type": "overloaded_error", "message": "anthropic style"}}',
            "anthropic style",
        ),
        (
            b'[{"error": {"code": 429, "message": "gemini style", "status": "RESOURCE_EXHAUSTED"}}]',
            "gemini style",
        ),
        (b'{"error": "just a string"}', "just a string"),
        (b'{"detail": "fastapi style"}', "fastapi style"),
        (b"plain text reason", "plain text reason"),
        (b"", "HTTP 400"),
    ],
)
def test_the_reason_is_found_in_any_common_body_shape(body: bytes, message: str) -> None:
    assert map_upstream_error(400, body).message == message


def test_an_html_error_page_is_reduced_to_its_title() -> None:
    page = (
        b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway &amp; friends</title><style>body{}</style></head>"
        b"<body><h1>502 Bad Gateway</h1><p>" + b"x" * 5000 + b"</p></body></html>"
    )
    err = map_upstream_error(502, page)
    assert err.message == "Upstream error (HTTP 502): 502 Bad Gateway & friends"
    assert "<" not in err.message


def test_an_html_page_without_title_is_reduced_to_its_text() -> None:
    err = map_upstream_error(503, b"<html><body><h1>Service</h1>\n<p>Unavailable</p></body></html>")
    assert err.message == "Upstream error (HTTP 503): Service Unavailable"


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"x-ratelimit-reset-requests": "12s"}, 12.0),
        ({"anthropic-ratelimit-requests-reset": "3s"}, 3.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert map_upstream_error(429, b"slow down", headers).retry_after == seconds


def test_retry_after_as_an_http_date() -> None:
    err = map_upstream_error(429, b"slow down", {"Retry-After": formatdate(time.time() + 30, usegmt=True)})
    assert err.retry_after is not None
    assert 25 <= err.retry_after <= 31


def test_error_rules_come_first_and_match_by_substring_regex_and_status() -> None:
    rules = [
        ErrorRule(kind="quota_exceeded", match="Daily usage limit exceeded", code="daily_quota"),
        ErrorRule(kind="overloaded", regex=re.compile(r"busy \d+"), upstream_status=200),
        ErrorRule(kind="rate_limit", upstream_status=418, status=429),
    ]
    quota = map_upstream_error(
        400, b'{"error": {"message": "Daily usage limit exceeded"}}', {"Retry-After": "60"}, rules
    )
    assert (quota.kind, quota.status, quota.code, quota.retry_after) == (
        "quota_exceeded",
        429,
        "daily_quota",
        60.0,
    )
    assert quota.message == "Daily usage limit exceeded"
    assert quota.upstream_status == 400
    assert not quota.retryable

    busy = map_upstream_error(200, b"server busy 42", None, rules)
    assert (busy.kind, busy.code) == ("overloaded", "overloaded")
    assert map_upstream_error(500, b"server busy 42", None, rules).kind == "upstream"  # status does not match

    teapot = map_upstream_error(418, b"short and stout", None, rules)
    assert (teapot.kind, teapot.status) == ("rate_limit", 429)


# --- the HTTP client: connect, first byte, idle -------------------------------------------------------------


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[str]:
    """An aiohttp server on a free loopback port answering every path with ``handler``; its base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def drain(
    resp: ClientResponse,
    into: list[bytes | None] | None = None,
    idle: float = 2,
    heartbeat: float | None = None,
) -> None:
    """Read the body with ``iter_body``, keeping what it yields (chunks, None for heartbeats)."""
    async for chunk in iter_body(resp, idle, heartbeat):
        if into is not None:
            into.append(chunk)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    u = Upstream(Timeouts(connect=0.5, first_byte=0.5, idle=0.5))
    yield u
    await u.close()


async def test_an_answer_comes_back_with_its_body(upstream: Upstream) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text=f"{request.method} {request.path} {await request.text()}")

    async with serve(ok) as url:
        resp = await upstream.request("POST", url + "/v1/x", data=b"hi", headers={"A": "b"})
        try:
            assert resp.status == 200
            assert await read_body(resp, 1) == b"POST /v1/x hi"
        finally:
            resp.release()


async def test_no_response_head_within_first_byte_timeout_is_504(upstream: Upstream) -> None:
    async def silent(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="too late")

    async with serve(silent) as url:
        started = time.monotonic()
        with pytest.raises(GatewayError) as e:
            await upstream.request("GET", url)
        assert time.monotonic() - started < 3
    assert (e.value.kind, e.value.status, e.value.code) == ("timeout", 504, "upstream_timeout")
    assert e.value.retryable


async def test_silence_mid_body_longer_than_idle_timeout_is_504(upstream: Upstream) -> None:
    async def stalls(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"data: first\n\n")
        await asyncio.sleep(5)
        return resp

    async with serve(stalls) as url:
        resp = await upstream.request("GET", url)
        got: list[bytes | None] = []
        try:
            with pytest.raises(GatewayError) as e:
                await drain(resp, got, idle=0.5, heartbeat=0.2)
        finally:
            resp.release()
    assert got[0] == b"data: first\n\n"
    assert None in got  # heartbeats were offered while waiting
    assert (e.value.kind, e.value.status, e.value.code) == ("timeout", 504, "upstream_idle_timeout")


async def test_a_body_that_never_completes_is_504(upstream: Upstream) -> None:
    async def slow_body(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": "100"})
        await resp.prepare(request)
        await resp.write(b"partial")
        await asyncio.sleep(5)
        return resp

    async with serve(slow_body) as url:
        resp = await upstream.request("GET", url)
        try:
            with pytest.raises(GatewayError) as e:
                await read_body(resp, 0.5)
        finally:
            resp.release()
    assert (e.value.kind, e.value.status) == ("timeout", 504)


async def test_a_stream_cut_mid_body_is_an_upstream_disconnect(upstream: Upstream) -> None:
    async def cut(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": "100"})
        await resp.prepare(request)
        await resp.write(b"partial")
        assert request.transport is not None
        request.transport.close()
        return resp

    async with serve(cut) as url:
        resp = await upstream.request("GET", url)
        try:
            with pytest.raises(GatewayError) as e:
                await drain(resp)
        finally:
            resp.release()
    assert (e.value.kind, e.value.status, e.value.code) == ("upstream", 502, "upstream_disconnected")


async def test_nothing_listening_is_502_unreachable(upstream: Upstream) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(GatewayError) as e:
        await upstream.request("GET", f"http://127.0.0.1:{port}/")
    assert (e.value.kind, e.value.status, e.value.code) == ("upstream", 502, "upstream_unreachable")
    assert e.value.retryable


async def test_no_connection_within_connect_timeout_is_504(upstream: Upstream) -> None:
    # a listener that never accepts, its backlog filled: further connection attempts get no answer
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        await asyncio.sleep(0.2)
        slow = Timeouts(connect=0.3, first_byte=5, idle=5)
        with pytest.raises(GatewayError) as e:
            await upstream.request("GET", f"http://127.0.0.1:{port}/", timeouts=slow)
    finally:
        for s in fillers:
            s.close()
        srv.close()
    assert (e.value.kind, e.value.status, e.value.code) == ("timeout", 504, "upstream_connect_timeout")
