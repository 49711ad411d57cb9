"""Model name -> routes: aliases and fallback chains, ``provider/model``, bare model ids, the default Claude
names, and providers added or removed at run time (the real router over real providers, no HTTP)."""

from __future__ import annotations

import pytest

from any2api.config import Config, parse_config
from any2api.core.errors import GatewayError
from any2api.providers.registry import create_provider
from any2api.routing.router import Route, Router
from any2api.upstream import Upstream

CONFIG = """
providers:
  - {name: ds, type: deepseek, base_url: "http://127.0.0.1:9", api_keys: [k], models: [deepseek-chat, deepseek-reasoner]}
  - {name: oa, type: openai, base_url: "http://127.0.0.1:9", api_keys: [k], models: [gpt-4o, shared-model]}
  - {name: other, type: openai, base_url: "http://127.0.0.1:9", api_keys: [k], models: [shared-model]}
  - {name: open, type: openai, base_url: "http://127.0.0.1:9", api_keys: [k]}
models:
  fast: ds/deepseek-chat
  smart: [oa/gpt-4o, ds/deepseek-reasoner]
"""


def make(text: str = CONFIG) -> tuple[Config, Router]:
    config = parse_config(text, "(test)")
    upstream = Upstream(config.server.timeouts, config.error_rules)
    return config, Router(config, {p.name: create_provider(p, upstream) for p in config.providers})


def chain(routes: tuple[Route, ...]) -> list[tuple[str, str, str]]:
    return [(r.provider.name, r.model, r.public_model) for r in routes]


def test_an_alias_resolves_to_its_target_and_keeps_the_public_name() -> None:
    _, router = make()
    assert chain(router.resolve("fast")) == [("ds", "deepseek-chat", "fast")]


def test_a_list_alias_is_a_fallback_chain_in_order() -> None:
    _, router = make()
    assert chain(router.resolve("smart")) == [("oa", "gpt-4o", "smart"), ("ds", "deepseek-reasoner", "smart")]


def test_chain_entries_of_unknown_providers_are_skipped() -> None:
    _, router = make()  # aliases set at run time (admin API) may name a provider that is gone
    router.set_aliases({"dangling": ["nowhere/x", "ds/deepseek-chat"], "all-gone": ["nowhere/x"]})
    assert chain(router.resolve("dangling")) == [("ds", "deepseek-chat", "dangling")]
    with pytest.raises(GatewayError) as e:
        router.resolve("all-gone")
    assert e.value.code == "model_not_found"


def test_provider_slash_model() -> None:
    _, router = make()
    assert chain(router.resolve("oa/gpt-4o")) == [("oa", "gpt-4o", "oa/gpt-4o")]


def test_provider_slash_model_needs_a_listed_model_unless_the_provider_lists_none() -> None:
    _, router = make()
    with pytest.raises(GatewayError):
        router.resolve("oa/not-listed")
    assert chain(router.resolve("open/anything-goes")) == [("open", "anything-goes", "open/anything-goes")]


def test_a_bare_model_id_goes_to_the_first_provider_listing_it() -> None:
    _, router = make()
    assert chain(router.resolve("shared-model")) == [("oa", "shared-model", "shared-model")]
    assert chain(router.resolve("deepseek-reasoner")) == [("ds", "deepseek-reasoner", "deepseek-reasoner")]


@pytest.mark.parametrize("name", ["no-such-model", "nowhere/x", "ds/", "ds/gpt-4o", ""])
def test_an_unknown_name_is_404_model_not_found_naming_the_model(name: str) -> None:
    _, router = make()
    with pytest.raises(GatewayError) as e:
        router.resolve(name)
    assert (e.value.kind, e.value.status, e.value.param, e.value.code) == (
        "not_found",
        404,
        "model",
        "model_not_found",
    )
    assert f"`{name}`" in e.value.message


def test_claude_names_route_to_the_deepseek_provider_by_default() -> None:
    _, router = make()
    assert chain(router.resolve("claude-sonnet-4-20250514")) == [
        ("ds", "deepseek-chat", "claude-sonnet-4-20250514")
    ]
    assert chain(router.resolve("claude-sonnet-4-20250514-slow"))[0][:2] == ("ds", "deepseek-reasoner")


def test_a_configured_alias_replaces_a_default_claude_name() -> None:
    _, router = make(CONFIG + "  claude-sonnet-4-20250514: oa/gpt-4o\n")
    assert chain(router.resolve("claude-sonnet-4-20250514"))[0][:2] == ("oa", "gpt-4o")


def test_without_deepseek_the_claude_names_are_not_routable() -> None:
    _, router = make(
        'providers:\n  - {name: oa, type: openai, base_url: "http://127.0.0.1:9", models: [gpt-4o]}\n'
    )
    with pytest.raises(GatewayError):
        router.resolve("claude-sonnet-4-20250514")


def test_set_aliases_replaces_them_and_forgets_cached_answers() -> None:
    _, router = make()
    assert chain(router.resolve("fast"))[0][0] == "ds"
    router.set_aliases({"fast": ["oa/gpt-4o"]})
    assert chain(router.resolve("fast")) == [("oa", "gpt-4o", "fast")]
    with pytest.raises(GatewayError):
        router.resolve("smart")


def test_discovered_models_become_routable_by_bare_id() -> None:
    _, router = make()
    with pytest.raises(GatewayError):
        router.resolve("gpt-5-discovered")
    router.add_discovered(router.providers["open"], ["gpt-5-discovered"])
    assert chain(router.resolve("gpt-5-discovered")) == [("open", "gpt-5-discovered", "gpt-5-discovered")]


def test_removing_a_provider_hands_its_bare_ids_to_the_next_provider_and_drops_its_routes() -> None:
    _, router = make()
    assert chain(router.resolve("shared-model"))[0][0] == "oa"
    removed = router.remove_provider("oa")
    assert removed is not None
    assert removed.name == "oa"
    assert chain(router.resolve("shared-model")) == [("other", "shared-model", "shared-model")]
    assert chain(router.resolve("smart")) == [("ds", "deepseek-reasoner", "smart")]
    with pytest.raises(GatewayError):
        router.resolve("oa/gpt-4o")
    with pytest.raises(GatewayError):
        router.resolve("gpt-4o")
    assert router.remove_provider("oa") is None


def test_adding_a_provider_at_run_time_makes_it_routable() -> None:
    _, router = make()
    late = 'providers:\n  - {name: late, type: openai, base_url: "http://127.0.0.1:9", models: [late-model, gpt-4o]}\n'
    late_cfg = parse_config(late)
    router.add_provider(create_provider(late_cfg.providers[-1], Upstream(late_cfg.server.timeouts, [])))
    assert chain(router.resolve("late-model")) == [("late", "late-model", "late-model")]
    assert chain(router.resolve("late/gpt-4o")) == [("late", "gpt-4o", "late/gpt-4o")]
    assert chain(router.resolve("gpt-4o"))[0][0] == "oa"  # a bare id claimed first stays with its provider


def test_public_models_lists_aliases_then_models_with_their_owner() -> None:
    _, router = make()
    listed = dict(router.public_models())
    assert listed["fast"] == "ds"
    assert listed["smart"] == "oa"
    assert listed["claude-sonnet-4-20250514"] == "ds"
    assert listed["shared-model"] == "oa"
    assert listed["other/shared-model"] == "other"
    names = [n for n, _ in router.public_models()]
    assert names.index("fast") < names.index("gpt-4o")
