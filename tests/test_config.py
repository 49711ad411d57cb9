"""The config contract: env interpolation, validation errors that name the key and the line."""

from __future__ import annotations

import pytest

from any2api.config import ConfigError, parse_config

CONTRACT = """
server: {host: 127.0.0.1, port: 8000}
auth:
  keys: [${ANY2API_KEY}]
admin:
  key: ${ANY2API_ADMIN_KEY}
providers:
  - name: deepseek
    type: deepseek
    base_url: https://api.deepseek.com
    api_keys: [${DEEPSEEK_API_KEY}]
    models: [deepseek-chat, deepseek-reasoner]
  - name: edge
    type: openai
    base_url: https://example.edgeone.app
    chat_path: /api/ai
    models: [deepseek-chat]
models:
  claude-sonnet-4-20250514: deepseek/deepseek-chat
  gpt-4o: [deepseek/deepseek-chat, edge/deepseek-chat]
"""


def test_contract_example_parses_with_env(monkeypatch):
    monkeypatch.setenv("ANY2API_KEY", "sk-client")
    monkeypatch.setenv("ANY2API_ADMIN_KEY", "adm")
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-ds")
    c = parse_config(CONTRACT)
    assert c.auth_keys == ["sk-client"] and c.admin_key == "adm"
    ds, edge = c.providers
    assert ds.api_keys == ["sk-ds"] and [m.id for m in ds.models] == ["deepseek-chat", "deepseek-reasoner"]
    assert edge.chat_path == "/api/ai" and edge.api_keys == []
    assert c.models == {"claude-sonnet-4-20250514": ["deepseek/deepseek-chat"],
                        "gpt-4o": ["deepseek/deepseek-chat", "edge/deepseek-chat"]}  # fmt: skip


def test_unset_env_drops_list_entries_and_defaults_apply(monkeypatch):
    monkeypatch.delenv("ANY2API_KEY", raising=False)
    monkeypatch.setenv("PORT_X", "9001")
    c = parse_config("server: {port: ${PORT_X}}\nauth: {keys: [${ANY2API_KEY}, '${NOPE:-fallback}']}\n")
    assert c.server.port == 9001
    assert c.auth_keys == ["fallback"]


@pytest.mark.parametrize(("text", "path", "line"), [
    ("providers:\n  - name: a\n    type: nonsense\n", "providers[0].type", 3),
    ("providers:\n  - name: a\n    type: openai\n    bogus: 1\n", "providers[0].bogus", 4),
    ("server:\n  port: lots\n", "server.port", 2),
    ("providers:\n  - type: openai\n", "providers[0].name", 2),
    ("providers:\n  - {name: a, type: openai, base_url: ftp://x}\n", "providers[0].base_url", 2),
    ("providers:\n  - {name: a, type: openai}\nmodels:\n  x: b/m\n", "models.x", 4),
    ("providers:\n  - {name: a, type: openai}\n  - {name: a, type: openai}\n", "providers[1].name", 3),
    ("unknown_top: 1\n", "unknown_top", 1),
    ("error_rules:\n  - {match: x, kind: wat}\n", "error_rules[0].kind", 2),
])  # fmt: skip
def test_errors_name_key_and_line(text, path, line):
    with pytest.raises(ConfigError) as e:
        parse_config(text)
    assert e.value.path == path
    assert e.value.line == line
    assert f"(line {line})" in str(e.value)


def test_invalid_yaml_reports_line():
    with pytest.raises(ConfigError) as e:
        parse_config("server:\n  port: [1,\n")
    assert "invalid YAML" in str(e.value) and "line" in str(e.value)


def test_gemini_provider_type_is_available():
    # it was refused ("not available in this version yet") until the Gemini upstream existed
    cfg = parse_config("providers:\n  - name: g\n    type: gemini\n")
    assert cfg.providers[0].type == "gemini"
