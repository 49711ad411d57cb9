"""The http provider against simulators of its example upstreams: requests built, answers translated."""

from __future__ import annotations

import base64

import orjson
import pytest

from any2api.core.errors import GatewayError
from any2api.core.events import ErrorEvent, Finish, PartDelta, PartEnd, PartStart, ResponseStart, UsageEvent
from any2api.core.parts import FilePart, ImagePart, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from any2api.core.request import Message, ToolDef

from . import http_fixtures
from .http_fixtures import chat, collect, errors, example_config, make_provider, provider_block, run
from .http_sims import HttpSims, Reply

http_sims = http_fixtures.http_sims
sims = http_fixtures.sims

pytestmark = pytest.mark.anyio

WEATHER = ToolDef(
    "get_weather",
    "Weather of a city",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
)


# -- EdgeOne-style (OpenAI-shaped SSE) ----------------------------------------------------------------------


async def test_edgeone_text_reasoning_usage_and_request_shape(sims: HttpSims):
    sims.script(Reply(text="Hello there, friend.", reasoning="The user greets me.", usage=(21, 9)))
    prov = make_provider(example_config("edgeone"))
    req = chat(("system", "Be kind."), ("user", "hi"), temperature=0.3)
    events = await collect(prov, req, "deepseek-reasoner")
    resp = _accumulate(events)
    assert resp.text() == "Hello there, friend."
    assert [p.text for p in resp.parts if isinstance(p, ReasoningPart)] == ["The user greets me."]
    assert resp.finish_reason == "stop"
    assert resp.usage is not None
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (21, 9)
    assert resp.id == "chatcmpl-sim1"
    # streamed in pieces, reasoning part first
    assert isinstance(events[0], ResponseStart)
    starts = [e for e in events if isinstance(e, PartStart)]
    assert [type(s.part) for s in starts] == [ReasoningPart, TextPart]
    assert len([e for e in events if isinstance(e, PartDelta)]) > 5
    body = sims.requests[-1].json
    assert body == {
        "model": "deepseek-reasoner",
        "messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hi"}],
        "stream": True,
        "temperature": 0.3,  # set: sent; top_p, max_tokens, stop: unset, left out
    }


async def test_edgeone_inline_think_tags_become_reasoning(sims: HttpSims):
    sims.script(Reply(text="42.", reasoning="Deep thought, step by step.", think_inline=True, chunk=3))
    resp = await run(make_provider(example_config("edgeone")), chat(("user", "answer?")))
    assert resp.text() == "42."
    assert [p.text for p in resp.parts if isinstance(p, ReasoningPart)] == ["Deep thought, step by step."]


async def test_edgeone_quota_error_rule(sims: HttpSims):
    sims.script(Reply(status=403, body={"error": {"message": "Daily usage limit exceeded, try tomorrow"}}))
    with pytest.raises(GatewayError) as e:
        await collect(make_provider(example_config("edgeone")), chat(("user", "hi")))
    err = e.value
    assert (err.kind, err.status, err.code, err.upstream_status) == (
        "quota_exceeded",
        429,
        "quota_exceeded",
        403,
    )
    assert err.message == "Daily usage limit exceeded, try tomorrow"


async def test_edgeone_server_error_is_retryable_502(sims: HttpSims):
    sims.script(Reply(status=500, body="boom"))
    with pytest.raises(GatewayError) as e:
        await collect(make_provider(example_config("edgeone")), chat(("user", "hi")))
    assert e.value.status == 502
    assert e.value.retryable
    assert "boom" in e.value.message


async def test_stream_cut_midway_ends_with_an_error_event(sims: HttpSims):
    sims.script(Reply(text="a fairly long answer that will be cut", chunk=2, drop_after=4))
    events = await collect(make_provider(example_config("edgeone")), chat(("user", "hi")))
    errs = errors(events)
    assert len(errs) == 1
    assert errs[0].code == "upstream_disconnected"
    assert isinstance(events[-1], ErrorEvent)
    assert "".join(e.delta for e in events if isinstance(e, PartDelta)) == "a fairly"


