"""Account tests: one tiny request, non-streamed and streamed (some upstreams only stream), through the
account's own provider adapter."""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from ..core.errors import GatewayError
from ..core.events import ErrorEvent
from ..core.parts import TextPart
from ..core.request import ChatRequest, Message
from ..providers.base import Account
from ..routing.pool_ports import Probe, ProbeResult

if TYPE_CHECKING:
    from ..gateway import Gateway

PROBE_TIMEOUT = 60.0


def test_model(gateway: Gateway, provider: str) -> str | None:
    """The model to test a provider's accounts with: its first listed model, else the first alias target."""
    prov = gateway.providers.get(provider)
    if prov is None:
        return None
    if prov.config.models:
        return prov.config.models[0].id
    for chain in gateway.router.aliases.values():
        for target in chain:
            p, _, m = target.partition("/")
            if p == provider and m:
                return m
    return None


async def _one(
    gateway: Gateway, account: Account, model: str, stream: bool, timeout: float
) -> dict[str, Any]:
    prov = gateway.providers[account.provider]
    req = ChatRequest(
        model=model, messages=[Message("user", [TextPart("ping")])], stream=stream, max_tokens=16
    )
    t0 = time.monotonic()
    events = 0
    try:
        async with asyncio.timeout(timeout), aclosing(prov.stream(req, model, account)) as agen:
            async for ev in agen:
                events += 1
                if isinstance(ev, ErrorEvent):
                    raise ev.error
    except GatewayError as e:
        return {
            "ok": False,
            "error": e.message,
            "kind": e.kind,
            "upstream_status": e.upstream_status,
            "_err": e,
        }
    except TimeoutError:
        err = GatewayError("timeout", f"No complete answer within {timeout:g}s", code="upstream_timeout")
        return {"ok": False, "error": err.message, "kind": err.kind, "upstream_status": None, "_err": err}
    if events == 0:
        err = GatewayError("upstream", "Upstream returned an empty response")
        return {"ok": False, "error": err.message, "kind": err.kind, "upstream_status": None, "_err": err}
    return {"ok": True, "latency_ms": round((time.monotonic() - t0) * 1000, 1)}


def make_probe(gateway: Gateway, timeout: float = PROBE_TIMEOUT) -> Probe:
    async def probe(account: Account) -> ProbeResult:
        if account.provider not in gateway.providers:
            return ProbeResult(
                False, GatewayError("not_found", f"Provider {account.provider!r} is not configured")
            )
        model = test_model(gateway, account.provider)
        if model is None:
            return ProbeResult(
                False,
                GatewayError("invalid_request", f"Provider {account.provider!r} lists no model to test with"),
            )
        details: dict[str, Any] = {"model": model}
        errors: list[GatewayError] = []
        for mode, stream in (("non_stream", False), ("stream", True)):
            r = await _one(gateway, account, model, stream, timeout)
            err = r.pop("_err", None)
            details[mode] = r
            if err is not None:
                errors.append(err)
                if err.upstream_status in (401, 403) or err.code == "upstream_auth_failed":
                    details["stream" if mode == "non_stream" else mode] = {"ok": False, "skipped": True}
                    break
        ok = any(isinstance(details.get(m), dict) and details[m].get("ok") for m in ("non_stream", "stream"))
        return ProbeResult(ok, None if ok else errors[-1] if errors else None, details)

    return probe
