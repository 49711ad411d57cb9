"""The simulator speaks Anthropic Messages well enough for the official SDK to parse every answer."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import pytest
from anthropic.types import MessageParam

from tests.sim import (
    Drop,
    Hang,
    Parallel,
    Ping,
    Reasoning,
    RedactedReasoning,
    Script,
    SimServer,
    StreamError,
    Text,
    ToolCall,
    Usage,
    anthropic_error,
    html_error,
)
from tests.sim_selftest.raw_http import request

USER: list[MessageParam] = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture
def client(sim: SimServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=sim.url, api_key="sk-ant-test", max_retries=0, timeout=10)


def test_default_answer_echoes_the_last_user_text(client: anthropic.Anthropic, sim: SimServer) -> None:
    m = client.messages.create(
        model="sim-claude", max_tokens=100, messages=[{"role": "user", "content": "hi you"}]
    )
    assert m.type == "message"
    assert m.role == "assistant"
    assert m.model == "sim-claude"
    assert [b.type for b in m.content] == ["text"]
    assert m.content[0].text == "echo: hi you"  # type: ignore[union-attr]
    assert m.stop_reason == "end_turn"
    assert m.stop_sequence is None
    assert m.usage.input_tokens == 2
    assert m.usage.output_tokens == 4
    rec = sim.last
    assert rec.dialect == "anthropic"
    assert rec.api_key == "sk-ant-test"  # this SDK sends it as a bearer token
    assert "anthropic-version" in rec.headers
    assert rec.json["max_tokens"] == 100


def test_default_answer_thinks_when_thinking_is_enabled(client: anthropic.Anthropic) -> None:
    m = client.messages.create(
        model="sim-claude",
        max_tokens=2048,
        messages=USER,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    assert [b.type for b in m.content] == ["thinking", "text"]
    thinking = m.content[0]
    assert thinking.type == "thinking"
    assert thinking.thinking.startswith("Thinking about: ")
    assert thinking.signature


def test_stream_thinking_signature_text_tool_use_and_usage(
    client: anthropic.Anthropic, sim: SimServer
) -> None:
    sim.enqueue(
        Script(
            [
                Reasoning("I should call the weather tool.", split=7, signature="EqQBCkYIBxgCKkDsig=="),
                Text("Let me check.", split=5),
                ToolCall("get_weather", '{"city": "Paris", "days": [1, 2]}', id="toolu_X", split=6),
                Ping(),
            ],
            usage=Usage(input_tokens=120, output_tokens=45, cache_read_tokens=100, cache_write_tokens=20),
        )
    )
    with client.messages.stream(model="sim-claude", max_tokens=1000, messages=USER) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use"]
    th, tx, tu = final.content
    assert th.type == "thinking"
    assert tx.type == "text"
    assert tu.type == "tool_use"
    assert th.thinking == "I should call the weather tool."
    assert th.signature == "EqQBCkYIBxgCKkDsig=="
    assert tx.text == "Let me check."
    assert (tu.id, tu.name, tu.input) == ("toolu_X", "get_weather", {"city": "Paris", "days": [1, 2]})
    assert final.stop_reason == "tool_use"
    assert final.usage.input_tokens == 120
    assert final.usage.output_tokens == 45
    assert final.usage.cache_read_input_tokens == 100
    assert final.usage.cache_creation_input_tokens == 20
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert "signature" in kinds
    assert kinds.count("input_json") == 7  # the empty first fragment, then 6-character pieces
    text_deltas = [e.text for e in events if e.type == "text"]
    assert text_deltas == ["Let m", "e che", "ck."]


def test_wire_format_of_the_stream(sim: SimServer) -> None:
    sim.enqueue(Script([Text("hi")], pad=False))
    body = {"model": "m", "max_tokens": 5, "messages": USER, "stream": True}
    r = request(sim.url, "POST", "/v1/messages", body, {"anthropic-version": "2023-06-01"})
    assert r.status == 200
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    text = r.body.decode()
    blocks = text.split("\n\n")
    assert blocks[-1] == ""
    names = [b.split("\n")[0] for b in blocks[:-1]]
    assert names == [
        "event: message_start",
        "event: content_block_start",
        "event: ping",
        "event: content_block_delta",
        "event: content_block_stop",
        "event: message_delta",
        "event: message_stop",
    ]
    assert blocks[2] == 'event: ping\ndata: {"type": "ping"}'
    assert (
        blocks[3]
        == 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}'
    )


def test_padding_keeps_json_valid(sim: SimServer) -> None:
    sim.enqueue(Script([Text(["a", "b", "c"])]))
    r = request(
        sim.url, "POST", "/v1/messages", {"model": "m", "max_tokens": 5, "messages": USER, "stream": True}
    )
    data_lines = [ln for ln in r.body.decode().split("\n") if ln.startswith("data: ")]
    assert any(ln.endswith(" ") for ln in data_lines)  # Anthropic pads its JSON with spaces


def test_redacted_thinking_stream_and_body(client: anthropic.Anthropic, sim: SimServer) -> None:
    sim.enqueue(Script([RedactedReasoning("EmwKAhgBEgy3va3pzix/LafPsn4a"), Text("ok")]))
    with client.messages.stream(model="m", max_tokens=10, messages=USER) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "redacted_thinking"
    assert final.content[0].data == "EmwKAhgBEgy3va3pzix/LafPsn4a"
    sim.enqueue(Script([RedactedReasoning("abc"), Text("ok")]))
    m = client.messages.create(model="m", max_tokens=10, messages=USER)
    assert m.content[0].type == "redacted_thinking"
    assert m.content[0].data == "abc"


def test_parallel_tool_use_interleaved_blocks(client: anthropic.Anthropic, sim: SimServer) -> None:
    calls = [
        ToolCall("a", '{"x": "1234567890"}', id="toolu_a", split=3),
        ToolCall("b", '{"y": [true]}', id="toolu_b", split=2),
    ]
    sim.enqueue(Script([Parallel(calls, interleave=True)]))
    with client.messages.stream(model="m", max_tokens=10, messages=USER) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert [(b.id, b.name, b.input) for b in final.content if b.type == "tool_use"] == [
        ("toolu_a", "a", {"x": "1234567890"}),
        ("toolu_b", "b", {"y": [True]}),
    ]
    indices = [
        e.index for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert indices[:4] == [0, 1, 0, 1]


def test_non_stream_tool_use_and_stop_sequence(client: anthropic.Anthropic, sim: SimServer) -> None:
    sim.enqueue(Script([Text("a"), ToolCall("f", '{"k": 1}', id="toolu_1")]))
    m = client.messages.create(model="m", max_tokens=10, messages=USER)
    assert m.stop_reason == "tool_use"
    assert m.content[1].type == "tool_use"
    assert m.content[1].input == {"k": 1}
    sim.enqueue(Script.text("done", stop_sequence="END"), Script.text("done", stop_sequence="END"))
    m = client.messages.create(model="m", max_tokens=10, messages=USER)
    assert (m.stop_reason, m.stop_sequence) == ("stop_sequence", "END")
    with client.messages.stream(model="m", max_tokens=10, messages=USER) as stream:
        final = stream.get_final_message()
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "END")


@pytest.mark.parametrize(
    ("finish", "expected"),
    [
        ("length", "max_tokens"),
        ("max_tokens", "max_tokens"),
        ("stop", "end_turn"),
        ("refusal", "refusal"),
        ("pause_turn", "pause_turn"),
    ],
)
def test_stop_reasons_in_anthropic_vocabulary(
    client: anthropic.Anthropic, sim: SimServer, finish: str, expected: str
) -> None:
    sim.enqueue(Script.text("x", finish=finish))
    with client.messages.stream(model="m", max_tokens=10, messages=USER) as stream:
        assert stream.get_final_message().stop_reason == expected


@pytest.mark.parametrize(
    ("status", "type", "exc"),
    [
        (400, "invalid_request_error", anthropic.BadRequestError),
        (401, "authentication_error", anthropic.AuthenticationError),
        (403, "permission_error", anthropic.PermissionDeniedError),
        (404, "not_found_error", anthropic.NotFoundError),
        (429, "rate_limit_error", anthropic.RateLimitError),
        (500, "api_error", anthropic.InternalServerError),
        (529, "overloaded_error", anthropic.OverloadedError),
    ],
)
def test_http_errors_raise_the_sdk_class(
    client: anthropic.Anthropic, sim: SimServer, status: int, type: str, exc: type[anthropic.APIStatusError]
) -> None:
    sim.enqueue(anthropic_error(status, type, f"{type} happened", headers={"retry-after": "7"}))
    with pytest.raises(exc) as info:
        client.messages.create(model="m", max_tokens=10, messages=USER)
    e = info.value
    assert e.status_code == status
    assert e.type == type
    assert e.api_message == f"{type} happened"
    assert e.request_id == "req_sim_error"
    assert e.response.headers["retry-after"] == "7"


def test_html_502_raises_internal_server_error(client: anthropic.Anthropic, sim: SimServer) -> None:
    sim.enqueue(html_error(502, "502 Bad Gateway"))
    with pytest.raises(anthropic.InternalServerError) as info:
        client.messages.create(model="m", max_tokens=10, messages=USER)
    assert info.value.status_code == 502
    assert "502 Bad Gateway" in info.value.response.text


def test_error_event_inside_a_stream(client: anthropic.Anthropic, sim: SimServer) -> None:
    sim.enqueue(Script([Text(["par", "tial"]), StreamError("Overloaded", "overloaded_error")]))
    texts: list[str] = []

    def read(manager: Any) -> None:
        with manager as stream:
            texts.extend(e.text for e in stream if e.type == "text")

    with pytest.raises(anthropic.APIStatusError) as info:
        read(client.messages.stream(model="m", max_tokens=10, messages=USER))
    assert texts == ["par", "tial"]
    assert info.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_mid_stream_drop(client: anthropic.Anthropic, sim: SimServer) -> None:
    sim.enqueue(Script([Text(["a", "b"]), Drop()]))
    with (
        pytest.raises((anthropic.APIConnectionError, httpx2.TransportError)),
        client.messages.stream(model="m", max_tokens=10, messages=USER) as stream,
    ):
        stream.get_final_message()
    assert sim.last.wait() == "dropped"


def test_mid_stream_reset(client: anthropic.Anthropic, sim: SimServer) -> None:
    sim.enqueue(Script([Text(["a", "b"]), Drop(reset=True)]))
    with (
        pytest.raises((anthropic.APIConnectionError, httpx2.TransportError)),
        client.messages.stream(model="m", max_tokens=10, messages=USER) as stream,
    ):
        stream.get_final_message()


def test_hang_after_headers_times_out(sim: SimServer) -> None:
    client = anthropic.Anthropic(
        base_url=sim.url, api_key="k", max_retries=0, timeout=httpx2.Timeout(5, read=0.3)
    )
    sim.enqueue(Script([Text("a"), Hang()]))
    # the SDK wraps a timeout while waiting for the headers, not one while reading the stream
    with (
        pytest.raises((anthropic.APITimeoutError, httpx2.ReadTimeout)),
        client.messages.stream(model="m", max_tokens=10, messages=USER) as stream,
    ):
        stream.get_final_message()
    client.close()
    assert sim.last.wait() == "client_disconnected"


def test_missing_max_tokens_is_rejected_like_anthropic(sim: SimServer) -> None:
    r = request(sim.url, "POST", "/v1/messages", {"model": "m", "messages": USER})
    assert r.status == 400
    assert b'"type":"invalid_request_error"' in r.body
    assert b"max_tokens" in r.body
    assert sim.last.outcome == "rejected"


def test_wrong_key_gets_anthropic_401(client: anthropic.Anthropic, sim: SimServer) -> None:
    sim.keys = {"right"}
    with pytest.raises(anthropic.AuthenticationError) as info:
        client.messages.create(model="m", max_tokens=10, messages=USER)
    assert info.value.type == "authentication_error"


def test_models_and_count_tokens(client: anthropic.Anthropic, sim: SimServer) -> None:
    assert [m.id for m in client.models.list()] == sim.models
    n = client.messages.count_tokens(model="m", messages=[{"role": "user", "content": "one two three"}])
    assert n.input_tokens == 3