async def test_edgeone_images_as_openai_parts(sims: HttpSims):
    img = Message("user", [TextPart("what is this?"), ImagePart(data="iVBORw0K", media_type="image/png")])
    await run(make_provider(example_config("edgeone")), chat(img))
    assert sims.requests[-1].json["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
            ],
        }
    ]


async def test_documents_become_attachment_text(sims: HttpSims):
    doc = FilePart(
        data=base64.b64encode(b"# Plan\n- ship it").decode(), media_type="text/markdown", filename="plan.md"
    )
    await run(make_provider(example_config("edgeone")), chat(Message("user", [TextPart("Summarise"), doc])))
    assert sims.requests[-1].json["messages"][0]["content"] == (
        "Summarise\n\n\n<ATTACHMENT_FILE>\n<FILE_INDEX>File 1</FILE_INDEX>\n<FILE_NAME>plan.md</FILE_NAME>\n"
        "<FILE_CONTENT>\n# Plan\n- ship it\n</FILE_CONTENT>\n</ATTACHMENT_FILE>\n"
    )


# -- emulated tools --------------------------------------------------------------------------------------


async def test_single_emulated_tool_call(sims: HttpSims):
    sims.script(Reply(
        text='I will check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": "2"}}\n</tool_call>\n',
        chunk=5,
    ))  # fmt: skip
    events = await collect(
        make_provider(example_config("edgeone")), chat(("user", "weather?"), tools=[WEATHER])
    )
    resp = _accumulate(events)
    assert resp.text() == "I will check.\n"
    calls = [p for p in resp.parts if isinstance(p, ToolCallPart)]
    assert [(c.name, orjson.loads(c.arguments)) for c in calls] == [
        ("get_weather", {"city": "Paris", "days": 2})
    ]
    assert calls[0].id.startswith("call_")
    assert resp.finish_reason == "tool_calls"
    # the tool-call part is complete: start, one arguments delta, end
    idx = next(e.index for e in events if isinstance(e, PartStart) and isinstance(e.part, ToolCallPart))
    assert [type(e) for e in events if getattr(e, "index", None) == idx] == [PartStart, PartDelta, PartEnd]
    system = sims.requests[-1].json["messages"][0]
    assert system["role"] == "system"
    assert "<tool_call>" in system["content"]
    assert '"get_weather"' in system["content"]


async def test_parallel_emulated_calls_and_no_stray_whitespace(sims: HttpSims):
    sims.script(Reply(
        text='<tool_call>{"name":"get_weather","arguments":{"city":"A"}}</tool_call>\n\n'
        '<tool_call>{"name":"get_weather","arguments":{"city":"B"}}</tool_call>\n',
        chunk=7,
    ))  # fmt: skip
    resp = await run(make_provider(example_config("edgeone")), chat(("user", "both"), tools=[WEATHER]))
    assert [p.kind for p in resp.parts] == ["tool_call", "tool_call"]
    assert [orjson.loads(p.arguments)["city"] for p in resp.parts if isinstance(p, ToolCallPart)] == [
        "A",
        "B",
    ]
    assert resp.finish_reason == "tool_calls"


async def test_undeclared_tool_call_stays_text(sims: HttpSims):
    out = '<tool_call>{"name":"delete_all","arguments":{}}</tool_call>'
    sims.script(Reply(text=out))
    resp = await run(make_provider(example_config("edgeone")), chat(("user", "x"), tools=[WEATHER]))
    assert resp.text() == out
    assert resp.finish_reason == "stop"


