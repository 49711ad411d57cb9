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
    assert c.auth_keys == ["sk-client"]
    assert c.admin_key == "adm"
    ds, edge = c.providers
    assert ds.api_keys == ["sk-ds"]
    assert [m.id for m in ds.models] == ["deepseek-chat", "deepseek-reasoner"]
    assert edge.chat_path == "/api/ai"
    assert edge.api_keys == []
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
    assert "invalid YAML" in str(e.value)
    assert "line" in str(e.value)


def test_gemini_provider_type_is_available():
    # it was refused ("not available in this version yet") until the Gemini upstream existed
    cfg = parse_config("providers:\n  - name: g\n    type: gemini\n")
    assert cfg.providers[0].type == "gemini"


def test_provider_type_not_built_yet_is_a_clear_error():
    with pytest.raises(ConfigError) as e:
        parse_config("providers:\n  - name: g\n    type: bedrock\n")
    assert e.value.path == "providers[0].type"
    assert e.value.line == 3
    assert "not available" in str(e.value)


# -- provider types come from the registry; each validates its own options ------------------------------


def test_unknown_type_lists_the_registered_types():
    from any2api.providers.registry import provider_types

    with pytest.raises(ConfigError) as e:
        parse_config("providers:\n  - name: a\n    type: nonsense\n")
    assert e.value.line == 3
    assert f"registered types: {', '.join(provider_types())}" in str(e.value)
    assert {"openai", "deepseek", "anthropic", "http", "demo"} <= set(provider_types())


def test_every_profile_is_a_provider_type():
    from any2api.providers.openai_compat import OpenAICompatProvider
    from any2api.providers.profiles import BUILTIN
    from any2api.providers.registry import provider_type

    for name in BUILTIN:
        entry = provider_type(name)
        assert entry is not None
        assert entry.factory is OpenAICompatProvider
        assert entry.wire == "openai_chat"


@pytest.mark.parametrize(("text", "path", "line", "needle"), [
    ("providers:\n  - name: a\n    type: anthropic\n    options:\n      default_max_tokens: lots\n",
     "providers[0].options.default_max_tokens", 5, "positive integer"),
    ("providers:\n  - name: a\n    type: anthropic\n    options: {thinking_budgets: {low: x}}\n",
     "providers[0].options.thinking_budgets", 4, "integers"),
    ("providers:\n  - name: a\n    type: openai\n    options:\n      colour: red\n",
     "providers[0].options.colour", 5, "takes no options"),
    ("providers:\n  - name: a\n    type: demo\n    options: {delay: soon}\n", "providers[0].options.delay", 4,
     "seconds"),
    ("providers:\n  - {name: a, type: demo}\n  - name: h\n    type: http\n    request:\n      url: https://x.test\n"
     "      body:\n        model: '{{ modle }}'\n    response: {text: t}\n",
     "providers[1].request.body.model", 8, "unknown variable"),
])  # fmt: skip
def test_each_type_validates_its_options_with_key_and_line(text, path, line, needle):
    with pytest.raises(ConfigError) as e:
        parse_config(text)
    assert (e.value.path, e.value.line) == (path, line), str(e.value)
    assert needle in str(e.value)
    assert f"{path} (line {line})" in str(e.value)


def test_a_type_registered_at_run_time_is_known_to_the_config():
    from any2api.config import ConfigPath, ProviderConfig
    from any2api.providers.demo import DemoProvider
    from any2api.providers.registry import register_provider, unregister_provider

    seen: list[str] = []

    def validate(cfg: ProviderConfig, where: ConfigPath) -> None:
        seen.append(where.path)
        if cfg.options.get("size") != "small":
            raise where.error("options.size", "must be small")

    register_provider("pebble", DemoProvider, wire="pebble_chat", options=validate)
    try:
        c = parse_config("providers:\n  - name: p\n    type: pebble\n    options: {size: small}\n")
        assert c.providers[0].type == "pebble"
        assert seen == ["providers[0]"]
        with pytest.raises(ConfigError) as e:
            parse_config("providers:\n  - name: p\n    type: pebble\n    options:\n      size: big\n")
        assert (e.value.path, e.value.line) == ("providers[0].options.size", 5)
    finally:
        unregister_provider("pebble")
    with pytest.raises(ConfigError, match="not available"):
        parse_config("providers:\n  - name: p\n    type: pebble\n")


def test_parse_provider_validates_a_block_outside_a_file():
    from any2api.config import parse_provider

    pc = parse_provider({"name": "x", "type": "anthropic", "options": {"default_max_tokens": 99}}, "provider")
    assert pc.options == {"default_max_tokens": 99}
    with pytest.raises(ConfigError) as e:
        parse_provider({"name": "x", "type": "anthropic", "options": {"default_max_tokens": 0}}, "provider")
    assert e.value.path == "provider.options.default_max_tokens"
    assert e.value.line is None


def test_config_types_is_a_leaf_and_the_http_spec_does_not_import_the_parser():
    import ast
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src" / "any2api"

    def imports(path: Path) -> set[str]:
        tree = ast.parse(path.read_text())
        out: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                out.add("." * node.level + (node.module or ""))
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
        return out

    assert not {m for m in imports(src / "config_types.py") if m.startswith(".") or m.startswith("any2api")}
    spec = imports(src / "providers" / "httpapi" / "spec.py")
    assert "...config_types" in spec
    assert "...config" not in spec
