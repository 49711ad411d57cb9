"""Fixtures and helpers of the http-provider tests: the endpoint simulators, example specs, a driver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from any2api.config import Timeouts, parse_config
from any2api.core.accumulator import accumulate
from any2api.core.events import ErrorEvent, Event
from any2api.core.parts import TextPart
from any2api.core.request import ChatRequest, Message
from any2api.core.response import ChatResponse
from any2api.providers.base import Account
from any2api.providers.http import HttpProvider
from any2api.providers.registry import create_provider
from any2api.upstream import Upstream

from .http_sims import HttpSims

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
EXAMPLE_ENV = {
    "edgeone": "EDGEONE_BASE_URL",
    "ollama": "OLLAMA_BASE_URL",
    "plain-json": "PLAINBOT_BASE_URL",
    "custom-sse": "STREAMCHAT_BASE_URL",
}


def provider_block(text: str) -> str:
    """A provider block (a YAML mapping) as the only entry of a config's ``providers`` list."""
    return "providers:\n  -\n" + "".join(f"    {ln}\n" if ln.strip() else "\n" for ln in text.splitlines())


def example_config(name: str, extra: str = "") -> str:
    return provider_block((EXAMPLES / name / "provider.yaml").read_text()) + extra


@pytest.fixture(scope="session")
def http_sims() -> Iterator[HttpSims]:
    sims = HttpSims().start()
    yield sims
    sims.stop()


@pytest.fixture
def sims(http_sims: HttpSims, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpSims]:
    http_sims.replies.clear()
    http_sims.requests.clear()
    for env in EXAMPLE_ENV.values():
        monkeypatch.setenv(env, http_sims.url)
    monkeypatch.setenv("PLAINBOT_KEY", "plain-secret")
    yield http_sims
    http_sims.replies.clear()


def make_provider(config_text: str) -> HttpProvider:
    cfg = parse_config(config_text, "(test)")
    prov = create_provider(
        cfg.providers[0], Upstream(Timeouts(connect=5, first_byte=10, idle=5), cfg.error_rules)
    )
    assert isinstance(prov, HttpProvider)
    return prov


def account(prov: HttpProvider) -> Account:
    keys = prov.config.api_keys
    return Account(id=f"{prov.name}#0", provider=prov.name, api_key=keys[0] if keys else None)


async def collect(prov: HttpProvider, req: ChatRequest, model: str | None = None) -> list[Event]:
    model = model or prov.config.models[0].id
    out: list[Event] = []
    try:
        async for ev in prov.stream(req, model, account(prov)):
            out.append(ev)
    finally:
        await prov.upstream.close()
    return out


async def run(prov: HttpProvider, req: ChatRequest, model: str | None = None) -> ChatResponse:
    return accumulate(await collect(prov, req, model))


def errors(events: list[Event]) -> list[Any]:
    return [e.error for e in events if isinstance(e, ErrorEvent)]


def chat(*messages: Message | tuple[str, str], **kw: Any) -> ChatRequest:
    """A hub request from ``("role", "text")`` pairs and/or ``Message`` objects."""
    msgs = [m if isinstance(m, Message) else Message(m[0], [TextPart(m[1])]) for m in messages]  # type: ignore[arg-type]
    return ChatRequest(model=kw.pop("model", "client-model"), messages=msgs, **kw)