async def test_multi_turn_history_is_rendered_in_the_convention(sims: HttpSims):
    history = [
        Message("user", [TextPart("weather in Paris?")]),
        Message("assistant", [ToolCallPart("call_9", "get_weather", '{"city":"Paris"}')]),
        Message("tool", [ToolResultPart("call_9", "18C sunny")]),
    ]
    sims.script(Reply(text="It is 18C and sunny in Paris."))
    resp = await run(make_provider(example_config("edgeone")), chat(*history, tools=[WEATHER]))
    assert resp.text() == "It is 18C and sunny in Paris."
    assert resp.finish_reason == "stop"
    msgs = sims.requests[-1].json["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert (
        msgs[2]["content"] == '<tool_call>\n{"name":"get_weather","arguments":{"city":"Paris"}}\n</tool_call>'
    )
    assert (
        msgs[3]["content"] == '<tool_result name="get_weather" call_id="call_9">\n18C sunny\n</tool_result>'
    )


async def test_tools_reject_mode_refuses_with_400(sims: HttpSims):
    text = (EXAMPLES_EDGEONE := example_config("edgeone")).replace("tools: emulate", "tools: reject")
    assert text != EXAMPLES_EDGEONE
    with pytest.raises(GatewayError) as e:
        await collect(make_provider(text), chat(("user", "x"), tools=[WEATHER]))
    assert e.value.status == 400
    assert e.value.param == "tools"
    assert sims.requests == []


# -- Ollama (NDJSON) ------------------------------------------------------------------------------------


async def test_ollama_ndjson_thinking_options_and_images(sims: HttpSims):
    sims.script(Reply(text="A red square.", reasoning="Looking at pixels.", usage=(30, 4)))
    prov = make_provider(example_config("ollama"))
    img = Message("user", [TextPart("describe"), ImagePart(url="data:image/png;base64,AAAA")])
    resp = await run(
        prov, chat(("user", "hello"), ("assistant", "hi!"), img, max_tokens=64, seed=7), "llava:7b"
    )
    assert resp.text() == "A red square."
    assert resp.parts[0] == ReasoningPart("Looking at pixels.")
    assert resp.usage is not None
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (30, 4)
    body = sims.requests[-1].json
    assert body["options"] == {"num_predict": 64, "seed": 7}
    assert body["messages"] == [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi!"},
        {"role": "user", "content": "describe", "images": ["AAAA"]},
    ]


async def test_ollama_options_left_out_when_nothing_is_set(sims: HttpSims):
    await run(make_provider(example_config("ollama")), chat(("user", "hi")))
    assert "options" not in sims.requests[-1].json


async def test_ollama_refuses_image_links(sims: HttpSims):
    img = Message("user", [TextPart("see"), ImagePart(url="https://example.invalid/cat.png")])
    with pytest.raises(GatewayError) as e:
        await collect(make_provider(example_config("ollama")), chat(("user", "a"), ("assistant", "b"), img))
    assert e.value.status == 400
    assert e.value.param == "messages[2].content[1]"
    assert sims.requests == []


async def test_ollama_error_line_mid_stream(sims: HttpSims):
    sims.script(Reply(text="partial answer here", error="model runner crashed", error_after=2))
    events = await collect(make_provider(example_config("ollama")), chat(("user", "hi")))
    errs = errors(events)
    assert len(errs) == 1
    assert "model runner crashed" in errs[0].message
    assert "".join(e.delta for e in events if isinstance(e, PartDelta)) == "partial "


async def test_ollama_error_before_any_output_raises(sims: HttpSims):
    sims.script(Reply(text="never sent", error="out of memory", error_after=0))
    with pytest.raises(GatewayError) as e:
        await collect(make_provider(example_config("ollama")), chat(("user", "hi")))
    assert e.value.kind == "upstream"
    assert "out of memory" in e.value.message
    assert e.value.retryable


async def test_ollama_unknown_model(sims: HttpSims):
    sims.script(Reply(status=404, body={"error": "model 'nope' not found, try pulling it first"}))
    with pytest.raises(GatewayError) as e:
        await collect(make_provider(example_config("ollama")), chat(("user", "hi")), "nope")
    assert (e.value.status, e.value.code) == (404, "model_not_found")


