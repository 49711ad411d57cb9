"""The OpenAI Chat Completions client dialect on its own: request parsing (every rejection names its
parameter, as OpenAI does), the whole-response body, the SSE stream, and error bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from any2api.core.errors import GatewayError
from any2api.core.events import (
    ErrorEvent,
    Event,
    Finish,
    PartDelta,
    PartEnd,
    PartStart,
    ResponseStart,
    UsageEvent,
)
from any2api.core.parts import ImagePart, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from any2api.core.request import ChatRequest
from any2api.core.response import ChatResponse, Usage
from any2api.formats.base import RequestContext
from any2api.formats.openai_chat import OPENAI_CHAT
from tests.sim.fold import fold_openai_chat, openai_chunks, sse_data

USER = [{"role": "user", "content": "hi"}]


def context(body: Any) -> RequestContext:
    ctx = RequestContext("POST", "/v1/chat/completions", {})
    ctx.json = body
    return ctx


def parse(**body: Any) -> ChatRequest:
    return OPENAI_CHAT.parse_request(context({"model": "m", "messages": USER, **body}))


def rejected(body: Any) -> GatewayError:
    with pytest.raises(GatewayError) as e:
        OPENAI_CHAT.parse_request(context(body))
    assert e.value.kind == "invalid_request"
    assert e.value.status == 400
    return e.value


# --- parse_request ----------------------------------------------------------------------------------------


def test_a_full_request_is_read_into_the_hub_model() -> None:
    req = parse(
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "look"},
                                         {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
            {"role": "assistant", "content": None, "reasoning_content": "thinking",
             "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
        ],
        stream=True, stream_options={"include_usage": True}, max_completion_tokens=64, temperature=0.2,
        top_p=0.9, seed=7, stop="END", user="u1", reasoning_effort="high", vendor_knob={"x": 1},
        tools=[{"type": "function", "function": {"name": "f", "description": "F", "parameters": {"type": "object"}}}],
        tool_choice={"type": "function", "function": {"name": "f"}}, parallel_tool_calls=False,
    )  # fmt: skip
    assert (req.model, req.stream, req.include_usage, req.max_tokens) == ("m", True, True, 64)
    assert (req.temperature, req.top_p, req.seed, req.stop, req.user) == (0.2, 0.9, 7, ["END"], "u1")
    assert [m.role for m in req.messages] == ["system", "user", "assistant", "tool"]
    image = req.messages[1].parts[1]
    assert isinstance(image, ImagePart)
    assert (image.media_type, image.data) == ("image/png", "AAAA")
    reasoning, call = req.messages[2].parts
    assert isinstance(reasoning, ReasoningPart)
    assert reasoning.text == "thinking"
    assert isinstance(call, ToolCallPart)
    assert (call.id, call.name, call.arguments) == ("c1", "f", '{"a":1}')
    result = req.messages[3].parts[0]
    assert isinstance(result, ToolResultPart)
    assert req.tools is not None
    assert [(t.name, t.description) for t in req.tools] == [("f", "F")]
    assert req.tool_choice is not None
    assert (req.tool_choice.mode, req.tool_choice.name, req.tool_choice.parallel) == ("tool", "f", False)
    assert req.reasoning is not None
    assert req.reasoning.effort == "high"
    assert req.origin == "openai_chat"
    assert req.vendor_extra == {"openai_chat": {"vendor_knob": {"x": 1}}}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": USER}, "model"),
        ({"model": 5, "messages": USER}, "model"),
        ({"model": ""}, "model"),
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": {}}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": ["hi"]}, "messages[0]"),
        ({"model": "m", "messages": [{"content": "x"}]}, "messages[0].role"),
        ({"model": "m", "messages": [*USER, {"role": "robot", "content": "x"}]}, "messages[1].role"),
        ({"model": "m", "messages": [{"role": "user"}]}, "messages[0].content"),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": "video"}]}]}, "messages[0].content[0].type"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}]},
         "messages[0].content[0].text"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
         "messages[0].content[0].image_url.url"),
        ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        ({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]}]},
         "messages[0].tool_calls[0].function.name"),
        ({"model": "m", "messages": USER, "stream": "yes"}, "stream"),
        ({"model": "m", "messages": USER, "temperature": "hot"}, "temperature"),
        ({"model": "m", "messages": USER, "max_tokens": 0}, "max_tokens"),
        ({"model": "m", "messages": USER, "max_tokens": 1.5}, "max_tokens"),
        ({"model": "m", "messages": USER, "seed": True}, "seed"),
        ({"model": "m", "messages": USER, "stop": [1]}, "stop"),
        ({"model": "m", "messages": USER, "tools": {}}, "tools"),
        ({"model": "m", "messages": USER, "tools": [{"type": "function", "function": {"name": ""}}]},
         "tools[0].function.name"),
        ({"model": "m", "messages": USER, "tool_choice": "sometimes"}, "tool_choice"),
        ({"model": "m", "messages": USER, "tool_choice": {"function": {}}}, "tool_choice.function.name"),
        ({"model": "m", "messages": USER, "parallel_tool_calls": "no"}, "parallel_tool_calls"),
        ({"model": "m", "messages": USER, "stream_options": []}, "stream_options"),
    ],
)  # fmt: skip
def test_every_rejection_names_the_parameter(body: dict[str, Any], param: str) -> None:
    err = rejected(body)
    assert err.param == param
    assert param.split("[")[0] in err.message


def test_a_body_that_is_not_an_object_is_rejected_without_a_param() -> None:
    err = rejected(["model", "m"])
    assert err.param is None
    assert "JSON object" in err.message


def test_legacy_functions_and_function_call_are_read_as_tools() -> None:
    req = parse(functions=[{"name": "f", "parameters": {"type": "object"}}], function_call={"name": "f"})
    assert req.tools is not None
    assert [t.name for t in req.tools] == ["f"]
    assert req.tool_choice is not None
    assert (req.tool_choice.mode, req.tool_choice.name) == ("tool", "f")


# --- render_response --------------------------------------------------------------------------------------


def test_a_whole_response_renders_text_reasoning_calls_and_usage() -> None:
    resp = ChatResponse(
        id="chatcmpl-1", model="m-upstream", created=1700000000, finish_reason="tool_calls",
        parts=[ReasoningPart("why", signature="sig"), TextPart("answer"), ToolCallPart("c1", "f", '{"a":1}')],
        usage=Usage(10, 5, reasoning_tokens=2, cache_read_tokens=4),
    )  # fmt: skip
    body = json.loads(OPENAI_CHAT.render_response(resp, parse()))
    assert (body["id"], body["object"], body["created"], body["model"]) == (
        "chatcmpl-1", "chat.completion", 1700000000, "m",
    ), "the model the client asked for, not the upstream's"  # fmt: skip
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    msg = choice["message"]
    assert (msg["role"], msg["content"], msg["reasoning_content"]) == ("assistant", "answer", "why")
    assert (msg["refusal"], msg["annotations"], choice["logprobs"]) == (None, [], None)
    assert msg["reasoning_details"][0]["signature"] == "sig"
    assert msg["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    ]
    assert body["usage"]["prompt_tokens"] == 10
    assert body["usage"]["completion_tokens"] == 5
    assert body["usage"]["total_tokens"] == 15
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 2
    assert body["usage"]["prompt_tokens_details"]["cached_tokens"] == 4


def test_a_response_with_only_calls_has_null_content_and_the_request_model_when_none_is_known() -> None:
    resp = ChatResponse(id="", model="", created=0, parts=[ToolCallPart("c1", "f", "{}")])
    body = json.loads(OPENAI_CHAT.render_response(resp, parse()))
    assert body["choices"][0]["message"]["content"] is None
    assert body["model"] == "m"
    assert body["id"].startswith("chatcmpl-")
    assert body["choices"][0]["finish_reason"] == "stop"
    assert "usage" not in body


# --- the stream ---------------------------------------------------------------------------------------------


def render(events: list[Event], **req: Any) -> bytes:
    r = OPENAI_CHAT.stream_renderer(parse(stream=True, **req))
    return b"".join(r.event(e) for e in events) + (r.end() if not isinstance(events[-1], ErrorEvent) else b"")


EVENTS: list[Event] = [
    ResponseStart("chatcmpl-s", "m-up", 1700000000, Usage(input_tokens=9)),
    PartStart(0, ReasoningPart("")),
    PartDelta(0, "hmm"),
    PartEnd(0),
    PartStart(1, TextPart("Hel")),
    PartDelta(1, "lo"),
    PartEnd(1),
    PartStart(2, ToolCallPart("c1", "f")),
    PartStart(3, ToolCallPart("c2", "g")),
    PartDelta(2, '{"a":'),
    PartDelta(3, "{}"),
    PartDelta(2, "1}"),
    PartEnd(2),
    PartEnd(3),
    UsageEvent(Usage(output_tokens=7)),
    Finish("tool_calls"),
]


def test_the_stream_folds_back_to_the_answer() -> None:
    raw = render(EVENTS, stream_options={"include_usage": True})
    chunks = openai_chunks(raw)
    assert all(c["id"] == "chatcmpl-s" and c["model"] == "m" and c["created"] == 1700000000 for c in chunks)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    f = fold_openai_chat(chunks, strict=True)
    assert (f.reasoning, f.text, f.finish) == ("hmm", "Hello", "tool_calls")
    assert [(t.id, t.name, t.arguments) for t in f.tool_calls] == [("c1", "f", '{"a":1}'), ("c2", "g", "{}")]
    assert f.usage is not None
    assert (f.usage["prompt_tokens"], f.usage["completion_tokens"], f.usage["total_tokens"]) == (9, 7, 16)


def test_the_stream_opens_with_the_role_and_closes_with_finish_usage_and_done() -> None:
    data = sse_data(render(EVENTS, stream_options={"include_usage": True}))
    first = json.loads(data[0])["choices"][0]
    assert first["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert first["finish_reason"] is None
    finish, usage = json.loads(data[-3]), json.loads(data[-2])
    assert finish["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "tool_calls"}
    assert usage["choices"] == []
    assert usage["usage"]["total_tokens"] == 16
    assert data[-1] == "[DONE]"


def test_tool_calls_are_numbered_in_order_with_id_and_name_only_in_their_first_delta() -> None:
    chunks = openai_chunks(render(EVENTS))
    deltas = [tc for c in chunks for ch in c["choices"] for tc in ch["delta"].get("tool_calls", [])]
    assert [d["index"] for d in deltas] == [0, 1, 0, 1, 0]
    assert [("id" in d, "name" in d["function"]) for d in deltas] == [(True, True)] * 2 + [(False, False)] * 3


def test_no_usage_chunk_unless_the_client_asked() -> None:
    data = sse_data(render(EVENTS))
    assert not any(json.loads(d).get("usage") for d in data[:-1])
    assert json.loads(data[-2])["choices"][0]["finish_reason"] == "tool_calls"


def test_a_stream_that_breaks_ends_with_an_error_object_and_done() -> None:
    events: list[Event] = [
        ResponseStart("r", "m", 1),
        PartStart(0, TextPart("par")),
        ErrorEvent(GatewayError("timeout", "Upstream sent nothing for 5s", code="upstream_idle_timeout")),
    ]
    data = sse_data(render(events))
    assert data[-1] == "[DONE]"
    assert json.loads(data[-2]) == {
        "error": {
            "message": "Upstream sent nothing for 5s",
            "type": "timeout_error",
            "param": None,
            "code": "upstream_idle_timeout",
        }
    }
    assert fold_openai_chat(openai_chunks(render(events))).text == "par"


def test_events_before_a_response_start_still_open_with_the_role() -> None:
    r = OPENAI_CHAT.stream_renderer(parse(stream=True))
    out = r.event(PartStart(0, TextPart("x"))) + r.event(Finish("stop")) + r.end()
    chunks = openai_chunks(out)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert fold_openai_chat(chunks).text == "x"


# --- errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("err", "type_", "code"),
    [
        (GatewayError("invalid_request", "bad", param="temperature"), "invalid_request_error", None),
        (
            GatewayError("authentication", "no key", code="missing_api_key"),
            "invalid_request_error",
            "missing_api_key",
        ),
        (GatewayError("rate_limit", "slow down", retry_after=3), "rate_limit_error", "rate_limit"),
        (GatewayError("quota_exceeded", "budget"), "insufficient_quota", "quota_exceeded"),
        (GatewayError("overloaded", "busy"), "server_error", "overloaded"),
        (GatewayError("upstream", "broke", code="upstream_error"), "upstream_error", "upstream_error"),
    ],
)
def test_error_bodies(err: GatewayError, type_: str, code: str | None) -> None:
    body = json.loads(OPENAI_CHAT.render_error(err))
    assert body == {"error": {"message": err.message, "type": type_, "param": err.param, "code": code}}
    assert OPENAI_CHAT.error_status(err) == err.status
