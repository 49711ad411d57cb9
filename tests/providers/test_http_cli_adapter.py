"""``any2api adapter check`` / ``adapter try`` against the simulators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from any2api.cli_adapter import adapter_app

from . import http_fixtures
from .http_fixtures import EXAMPLES
from .http_sims import HttpSims, Reply

http_sims = http_fixtures.http_sims
sims = http_fixtures.sims

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(adapter_app, list(args), terminal_width=200)


@pytest.mark.parametrize("name", ["edgeone", "ollama", "plain-json", "custom-sse"])
def test_check_accepts_the_examples(name: str):
    r = invoke("check", str(EXAMPLES / name / "provider.yaml"))
    assert r.exit_code == 0, r.output
    assert r.output.startswith("ok ")


def test_check_names_the_bad_field(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    text = (EXAMPLES / "edgeone" / "provider.yaml").read_text().replace("format: sse", "format: websocket")
    bad.write_text(text)
    r = invoke("check", str(bad))
    assert r.exit_code == 2
    assert "providers[0].response.format" in r.output
    assert "must be one of" in r.output


def test_try_prints_the_raw_exchange_beside_the_translation(sims: HttpSims, tmp_path: Path):
    sims.script(Reply(
        text='On it.\n<tool_call>{"name": "get_weather", "arguments": {"city": "Rome"}}</tool_call>',
        reasoning="need weather",
    ))  # fmt: skip
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    ]))  # fmt: skip
    r = invoke("try", str(EXAMPLES / "edgeone" / "provider.yaml"), "--prompt", "weather in Rome?",
               "--tools", str(tools), "--temperature", "0.2")  # fmt: skip
    assert r.exit_code == 0, r.output
    out = r.output
    assert "POST http://127.0.0.1:" in out
    assert "/api/ai" in out
    assert '"temperature": 0.2' in out
    assert "HTTP 200" in out
    assert "data: [DONE]" in out
    assert "[reasoning]" in out
    assert "need weather" in out
    assert "[tool call] get_weather" in out
    assert '{"city":"Rome"}' in out
    assert "finish: tool_calls" in out


def test_try_masks_secrets_and_reports_errors(sims: HttpSims):
    sims.script(Reply(error="Daily usage limit exceeded"))
    r = invoke(
        "try", str(EXAMPLES / "plain-json" / "provider.yaml"), "--prompt", "hi", "--key", "plain-secret"
    )
    assert r.exit_code == 1
    assert "plain-secret" not in r.output
    assert "X-Api-Key: ***" in r.output
    assert "error: quota_exceeded (HTTP 429" in r.output
    assert "Daily usage limit exceeded" in r.output


def test_try_picks_a_provider_from_a_full_config(sims: HttpSims, tmp_path: Path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(http_fixtures.example_config("ollama") + "  - {name: other, type: demo}\n")
    r = invoke("try", str(cfg), "--provider", "ollama", "--prompt", "hello there", "--model", "qwen3:8b")
    assert r.exit_code == 0, r.output
    assert "You said: hello there" in r.output
    assert sims.requests[-1].path == "/api/chat"


def test_check_warns_when_emulated_tools_could_not_reach_the_model(tmp_path: Path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "name: p\ntype: http\nmodels: [m]\nmessages: {system: drop}\n"
        'request: {url: "https://up.example/x", body: {q: "{{ prompt }}"}}\nresponse: {format: json, text: t}\n'
    )
    r = invoke("check", str(spec))
    assert r.exit_code == 0
    assert "warning:" in r.output
    assert "system prompt" in r.output
    spec.write_text(spec.read_text().replace('q: "{{ prompt }}"', 'q: "{{ prompt }}", s: "{{ system }}"'))
    assert "warning:" not in invoke("check", str(spec)).output