# -- plain JSON ------------------------------------------------------------------------------------------


async def test_plain_json_prompt_history_system_session(sims: HttpSims):
    sims.script(Reply(text="Fine, thanks.", reasoning="Small talk.", finish="stop", usage=(5, 3)))
    prov = make_provider(example_config("plain-json"))
    req = chat(("system", "Be terse."), ("user", "hello"), ("assistant", "hi"), ("user", "how are you?"))
    resp = await run(prov, req)
    assert resp.text() == "Fine, thanks."
    assert resp.parts[0] == ReasoningPart("Small talk.")
    rec = sims.requests[-1]
    assert rec.headers["X-Api-Key"] == "plain-secret"
    body = rec.json
    assert body["prompt"] == "how are you?"
    assert body["system"] == "Be terse."
    assert body["history"] == [{"from": "user", "text": "hello"}, {"from": "bot", "text": "hi"}]
    assert "params" not in body
    # the session id is the same for every turn of one conversation, and differs between conversations
    sims.script(Reply(text="ok"))
    await run(make_provider(example_config("plain-json")), chat(("system", "Be terse."), ("user", "hello")))
    assert sims.requests[-1].json["session_id"] == body["session_id"]
    await run(make_provider(example_config("plain-json")), chat(("user", "another chat")))
    assert sims.requests[-1].json["session_id"] != body["session_id"]
    await run(
        make_provider(example_config("plain-json")), chat(("user", "x"), metadata={"conversation_id": "c-7"})
    )
    assert sims.requests[-1].json["session_id"] == "c-7"


async def test_plain_json_error_inside_a_200_body(sims: HttpSims):
    sims.script(Reply(error="Daily usage limit exceeded"))
    with pytest.raises(GatewayError) as e:
        await collect(make_provider(example_config("plain-json")), chat(("user", "hi")))
    assert (e.value.kind, e.value.status, e.value.message) == (
        "quota_exceeded",
        429,
        "Daily usage limit exceeded",
    )
    assert e.value.upstream_status == 200


async def test_plain_json_unmatched_error_keeps_the_message(sims: HttpSims):
    sims.script(Reply(error="backend on fire"))
    with pytest.raises(GatewayError) as e:
        await collect(make_provider(example_config("plain-json")), chat(("user", "hi")))
    assert e.value.status == 502
    assert "backend on fire" in e.value.message


async def test_plain_json_missing_key_is_an_auth_failure(sims: HttpSims, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PLAINBOT_KEY", "")
    prov = make_provider(example_config("plain-json"))
    with pytest.raises(GatewayError) as e:
        await collect(prov, chat(("user", "hi")))
    assert e.value.upstream_status == 401
    assert "bad api key" in e.value.message
    assert "X-Api-Key" not in sims.requests[-1].headers  # unset header left out, not sent empty


async def test_plain_json_emulated_tool_call(sims: HttpSims):
    sims.script(Reply(text='{"name": "get_weather", "arguments": {"city": "Oslo"}}'))  # bare: no wrapper
    resp = await run(make_provider(example_config("plain-json")), chat(("user", "weather"), tools=[WEATHER]))
    assert [(p.name, p.arguments) for p in resp.parts if isinstance(p, ToolCallPart)] == [
        ("get_weather", '{"city":"Oslo"}')
    ]
    assert "# Tools" in sims.requests[-1].json["system"]


# -- custom SSE -----------------------------------------------------------------------------------------


async def test_custom_sse_events_and_terminal_rule(sims: HttpSims):
    # the simulator keeps the connection open after "end": finishing proves the terminal rule works
    sims.script(Reply(text="Streaming\nworks.", reasoning="Plan:\nanswer.", finish="length", usage=(8, 2)))
    prov = make_provider(example_config("custom-sse"))
    events = await collect(prov, chat(("system", "sys"), ("user", "q1"), ("assistant", "a1"), ("user", "q2")))
    resp = _accumulate(events)
    assert resp.text() == "Streaming\nworks."
    assert resp.parts[0] == ReasoningPart("Plan:\nanswer.")
    assert resp.finish_reason == "length"
    assert resp.id == "msg-1"
    assert any(isinstance(e, UsageEvent) and e.usage.output_tokens == 2 for e in events)
    assert isinstance(events[-1], Finish)
    body = sims.requests[-1].json
    assert (body["query"], body["system_prompt"]) == ("q2", "sys")
    assert body["history"] == [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}]
    assert "Authorization" not in sims.requests[-1].headers


