"""The default Claude aliases (DS2API's mapping) and how configuration replaces them."""

from __future__ import annotations

from any2api.config import parse_config
from any2api.routing.claude_aliases import CLAUDE_ALIASES, default_claude_aliases


def test_ds2api_mapping() -> None:
    assert CLAUDE_ALIASES == {
        "claude-sonnet-4-20250514": "deepseek-chat",
        "claude-sonnet-4-20250514-fast": "deepseek-chat",
        "claude-sonnet-4-20250514-slow": "deepseek-reasoner",
    }


def test_defaults_point_at_the_deepseek_provider() -> None:
    cfg = parse_config("""
providers:
  - {name: oa, type: openai, base_url: "http://127.0.0.1:9/v1", models: [gpt-x]}
  - {name: ds, type: deepseek, api_key: k}
""")
    assert default_claude_aliases(cfg) == {
        "claude-sonnet-4-20250514": ["ds/deepseek-chat"],
        "claude-sonnet-4-20250514-fast": ["ds/deepseek-chat"],
        "claude-sonnet-4-20250514-slow": ["ds/deepseek-reasoner"],
    }


def test_config_replaces_defaults_and_no_target_means_no_alias() -> None:
    cfg = parse_config("""
providers:
  - {name: edge, type: openai, base_url: "http://127.0.0.1:9", models: [deepseek-chat]}
  - {name: ant, type: anthropic, models: [claude-sonnet-4-20250514]}
models:
  claude-sonnet-4-20250514: [ant/claude-sonnet-4-20250514]
""")
    # the configured name wins; -fast finds a provider listing deepseek-chat; nobody serves -slow's target
    assert default_claude_aliases(cfg) == {"claude-sonnet-4-20250514-fast": ["edge/deepseek-chat"]}
