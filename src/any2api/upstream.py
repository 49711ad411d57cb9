"""The upstream HTTP client: one pooled aiohttp session, timeouts, and upstream-error mapping."""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import AsyncIterator, Sequence
from email.utils import parsedate_to_datetime

import aiohttp
import orjson

from .config_types import ErrorRule, Timeouts
from .core.errors import DEFAULT_STATUS, ErrorKind, GatewayError


class Upstream:
    """Owns the aiohttp session (created lazily inside the running loop)."""

    def __init__(self, timeouts: Timeouts, global_rules: Sequence[ErrorRule] = ()) -> None:
        self.timeouts = timeouts
        self.global_rules = list(global_rules)
        self._session: aiohttp.ClientSession | None = None
        self._client_timeouts: dict[float, aiohttp.ClientTimeout] = {}

    @property
    def session(self) -> aiohttp.ClientSession:
        s = self._session
        if s is None or s.closed:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60)
            s = self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.timeouts.connect),
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
            )
        return s

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeouts: Timeouts | None = None,
        proxy: str | None = None,
    ) -> aiohttp.ClientResponse:
        """Send and wait for the response head (bounded by the first-byte timeout).

        Connection failures and timeouts become :class:`GatewayError`. The caller owns the response and
        must release it."""
        t = timeouts or self.timeouts
        ct = self._client_timeouts.get(t.connect)
        if ct is None:
            ct = self._client_timeouts[t.connect] = aiohttp.ClientTimeout(total=None, sock_connect=t.connect)
        try:
            async with asyncio.timeout(t.first_byte):
                return await self.session.request(
                    method, url, data=data, headers=headers, proxy=proxy, timeout=ct
                )
        except aiohttp.ConnectionTimeoutError:
            raise GatewayError(
                "timeout",
                f"Could not connect to upstream within {t.connect:g}s",
                code="upstream_connect_timeout",
            ) from None
        except TimeoutError:
            raise GatewayError(
                "timeout", f"Upstream did not answer within {t.first_byte:g}s", code="upstream_timeout"
            ) from None
        except aiohttp.ClientConnectorError as e:
            raise GatewayError(
                "upstream",
                f"Cannot connect to upstream: {e.os_error.strerror or e}",
                code="upstream_unreachable",
            ) from None
        except aiohttp.ClientError as e:
            raise GatewayError(
                "upstream", f"Upstream connection failed: {e}", code="upstream_error"
            ) from None


async def iter_body(
    resp: aiohttp.ClientResponse, idle: float, heartbeat: float | None = None
) -> AsyncIterator[bytes | None]:
    """Yield body chunks as they arrive; ``None`` after each ``heartbeat`` seconds of silence.

    Raises :class:`GatewayError` when nothing arrives for ``idle`` seconds or the connection breaks."""
    content = resp.content
    loop = asyncio.get_running_loop()
    last = loop.time()
    tick = min(heartbeat, idle) if heartbeat else idle
    while True:
        try:
            async with asyncio.timeout(tick):
                chunk = await content.readany()
        except TimeoutError:
            now = loop.time()
            if now - last >= idle:
                raise GatewayError(
                    "timeout", f"Upstream sent nothing for {idle:g}s", code="upstream_idle_timeout"
                ) from None
            yield None
            continue
        except aiohttp.ClientPayloadError as e:
            raise GatewayError(
                "upstream", f"Upstream stream broke: {e}", code="upstream_disconnected"
            ) from None
        except aiohttp.ClientError as e:
            raise GatewayError(
                "upstream", f"Upstream stream broke: {e}", code="upstream_disconnected"
            ) from None
        if not chunk:
            return
        last = loop.time()
        yield chunk


async def read_body(resp: aiohttp.ClientResponse, timeout: float) -> bytes:
    try:
        async with asyncio.timeout(timeout):
            return await resp.read()
    except TimeoutError:
        raise GatewayError(
            "timeout", f"Upstream body not complete within {timeout:g}s", code="upstream_timeout"
        ) from None
    except aiohttp.ClientError as e:
        raise GatewayError(
            "upstream", f"Upstream connection broke: {e}", code="upstream_disconnected"
        ) from None


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_TAGS = re.compile(r"<[^>]+>")