async def test_custom_sse_cumulative_text_mode(sims: HttpSims):
    text = example_config("custom-sse").replace("  format: sse", "  format: sse\n      text_mode: cumulative")
    sims.script(Reply(text="one two three", cumulative=True, chunk=3))
    events = await collect(make_provider(text), chat(("user", "count")))
    assert "".join(e.delta for e in events if isinstance(e, PartDelta)) == "one two three"


async def test_custom_sse_error_event_after_output(sims: HttpSims):
    sims.script(Reply(text="abcdefgh", chunk=2, error="safety stop", error_after=2))
    events = await collect(make_provider(example_config("custom-sse")), chat(("user", "q")))
    assert [e.message for e in errors(events)] == ["Upstream error: safety stop"]
    assert "".join(e.delta for e in events if isinstance(e, PartDelta)) == "abcd"


# -- generic spec behaviour --------------------------------------------------------------------------------


async def test_text_format_headers_query_and_account_key(sims: HttpSims):
    spec = f"""\
name: raw
type: http
api_keys: [k-123]
models: [m1]
request:
  url: "{sims.url}/api/ai"
  headers:
    Authorization: "Bearer {{{{ account.api_key }}}}"
    X-Req: "{{{{ model | upper }}}}-{{{{ temperature | default(0.5) }}}}"
  query: {{tag: "{{{{ model }}}}"}}
  body: {{model: "{{{{ model }}}}", messages: "{{{{ messages }}}}", stream: false}}
response:
  format: text
"""
    prov = make_provider(provider_block(spec))
    resp = await run(prov, chat(("user", "hi")))
    # format text: the JSON body is taken as text, verbatim
    assert orjson.loads(resp.text())["choices"][0]["message"]["content"] == "You said: hi"
    rec = sims.requests[-1]
    assert rec.headers["Authorization"] == "Bearer k-123"
    assert rec.headers["X-Req"] == "M1-0.5"


async def test_response_paths_that_match_nothing_are_an_error(sims: HttpSims):
    spec = f"""\
name: wrong
type: http
models: [m1]
request: {{url: "{sims.url}/api/ai", body: {{model: x, messages: "{{{{ messages }}}}", stream: true}}}}
response: {{format: sse, text: "choices[0].message.nothing"}}
"""
    with pytest.raises(GatewayError) as e:
        await collect(make_provider(provider_block(spec)), chat(("user", "hi")))
    assert e.value.code == "upstream_bad_response"
    assert "response.text" in e.value.message


async def test_non_json_event_is_an_error_unless_ignored(sims: HttpSims):
    spec = f"""\
name: ev
type: http
models: [m1]
request: {{url: "{sims.url}/chat/stream", body: {{query: "{{{{ prompt }}}}"}}}}
response: {{format: sse, text: content}}
"""
    # the "thinking" event carries raw text: with the default rule for every event that is not JSON
    sims.script(Reply(text="hi", reasoning="raw words"))
    with pytest.raises(GatewayError) as e:
        await collect(make_provider(provider_block(spec)), chat(("user", "q")))
    assert "not JSON" in e.value.message


def _accumulate(events):
    from any2api.core.accumulator import accumulate

    return accumulate(events)
