"""Spec validation: every example compiles; invalid specs are rejected naming the field."""

from __future__ import annotations

import pytest

from any2api.config import ConfigError, ProviderConfig, parse_config
from any2api.providers.httpapi.spec import compile_spec

from .http_fixtures import EXAMPLE_ENV, example_config, provider_block

BASE = """\
name: p
type: http
models: [m]
request:
  url: https://up.example/chat
  body: {model: "{{ model }}", messages: "{{ messages }}"}
response:
  format: sse
  text: choices[0].delta.content
"""


def _config(block: str) -> ProviderConfig:
    return parse_config(provider_block(block)).providers[0]


def _error(block: str) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        compile_spec(_config(block), "providers[0]")
    return e.value


@pytest.mark.parametrize("name", sorted(EXAMPLE_ENV))
def test_every_example_compiles(name: str):
    spec = compile_spec(parse_config(example_config(name)).providers[0], "providers[0]")
    assert spec.body is not None
    assert spec.response.format in ("sse", "ndjson", "json")
    assert "model" in spec.needs or "prompt" in spec.needs


def test_minimal_spec_compiles_with_its_needs():
    spec = compile_spec(_config(BASE), "providers[0]")
    assert spec.method == "POST"
    assert spec.needs == {"model", "messages"}
    assert spec.think is not None
    assert spec.tools == "emulate"


@pytest.mark.parametrize(
    ("change", "path", "needle"),
    [
        (("  text: choices[0].delta.content\n", ""), "providers[0].response.text", "is required"),
        (
            ("  text: choices[0].delta.content", "  text: 'choices[0.delta'"),
            "providers[0].response.text",
            "cannot read",
        ),
        (("  format: sse", "  format: xml"), "providers[0].response.format", "must be one of"),
        (("{{ model }}", "{{ modle }}"), "providers[0].request.body.model", "unknown variable 'modle'"),
        (("{{ model }}", "{{ model | shout }}"), "providers[0].request.body.model", "unknown filter 'shout'"),
        (("{{ model }}", "{{ model | default }}"), "providers[0].request.body.model", "takes 1 argument"),
        (("{{ model }}", "{{ model"), "providers[0].request.body.model", "unclosed"),
        (
            ("{{ messages }}", "{{ messages[x] }}"),
            "providers[0].request.body.messages",
            "index or a quoted key",
        ),
        (("  url: https://up.example/chat\n", ""), "providers[0].request.url", "is required"),
        (("https://up.example/chat", "ftp://x"), "providers[0].request.url", "absolute http(s) URL"),
        (("request:\n", "request:\n  method: DELETE\n"), "providers[0].request.method", "must be POST"),
        (("request:\n", "request:\n  verb: POST\n"), "providers[0].request.verb", "unknown key"),
        (
            ("response:\n", "response:\n  ignore_invalid: maybe\n"),
            "providers[0].response.ignore_invalid",
            "true or false",
        ),
        (("response:\n", "response:\n  done: true\n"), "providers[0].response.done", "must be a condition"),
        (
            ("response:\n", "response:\n  done: {equals: 1}\n"),
            "providers[0].response.done.equals",
            "needs a path",
        ),
        (
            ("response:\n", "response:\n  finish_map: {fin: ended}\n"),
            "providers[0].response.finish_map.fin",
            "must be one of",
        ),
        (
            ("response:\n", "response:\n  usage: {tokens_in: a}\n"),
            "providers[0].response.usage.tokens_in",
            "unknown key",
        ),
        (
            ("response:\n", "response:\n  events: {delta: {text: [1]}}\n"),
            "providers[0].response.events.delta.text[0]",
            "must be a path",
        ),
        (
            ("response:\n", "response:\n  think: {start: x}\n"),
            "providers[0].response.think.start",
            "unknown key",
        ),
        (
            ("models: [m]\n", "models: [m]\nmessages: {images: maybe}\n"),
            "providers[0].messages.images",
            "reject, openai",
        ),
        (
            ("models: [m]\n", "models: [m]\nmessages: {item: {r: '{{ model_name }}'}}\n"),
            "providers[0].messages.item.r",
            "unknown variable",
        ),
        (("models: [m]\n", "models: [m]\ntools: native\n"), "providers[0].tools", "emulate, reject"),
        (
            ("models: [m]\n", "models: [m]\nrespones: {}\n"),
            "providers[0].respones",
            "unknown key for an http provider",
        ),
    ],
)
def test_invalid_specs_name_the_field(change: tuple[str, str], path: str, needle: str):
    old, new = change
    assert old in BASE
    err = _error(BASE.replace(old, new, 1))
    assert err.path == path, str(err)
    assert needle in str(err)


def test_keys_other_providers_use_are_refused():
    err = _error("param_renames: {max_tokens: max_length}\n" + BASE)
    assert err.path == "providers[0].param_renames"
    assert "not used by http providers" in str(err)


def test_events_need_sse():
    block = BASE.replace("format: sse", "format: json") + "  events: {x: {text: a}}\n"
    assert _error(block).path == "providers[0].response.events"


def test_path_needs_base_url():
    block = BASE.replace("  url: https://up.example/chat\n", "  path: /chat\n")
    assert _error(block).path == "providers[0].base_url"
    ok = compile_spec(_config("base_url: https://up.example\n" + block), "p")
    assert ok.url({}) == "https://up.example/chat"


def test_get_has_no_body():
    block = BASE.replace("request:\n", "request:\n  method: GET\n")
    assert _error(block).path == "providers[0].request.body"


def test_invalid_spec_is_rejected_at_load_with_its_line():
    text = provider_block(BASE.replace("{{ model }}", "{{ nope }}"))
    with pytest.raises(ConfigError) as e:
        parse_config(text)
    assert e.value.path == "providers[0].request.body.model"
    assert e.value.line is not None
    assert "{{ nope }}" in text.splitlines()[e.value.line - 1]


def test_provider_creation_rejects_an_invalid_spec():
    from any2api.config import Timeouts
    from any2api.providers.registry import create_provider
    from any2api.upstream import Upstream

    with pytest.raises(ConfigError) as e:
        create_provider(_config(BASE.replace("format: sse", "format: xml")), Upstream(Timeouts()))
    assert e.value.path == "providers[0].response.format"