def upstream_message(body: bytes) -> tuple[str, str | None]:
    """The human reason inside an upstream error body (JSON in any common shape, HTML, or text),
    and the upstream's own error code/type when it gives one."""
    text = body.strip()
    if not text:
        return "", None
    if text[:1] in (b"{", b"["):
        found = _json_message(text)
        if found is not None:
            return found
    low = text[:512].lower()
    if low.startswith(b"<!doctype html") or low.startswith(b"<html") or b"<body" in low:
        m = _TITLE.search(text)
        if m:
            return html.unescape(m.group(1).decode("utf-8", "replace").strip()), None
        stripped = _TAGS.sub(" ", text.decode("utf-8", "replace"))
        return " ".join(html.unescape(stripped).split())[:300], None
    return text.decode("utf-8", "replace")[:2000], None


def _json_message(text: bytes) -> tuple[str, str | None] | None:
    """(message, code) of a JSON error body in any common shape; None when it holds none."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if not isinstance(data, dict):
        return None
    err = data.get("error", data)
    code = None
    if isinstance(err, dict):
        msg = err.get("message") or err.get("msg") or err.get("detail") or err.get("details")
        c = err.get("code") or err.get("type") or err.get("status")
        code = str(c) if c is not None else None
        if msg is None and isinstance(err.get("error"), str):
            msg = err["error"]
    else:
        msg = err
        for k in ("details", "message", "detail"):
            if isinstance(data.get(k), str):
                msg = f"{err}: {data[k]}" if isinstance(err, str) and err != data[k] else data[k]
                break
    if msg is None:
        return None
    return (msg if isinstance(msg, str) else orjson.dumps(msg).decode()), code


def retry_after_seconds(headers: aiohttp.typedefs.LooseHeaders | None) -> float | None:
    if not headers:
        return None
    get = getattr(headers, "get", None)
    if get is None:
        return None
    v = get("Retry-After") or get("retry-after")
    if v:
        try:
            return max(0.0, float(v))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(v).timestamp() - time.time())
            except (TypeError, ValueError):
                return None
    for h in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens", "anthropic-ratelimit-requests-reset"):
        v = get(h)
        if v:
            m = re.match(r"^(\d+(?:\.\d+)?)s$", v)
            if m:
                return float(m.group(1))
    return None


_BY_STATUS: dict[int, ErrorKind] = {
    400: "invalid_request", 404: "not_found", 408: "timeout", 409: "invalid_request", 413: "payload_too_large",
    422: "invalid_request", 429: "rate_limit", 500: "upstream", 502: "upstream", 503: "overloaded",
    504: "timeout", 529: "overloaded",
}  # fmt: skip


def match_rule(rules: Sequence[ErrorRule], status: int, body: bytes) -> ErrorRule | None:
    """The first configured rule that matches an upstream answer (status, substring, regex)."""
    for r in rules:
        if r.upstream_status is not None and r.upstream_status != status:
            continue
        if r.match is not None and r.match.encode() not in body:
            continue
        if r.regex is not None and not r.regex.search(body.decode("utf-8", "replace")):
            continue
        return r
    return None


def map_upstream_error(
    status: int,
    body: bytes,
    headers: aiohttp.typedefs.LooseHeaders | None = None,
    rules: Sequence[ErrorRule] = (),
    provider: str = "",
) -> GatewayError:
    """An upstream's non-2xx answer as a gateway error: configured rules first, then by status.

    The upstream's message is always kept; its status is kept in ``upstream_status``."""
    msg, code = upstream_message(body)
    if not msg:
        msg = f"HTTP {status}"
    retry_after = retry_after_seconds(headers)
    r = match_rule(rules, status, body)
    if r is not None:
        return GatewayError(
            r.kind,  # type: ignore[arg-type]
            msg, status=r.status or DEFAULT_STATUS[r.kind],  # type: ignore[index]
            code=r.code or r.kind, retry_after=retry_after, upstream_status=status,
        )  # fmt: skip
    if status in (401, 403):
        return GatewayError(
            "upstream", f"Upstream {provider or ''} rejected the credentials (HTTP {status}): {msg}".replace("  ", " "),
            code="upstream_auth_failed", upstream_status=status, retryable=True,
        )  # fmt: skip
    kind: ErrorKind = _BY_STATUS.get(status, "upstream")
    if kind == "not_found":
        code = "model_not_found" if "model" in msg.lower() else (code or "not_found")
    if kind in ("upstream", "overloaded", "timeout") and status >= 500:
        msg = f"Upstream error (HTTP {status}): {msg}"
    return GatewayError(kind, msg, code=code, retry_after=retry_after, upstream_status=status)
