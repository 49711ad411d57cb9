"""The app's routing is derived from the dialects' declarations: shared paths told apart by a declared
header, clashes refused when the app is built, chat routes with path parameters found by the front door's
second lookup, error ownership by declared prefix; and ``api/`` stays free of aiohttp."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from any2api.api.chat import ChatEndpoint, Runtime
from any2api.api.dispatch import ByHeader, _Choice, build_dispatch, match_param_route
from any2api.api.endpoints import ModelsEndpoint
from any2api.core.errors import GatewayError
from any2api.formats import registry
from any2api.formats.base import Dialect, DialectRoute, RequestContext, chat_route, models_route
from any2api.formats.openai_chat import OPENAI_CHAT

SRC = Path(__file__).resolve().parents[2] / "src" / "any2api"


def stub(name: str, routes: Sequence[DialectRoute], namespaces: tuple[str, ...] = ()) -> Dialect:
    """A dialect that only declares routes (enough to build the dispatch)."""
    cls = type(f"Stub_{name}", (Dialect,), {"name": name, "wire": "stub", "namespaces": namespaces,
                                            "routes": lambda self: routes})  # fmt: skip
    return cls()  # type: ignore[no-any-return]


def test_builtin_declarations_give_the_known_routes_and_fast_paths() -> None:
    d = build_dispatch(Runtime(), registry.dialects(), registry.fallback())
    assert set(d.fast) == {
        "/v1/chat/completions",
        "/chat/completions",
        "/chat",
        "/v1/messages",
        "/anthropic/v1/messages",
        "/v1/responses",
        "/responses",
        "/v1/responses/compact",
        "/responses/compact",
    }
    assert all(isinstance(e, ChatEndpoint) for e in d.fast.values())
    assert {e.dialect.name for e in d.fast.values()} == {
        "openai_chat",
        "proxy_chat",
        "anthropic_messages",
        "openai_responses",
    }
    # Gemini's {model}:{action} routes, each prefix's :countTokens route tried before its chat route
    patterns = [r.regex.pattern for r in d.fast_params]
    assert patterns[:2] == [
        "^/v1beta/models/(?P<model>.*):countTokens$",
        "^/v1beta/models/(?P<model>.*):(?P<action>[^/]+)$",
    ]
    paths = [r.path for r in d.routes]  # type: ignore[attr-defined]
    assert len(paths) == len(set(paths))
    assert "/v1/models" in paths
    assert "/anthropic/v1/messages/count_tokens" in paths
    shared = next(r for r in d.routes if r.path == "/v1/models").app  # type: ignore[attr-defined]
    assert isinstance(shared, ByHeader)
    owner = d.owners
    assert owner("/anthropic/v1/nothing").name == "anthropic_messages"
    assert owner("/v1/messages/batches").name == "anthropic_messages"
    assert owner("/chat").name == owner("/chat/x").name == "proxy_chat"
    assert owner("/chat/completions").name == "openai_chat"
    assert owner("/v1/responses/resp_1/nothing").name == owner("/responses/x").name == "openai_responses"
    assert owner("/v1/models").name == "openai_chat"  # the undiscriminated declaration owns a shared path
    assert owner("/v1/nothing").name == owner("/admin/x").name == owner("/").name == "openai_chat"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_by_header_picks_the_declared_discriminator_then_the_default() -> None:
    seen: list[str] = []

    def probe(tag: str) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            seen.append(tag)

        return app

    a = _Choice(OPENAI_CHAT, models_route("/x"), probe("openai"), frozenset({"GET", "HEAD"}))
    b = _Choice(OPENAI_CHAT, models_route("/x", when_header="Anthropic-Version"), probe("anthropic"),
                frozenset({"GET", "HEAD"}))  # fmt: skip
    app = ByHeader([a, b])
    for headers in ([], [(b"anthropic-version", b"1")], [(b"x-other", b"1")]):
        await app({"method": "GET", "headers": headers}, None, None)
    assert seen == ["openai", "anthropic", "openai"]


def test_clashing_declarations_are_refused_when_the_app_is_built() -> None:
    a = stub("a", [chat_route("/same")])
    b = stub("b", [chat_route("/same")])
    with pytest.raises(ValueError, match="both declare POST /same without a 'when_header'"):
        build_dispatch(Runtime(), [a, b], a)
    c = stub("c", [models_route("/m", when_header="x-c")])
    d = stub("d", [models_route("/m", when_header="X-C")])
    with pytest.raises(ValueError, match="for requests with 'x-c'"):
        build_dispatch(Runtime(), [c, d], c)
    # different methods, or a header to tell them apart: fine
    e = stub("e", [models_route("/same")])
    f = stub("f", [DialectRoute("/same", "chat", when_header="x-f")])
    disp = build_dispatch(Runtime(), [a, e, f], a)
    assert isinstance(disp.fast["/same"], ByHeader)


def test_chat_routes_with_parameters_are_matched_after_the_exact_lookup() -> None:
    g = stub("g", [chat_route("/v1beta/models/{model}:{action}"), models_route("/v1beta/models")],
             namespaces=("/v1beta",))  # fmt: skip
    others = [x for x in registry.dialects() if x.name != "gemini"]  # g stands in for the real one here
    d = build_dispatch(Runtime(), [*others, g], registry.fallback())
    assert len(d.fast_params) == 1
    scope: dict[str, Any] = {"path": "/v1beta/models/gemini-2.5-flash:streamGenerateContent"}
    app = match_param_route(d.fast_params, scope)
    assert isinstance(app, ChatEndpoint)
    assert app.dialect is g
    assert scope["path_params"] == {"model": "gemini-2.5-flash", "action": "streamGenerateContent"}
    scope = {"path": "/v1beta/models/tunedModels/x:y:generateContent"}
    assert match_param_route(d.fast_params, scope) is None  # {model} is one segment
    scope = {"path": "/v1beta/models/a:b:generateContent"}
    match_param_route(d.fast_params, scope)
    assert scope["path_params"] == {"model": "a:b", "action": "generateContent"}  # the last colon splits
    assert match_param_route(d.fast_params, {"path": "/v1beta/models"}) is None
    assert d.owners("/v1beta/files").name == "g"
    assert isinstance(next(r for r in d.routes if r.path == "/v1beta/models").app, ModelsEndpoint)  # type: ignore[attr-defined]


def test_request_context_decodes_once_and_parses_the_query_lazily() -> None:
    ctx = RequestContext("POST", "/p", {"x-goog-api-key": "k"}, b"alt=sse&key=abc&key=def&empty=",
                         {"model": "m"}, b'{"a": 1}')  # fmt: skip
    first = ctx.json
    assert first == {"a": 1}
    assert ctx.json is first
    assert ctx.query == {"alt": "sse", "key": "def", "empty": ""}
    ctx.json = {"b": 2}
    assert ctx.json == {"b": 2}
    with pytest.raises(GatewayError) as ei:
        _ = RequestContext("POST", "/p", {}, body=b"{oops").json
    assert ei.value.code == "invalid_json"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            out.add(("." * node.level) + (node.module or ""))
    return out


def test_api_never_imports_aiohttp_and_formats_stay_on_their_side() -> None:
    for f in (SRC / "api").glob("*.py"):
        assert not {m for m in _imports(f) if m.split(".")[0] == "aiohttp"}, f
    for f in (SRC / "formats").rglob("*.py"):
        bad = {m for m in _imports(f) if m.lstrip(".").split(".")[0] in
               ("aiohttp", "starlette", "api", "providers", "gateway", "upstream", "routing", "store", "admin")}  # fmt: skip
        assert not bad, (f, bad)
