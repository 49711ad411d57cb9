"""The ``before_upstream`` seam of the dialect interface: a dialect sees the upstream a translated request
goes to first (provider name, wire format, options) after parsing, may change the request for it or refuse
it in its own error shape; dialects that do not override it are not called. Shown with a variant of the toy
dialect (tests/formats/toy_dialect.py) on the real app and the demo provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from any2api.api.chat import ChatEndpoint, Runtime
from any2api.core.errors import invalid
from any2api.core.parts import TextPart
from any2api.core.request import ChatRequest, Message
from any2api.demo import DEMO_YAML
from any2api.formats import registry
from any2api.formats.base import RequestContext, UpstreamTarget
from any2api.formats.openai_chat import OPENAI_CHAT
from any2api.formats.openai_responses import OPENAI_RESPONSES
from tests.rawhttp import request

from .toy_dialect import ToyDialect

KEY = "sk-any2api-demo"


class UpstreamAwareToy(ToyDialect):
    name: ClassVar[str] = "toy_upstream"
    namespaces: ClassVar[tuple[str, ...]] = ("/toyup",)

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[UpstreamTarget] = []

    def routes(self):  # type: ignore[no-untyped-def]
        return [r for r in super().routes() if r.path.startswith("/toy/v1/models/{model}:")]

    def before_upstream(self, ctx: RequestContext, req: ChatRequest, target: UpstreamTarget) -> None:
        self.seen.append(target)
        prompt = req.messages[0].parts[0]
        assert isinstance(prompt, TextPart)
        if prompt.text == "refuse":
            raise invalid(f"Provider {target.provider!r} cannot take this.", "prompt", "not_here")
        req.messages = [Message("user", [TextPart(f"{prompt.text} (for {target.provider}/{target.wire})")])]


TOYUP = UpstreamAwareToy()


@pytest.fixture
def gw(start_gateway, monkeypatch) -> Iterator[object]:
    registry.register(TOYUP)
    monkeypatch.delenv("ANY2API_KEY", raising=False)
    yield start_gateway(DEMO_YAML)
    registry.unregister(TOYUP.name)
    TOYUP.seen.clear()


@pytest.mark.parametrize("action", ["say", "streamSay"])
def test_hook_sees_the_first_upstream_and_may_change_the_request(gw, action):
    r = request("POST", gw.url + f"/toy/v1/models/gpt-4o:{action}", {"prompt": "hi"}, {"x-toy-key": KEY})
    assert r.status == 200, r.body
    body = r.json()
    text = body["reply"] if action == "say" else "".join(i.get("delta", "") for i in body)
    assert text.endswith("You said: hi (for demo/demo)")
    assert TOYUP.seen == [UpstreamTarget("demo", "demo", {})]


def test_hook_refuses_in_the_dialects_error_shape(gw):
    r = request("POST", gw.url + "/toy/v1/models/gpt-4o:say", {"prompt": "refuse"}, {"x-toy-key": KEY})
    assert r.status == 400
    assert r.json() == {"toy_error": {"code": "not_here", "message": "Provider 'demo' cannot take this.",
                                      "field": "prompt"}}  # fmt: skip


def test_handler_calls_the_hook_only_when_overridden():
    assert ChatEndpoint(Runtime(), OPENAI_CHAT)._upstream is None
    assert ChatEndpoint(Runtime(), TOYUP)._upstream is not None
    assert ChatEndpoint(Runtime(), OPENAI_RESPONSES)._upstream is not None
