"""``gemini-*`` names without a Gemini upstream: the first provider's default model answers them; exact
names (``models:`` entries, listed models) win, and a configured Gemini provider turns the fallback off."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from any2api.config import parse_config
from any2api.core.errors import GatewayError
from any2api.routing.router import Router


def router(yaml: str) -> Router:
    cfg = parse_config(yaml)
    providers: dict[str, Any] = {p.name: SimpleNamespace(name=p.name, config=p) for p in cfg.providers}
    return Router(cfg, providers)


def target(r: Router, model: str) -> tuple[str, str, str]:
    route = r.resolve(model)[0]
    return route.provider.name, route.model, route.public_model


def test_gemini_names_go_to_the_first_providers_default_model() -> None:
    r = router("""
providers:
  - {name: ds, type: deepseek, api_key: k}
  - {name: oa, type: openai, base_url: "http://127.0.0.1:9/v1", models: [gpt-x]}
""")
    assert target(r, "gemini-2.5-flash") == ("ds", "deepseek-chat", "gemini-2.5-flash")
    assert target(r, "gemini-3-pro-preview") == ("ds", "deepseek-chat", "gemini-3-pro-preview")
    with pytest.raises(GatewayError) as ei:
        r.resolve("gemma-3")  # only the gemini- prefix
    assert ei.value.code == "model_not_found"


def test_exact_names_win() -> None:
    r = router("""
providers:
  - {name: ds, type: deepseek, api_key: k}
  - {name: oa, type: openai, base_url: "http://127.0.0.1:9/v1", models: [gpt-x, gemini-2.5-flash-lite]}
models:
  gemini-2.5-pro: [oa/gpt-x]
""")
    assert target(r, "gemini-2.5-pro") == ("oa", "gpt-x", "gemini-2.5-pro")
    assert target(r, "gemini-2.5-flash-lite") == ("oa", "gemini-2.5-flash-lite", "gemini-2.5-flash-lite")
    assert target(r, "gemini-2.5-flash") == ("ds", "deepseek-chat", "gemini-2.5-flash")


def test_a_gemini_provider_turns_the_fallback_off() -> None:
    r = router("""
providers:
  - {name: ds, type: deepseek, api_key: k}
  - {name: gem, type: gemini, api_key: k, models: [gemini-2.5-flash]}
""")
    assert target(r, "gemini-2.5-flash") == ("gem", "gemini-2.5-flash", "gemini-2.5-flash")
    with pytest.raises(GatewayError):
        r.resolve("gemini-2.5-pro")
