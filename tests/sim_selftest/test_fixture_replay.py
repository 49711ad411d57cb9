"""Recorded provider responses (shared/fixtures) replayed by the simulator: byte-exact for ``.sse`` and
``.json``, framed as SSE for ``.vercel.chunks.txt``, and parsed by the official SDKs to the same content
as an independent reading of the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from anthropic.types import MessageParam
from openai.types.chat import ChatCompletionMessageFunctionToolCall, ChatCompletionMessageParam

from tests.sim import FIXTURES_DIR, Script, SimServer
from tests.sim.fixtures import error_status, split_sse
from tests.sim.fold import FoldedCall, fold_anthropic, fold_openai_choices, sse_frames
from tests.sim_selftest.raw_http import request


def _files(*patterns: str) -> list[str]:
    out: set[str] = set()
    for p in patterns:
        out.update(str(f.relative_to(FIXTURES_DIR)) for f in FIXTURES_DIR.glob(p))
    return sorted(out)


OPENAI_CHAT_STREAMS = _files(
    "openai/chat-stream-*", "openai/azure-chat-stream-*", "deepseek/chat-stream-*", "openai-compatible/xai-*"
)
OPENAI_STREAM_ERRORS = _files("openai-compatible/groq-*")
OPENAI_CHAT_BODIES = [f for f in _files("openai/chat-*.json", "deepseek/chat-*.json") if "error" not in f]
OPENAI_ERRORS = _files("openai/*error*.json")
RESPONSES_STREAMS = _files("openai/responses-stream-*", "deepseek/responses-stream-*")
RESPONSES_BODIES = [f for f in _files("openai/responses-*.json") if "error" not in f]
ANTHROPIC_STREAMS = _files("anthropic/messages-stream-*")
ANTHROPIC_BODIES = [f for f in _files("anthropic/messages-*.json")]
ANTHROPIC_ERRORS = _files("anthropic/error-*.json")
GOOGLE = _files("google/*")


def test_every_response_fixture_is_replayed_by_a_test() -> None:
    covered = set(
        OPENAI_CHAT_STREAMS
        + OPENAI_STREAM_ERRORS
        + OPENAI_CHAT_BODIES
        + OPENAI_ERRORS
        + RESPONSES_STREAMS
        + RESPONSES_BODIES
        + ANTHROPIC_STREAMS
        + ANTHROPIC_BODIES
        + ANTHROPIC_ERRORS
        + GOOGLE
    )
    everything = {
        str(f.relative_to(FIXTURES_DIR))
        for f in FIXTURES_DIR.rglob("*")
        if f.is_file() and f.parts[len(FIXTURES_DIR.parts)] != "requests" and f.suffix != ".md"
    }
    assert everything - covered == set()


# --- reading the files independently of the simulator --------------------------------------------------------


def file_payloads(rel: str) -> list[tuple[str | None, str]]:
    """(event name, data) of every event in a fixture, read straight from the file."""
    raw = (FIXTURES_DIR / rel).read_bytes()
    if rel.endswith(".chunks.txt"):
        return [(None, ln) for ln in raw.decode().splitlines() if ln.strip()]
    return sse_frames(raw)


def fold_chat(chunks: list[Any]) -> dict[int, tuple[str, str, str, list[FoldedCall], str | None]]:
    """Per choice: the joined content / refusal / reasoning, the tool calls and the finish reason."""
    return {
        i: (f.text, f.refusal, f.reasoning, f.tool_calls, f.finish)
        for i, f in fold_openai_choices(chunks).items()
    }


# --- OpenAI Chat Completions -----------------------------------------------------------------------------------


@pytest.fixture
def oai(sim: SimServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim.url + "/v1", api_key="k", max_retries=0, timeout=10)


@pytest.fixture
def ant(sim: SimServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=sim.url, api_key="k", max_retries=0, timeout=10)


USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "replay"}]
ANT_USER: list[MessageParam] = [{"role": "user", "content": "replay"}]


def function_calls(calls: list[Any] | None) -> list[tuple[str, str, str]]:
    out = [
        (c.id, c.function.name, c.function.arguments)
        for c in calls or []
        if isinstance(c, ChatCompletionMessageFunctionToolCall)
    ]
    assert len(out) == len(calls or [])
    return out


@pytest.mark.parametrize("rel", OPENAI_CHAT_STREAMS)
def test_chat_stream_replay(sim: SimServer, oai: openai.OpenAI, rel: str) -> None:
    expected_chunks = [json.loads(d) for _, d in file_payloads(rel) if d != "[DONE]"]
    expected = fold_chat(expected_chunks)
    assert expected, "the fixture has choices"

    sim.enqueue(Script.replay(rel))
    raw = request(sim.url, "POST", "/v1/chat/completions", {"model": "m", "messages": USER, "stream": True})
    assert raw.status == 200
    assert raw.headers["content-type"].startswith("text/event-stream")
    if rel.endswith(".sse"):
        assert raw.body == (FIXTURES_DIR / rel).read_bytes()
        assert raw.chunks == split_sse(raw.body)
    else:
        served = [d for _, d in sse_frames(raw.body)]
        assert served == [d for _, d in file_payloads(rel)] + ["[DONE]"]

    sim.enqueue(Script.replay(rel))
    chunks = [c.model_dump() for c in oai.chat.completions.create(model="m", messages=USER, stream=True)]
    assert fold_chat(chunks) == expected
    assert len(chunks) == len(expected_chunks)

    sim.enqueue(Script.replay(rel))
    finishes = {c[4] for c in expected.values()}
    if "length" in finishes:  # the SDK's stream helper refuses truncated answers, by design
        with (
            pytest.raises(openai.LengthFinishReasonError),
            oai.chat.completions.stream(model="m", messages=USER) as stream,
        ):
            stream.get_final_completion()
        return
    with oai.chat.completions.stream(model="m", messages=USER) as stream:
        final = stream.get_final_completion()
    for ch in final.choices:
        content, _, _, tools, finish = expected[ch.index]
        assert (ch.message.content or "") == content
        assert ch.finish_reason == finish
        calls = function_calls(ch.message.tool_calls)
        assert calls == [(t.id, t.name, t.arguments) for t in tools]


@pytest.mark.parametrize("rel", OPENAI_STREAM_ERRORS)
def test_chat_stream_error_event_replay(sim: SimServer, oai: openai.OpenAI, rel: str) -> None:
    errors = [json.loads(d)["error"] for name, d in file_payloads(rel) if name == "error"]
    assert errors
    sim.enqueue(Script.replay(rel))
    with pytest.raises(openai.APIError) as info:
        for _ in oai.chat.completions.create(model="m", messages=USER, stream=True):
            pass
    assert info.value.message == errors[0]["message"]


@pytest.mark.parametrize("rel", OPENAI_CHAT_BODIES)
def test_chat_body_replay(sim: SimServer, oai: openai.OpenAI, rel: str) -> None:
    expected = json.loads((FIXTURES_DIR / rel).read_bytes())
    sim.enqueue(Script.replay(rel))
    r = oai.chat.completions.create(model="m", messages=USER)
    assert r.id == expected["id"]
    for ch, want in zip(r.choices, expected["choices"], strict=True):
        m = want["message"]
        assert ch.message.content == m.get("content")
        assert ch.message.refusal == m.get("refusal")
        assert ch.finish_reason == want["finish_reason"]
        calls = function_calls(ch.message.tool_calls)
        assert calls == [
            (t["id"], t["function"]["name"], t["function"]["arguments"]) for t in m.get("tool_calls") or []
        ]
    assert r.usage is not None
    assert r.usage.total_tokens == expected["usage"]["total_tokens"]


@pytest.mark.parametrize("rel", OPENAI_ERRORS)
def test_openai_error_replay(sim: SimServer, oai: openai.OpenAI, rel: str) -> None:
    body = json.loads((FIXTURES_DIR / rel).read_bytes())
    status = error_status(Path(rel).name, body)
    assert status is not None
    assert status >= 400
    sim.enqueue(Script.replay(rel))
    with pytest.raises(openai.APIStatusError) as info:
        oai.chat.completions.create(model="m", messages=USER)
    assert info.value.status_code == status
    assert info.value.body == body["error"]
    assert body["error"]["message"] in info.value.message


def test_error_status_comes_from_the_name_or_the_type() -> None:
    assert (
        error_status("chat-error-404-model-not-found.json", {"error": {"type": "invalid_request_error"}})
        == 404
    )
    assert (
        error_status(
            "responses-error-insufficient-quota.vercel.json", {"error": {"type": "insufficient_quota"}}
        )
        == 429
    )
    assert error_status("x.json", {"type": "error", "error": {"type": "overloaded_error"}}) == 529
    assert error_status("x.json", {"error": {"code": 404, "status": "NOT_FOUND"}}) == 404
    assert error_status("x.json", {"id": "chatcmpl"}) is None


# --- OpenAI Responses ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", RESPONSES_STREAMS)
def test_responses_stream_replay(sim: SimServer, oai: openai.OpenAI, rel: str) -> None:
    payloads = [json.loads(d) for _, d in file_payloads(rel)]
    expected = [p["type"] for p in payloads]
    sim.enqueue(Script.replay(rel), path="/v1/responses")
    if "error" in expected:  # the SDK raises on an error event, with its message
        got: list[str] = []
        with pytest.raises(openai.APIError) as info:
            got.extend(e.type for e in oai.responses.create(model="m", input="replay", stream=True))
        assert got == expected[: expected.index("error")]
        assert info.value.message == payloads[expected.index("error")]["error"]["message"]
    else:
        events = list(oai.responses.create(model="m", input="replay", stream=True))
        assert [e.type for e in events] == expected
    sim.enqueue(Script.replay(rel), path="/v1/responses")
    raw = request(sim.url, "POST", "/v1/responses", {"model": "m", "input": "x", "stream": True})
    names = [n for n, _ in sse_frames(raw.body)]
    assert names == expected  # every payload got its `event:` line


@pytest.mark.parametrize("rel", RESPONSES_BODIES)
def test_responses_body_replay(sim: SimServer, oai: openai.OpenAI, rel: str) -> None:
    expected = json.loads((FIXTURES_DIR / rel).read_bytes())
    sim.enqueue(Script.replay(rel), path="/v1/responses")
    r = oai.responses.create(model="m", input="replay")
    assert r.id == expected["id"]
    assert [o.type for o in r.output] == [o["type"] for o in expected["output"]]


# --- Anthropic Messages ----------------------------------------------------------------------------------------


def _ant_events(rel: str) -> list[dict[str, Any]]:
    return [e for e in (json.loads(d) for _, d in file_payloads(rel)) if e["type"] != "ping"]


@pytest.mark.parametrize("rel", ANTHROPIC_STREAMS)
def test_messages_stream_replay(sim: SimServer, ant: anthropic.Anthropic, rel: str) -> None:
    expected = fold_anthropic(_ant_events(rel))
    assert expected.blocks
    sim.enqueue(Script.replay(rel))
    raw = request(
        sim.url, "POST", "/v1/messages", {"model": "m", "max_tokens": 5, "messages": USER, "stream": True}
    )
    if rel.endswith(".sse"):
        assert raw.body == (FIXTURES_DIR / rel).read_bytes()
    else:
        served = sse_frames(raw.body)
        assert [d for _, d in served] == [d for _, d in file_payloads(rel)]
        assert all(name == json.loads(d)["type"] for name, d in served)

    sim.enqueue(Script.replay(rel))
    with ant.messages.stream(model="m", max_tokens=5, messages=ANT_USER) as stream:
        raw_kinds = {
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        }
        events = [e.model_dump(exclude_unset=True) for e in stream if e.type in raw_kinds]
        final = stream.get_final_message()
    folded = fold_anthropic(events)
    assert (folded.blocks, folded.finish) == (expected.blocks, expected.finish)
    assert final.stop_reason == expected.finish
    assert [b.type for b in final.content] == expected.block_types
    keys = ("text", "thinking", "signature", "data", "id", "name", "input")
    for got, want in zip(final.content, expected.blocks, strict=True):
        d = got.model_dump()
        assert {k: d[k] for k in keys if k in want} == {k: want[k] for k in keys if k in want}


@pytest.mark.parametrize("rel", ANTHROPIC_BODIES)
def test_messages_body_replay(sim: SimServer, ant: anthropic.Anthropic, rel: str) -> None:
    expected = json.loads((FIXTURES_DIR / rel).read_bytes())
    sim.enqueue(Script.replay(rel))
    m = ant.messages.create(model="m", max_tokens=5, messages=ANT_USER)
    assert m.id == expected["id"]
    assert m.stop_reason == expected["stop_reason"]
    assert [b.model_dump(exclude_unset=True) for b in m.content] == expected["content"]
    assert m.usage.input_tokens == expected["usage"]["input_tokens"]


@pytest.mark.parametrize("rel", ANTHROPIC_ERRORS)
def test_anthropic_error_replay(sim: SimServer, ant: anthropic.Anthropic, rel: str) -> None:
    body = json.loads((FIXTURES_DIR / rel).read_bytes())
    sim.enqueue(Script.replay(rel))
    with pytest.raises(anthropic.APIStatusError) as info:
        ant.messages.create(model="m", max_tokens=5, messages=ANT_USER)
    assert info.value.status_code == error_status(Path(rel).name, body)
    assert info.value.type == body["error"]["type"]
    assert info.value.api_message == body["error"]["message"]


# --- Gemini (no SDK here: bytes and status) --------------------------------------------------------------------


@pytest.mark.parametrize("rel", GOOGLE)
def test_google_replay_bytes(sim: SimServer, rel: str) -> None:
    path = "/v1beta/models/gemini:streamGenerateContent"
    sim.enqueue(Script.replay(rel), path=path)
    raw = request(sim.url, "POST", path, {"contents": []})
    data = (FIXTURES_DIR / rel).read_bytes()
    if rel.endswith(".chunks.txt"):
        assert [d for _, d in sse_frames(raw.body)] == [ln for ln in data.decode().splitlines() if ln]
    else:
        assert raw.body == data
    expected_status = error_status(Path(rel).name, json.loads(data)) if rel.endswith(".json") else None
    assert raw.status == (expected_status or 200)
