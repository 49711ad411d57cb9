"""The simulator speaks OpenAI Chat Completions well enough for the official SDK to parse every answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionMessageFunctionToolCall, ChatCompletionMessageParam

from tests.sim import (
    Comment,
    Drop,
    Hang,
    Parallel,
    Reasoning,
    Refusal,
    Script,
    SimServer,
    StreamError,
    Text,
    ToolCall,
    Usage,
    html_error,
    openai_error,
)

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What is the weather in Paris?"}]


def function_calls(calls: list[Any] | None) -> list[ChatCompletionMessageFunctionToolCall]:
    out = [c for c in calls or [] if isinstance(c, ChatCompletionMessageFunctionToolCall)]
    assert len(out) == len(calls or [])
    return out


def contents(stream: Any) -> Iterator[str]:
    """The content delta of each chunk of an SDK stream ("" for chunks without one), as they arrive."""
    for c in stream:
        yield c.choices[0].delta.content or ""


@pytest.fixture
def client(sim: SimServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim.url + "/v1", api_key="sk-test", max_retries=0, timeout=10)


def test_default_answer_echoes_the_last_user_text_with_counted_usage(
    client: openai.OpenAI, sim: SimServer
) -> None:
    r = client.chat.completions.create(
        model="sim-gpt", messages=[{"role": "user", "content": "hello brave world"}]
    )
    assert r.object == "chat.completion"
    assert r.model == "sim-gpt"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content == "echo: hello brave world"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None
    assert r.usage.prompt_tokens == 3
    assert r.usage.completion_tokens == 5  # echo : hello brave world
    assert r.usage.total_tokens == 8
    rec = sim.last
    assert rec.path == "/v1/chat/completions"
    assert rec.dialect == "openai"
    assert rec.json["messages"][0]["content"] == "hello brave world"
    assert rec.headers["Authorization"] == "Bearer sk-test"
    assert rec.api_key == "sk-test"


def test_stream_text_reasoning_and_usage_chunk(client: openai.OpenAI, sim: SimServer) -> None:
    sim.enqueue(
        Script(
            [Reasoning(["Let me ", "think."]), Text("It is sunny in Paris.", split=4)],
            usage=Usage(input_tokens=11, output_tokens=22, reasoning_tokens=7, cache_read_tokens=3),
        )
    )
    chunks = list(
        client.chat.completions.create(
            model="deepseek-reasoner", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    first = chunks[0]
    assert first.choices[0].delta.role == "assistant"
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content") or "" for c in chunks if c.choices
    )
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert reasoning == "Let me think."
    assert content == "It is sunny in Paris."
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert [c.choices[0].delta.content for c in content_chunks] == [
        "It i",
        "s su",
        "nny ",
        "in P",
        "aris",
        ".",
    ]
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finish) == 1
    assert finish[0].choices[0].finish_reason == "stop"
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (11, 22, 33)
    assert last.usage.completion_tokens_details is not None
    assert last.usage.completion_tokens_details.reasoning_tokens == 7
    assert last.usage.prompt_tokens_details is not None
    assert last.usage.prompt_tokens_details.cached_tokens == 3
    assert len({c.id for c in chunks}) == 1
    assert sim.last.stream


def test_no_usage_chunk_unless_asked(client: openai.OpenAI, sim: SimServer) -> None:
    sim.enqueue(Script.text("hi"))
    chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)
    assert "usage" not in chunks[0].model_dump(exclude_unset=True)


def test_usage_with_finish_chunk_deepseek_style(client: openai.OpenAI, sim: SimServer) -> None:
    sim.enqueue(
        Script.text(
            "hi", usage=Usage(5, 6), usage_mode="with_finish", usage_extra={"prompt_cache_hit_tokens": 2}
        )
    )
    chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 11
    assert (chunks[-1].usage.model_extra or {})["prompt_cache_hit_tokens"] == 2
    assert all(c.usage is None for c in chunks[:-1])


def test_parallel_tool_calls_interleaved_stream_accumulate_in_the_sdk(
    client: openai.OpenAI, sim: SimServer
) -> None:
    calls = [
        ToolCall("get_weather", '{"city": "Paris", "unit": "celsius"}', id="call_A", split=5),
        ToolCall("get_time", '{"tz": "Europe/Paris"}', id="call_B", split=3),
    ]
    sim.enqueue(Script([Text("Checking."), Parallel(calls, interleave=True)]))
    with client.chat.completions.stream(model="m", messages=USER) as stream:
        events = list(stream)
        final = stream.get_final_completion()
    msg = final.choices[0].message
    assert msg.content == "Checking."
    got = [(t.id, t.function.name, t.function.arguments) for t in function_calls(msg.tool_calls)]
    assert got == [(c.id, c.name, c.arguments) for c in calls]
    assert final.choices[0].finish_reason == "tool_calls"
    # the argument deltas really interleave: the index sequence switches between 0 and 1
    order = [e.index for e in events if e.type == "tool_calls.function.arguments.delta"]
    assert order[:4] == [0, 1, 0, 1]


def test_parallel_tool_calls_in_sequence_like_openai(client: openai.OpenAI, sim: SimServer) -> None:
    calls = [
        ToolCall("get_weather", '{"city": "Paris"}', split=4),
        ToolCall("get_time", '{"tz": "CET"}', split=4),
    ]
    sim.enqueue(Script([Parallel(calls, interleave=False)]))
    with client.chat.completions.stream(model="m", messages=USER) as stream:
        events = list(stream)
    order = [e.index for e in events if e.type == "tool_calls.function.arguments.delta"]
    assert order == sorted(order)
    assert set(order) == {0, 1}
    done = [e for e in events if e.type == "tool_calls.function.arguments.done"]
    assert [(e.name, json.loads(e.arguments)) for e in done] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"tz": "CET"}),
    ]


def test_tool_call_first_delta_shape_on_the_wire(client: openai.OpenAI, sim: SimServer) -> None:
    sim.enqueue(Script([ToolCall("f", '{"a": 1}', id="call_1", fragments=['{"a"', ": 1}"])]))
    chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))
    deltas = [c.choices[0].delta.tool_calls for c in chunks if c.choices[0].delta.tool_calls]
    first = deltas[0][0]
    assert (first.index, first.id, first.type) == (0, "call_1", "function")
    assert first.function is not None
    assert (first.function.name, first.function.arguments) == ("f", "")
    rest = [d[0] for d in deltas[1:]]
    assert [(d.index, d.id, d.function.arguments if d.function else None) for d in rest] == [
        (0, None, '{"a"'),
        (0, None, ": 1}"),
    ]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_sequential_tool_calls_get_distinct_indices_and_args_in_first(
    client: openai.OpenAI, sim: SimServer
) -> None:
    sim.enqueue(Script([ToolCall("a", '{"x": 1}', args_in_first=True), ToolCall("b", "{}")]))
    with client.chat.completions.stream(model="m", messages=USER) as stream:
        final = stream.get_final_completion()
    calls = function_calls(final.choices[0].message.tool_calls)
    assert [(c.function.name, c.function.arguments) for c in calls] == [("a", '{"x": 1}'), ("b", "{}")]
    assert len({c.id for c in calls}) == 2


def test_non_stream_tool_calls_reasoning_and_usage(client: openai.OpenAI, sim: SimServer) -> None:
    sim.enqueue(
        Script(
            [Reasoning("Need weather."), ToolCall("get_weather", '{"city":"Paris"}', id="call_9")],
            usage=Usage(input_tokens=40, output_tokens=12, reasoning_tokens=3),
        )
    )
    r = client.chat.completions.create(model="m", messages=USER)
    msg = r.choices[0].message
    assert msg.content is None
    assert (msg.model_extra or {})["reasoning_content"] == "Need weather."
    [call] = function_calls(msg.tool_calls)
    assert call.id == "call_9"
    assert call.function.arguments == '{"city":"Paris"}'
    assert r.choices[0].finish_reason == "tool_calls"
    assert r.usage is not None
    assert r.usage.completion_tokens_details is not None
    assert r.usage.completion_tokens_details.reasoning_tokens == 3
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (40, 12)


def test_reasoning_field_name_is_configurable(client: openai.OpenAI, sim: SimServer) -> None:
    sim.enqueue(Script([Reasoning(["a", "b"]), Text("c")], reasoning_field="reasoning"))
    chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))
    extra = [(c.choices[0].delta.model_extra or {}) for c in chunks]
    assert "".join(e.get("reasoning") or "" for e in extra) == "ab"
    assert not any("reasoning_content" in e for e in extra)


@pytest.mark.parametrize(
    ("finish", "expected"),
    [
        ("max_tokens", "length"),
        ("length", "length"),
        ("content_filter", "content_filter"),
        ("end_turn", "stop"),
    ],
)
def test_finish_reasons_in_openai_vocabulary(
    client: openai.OpenAI, sim: SimServer, finish: str, expected: str
) -> None:
    sim.enqueue(Script.text("x", finish=finish), Script.text("x", finish=finish))
    r = client.chat.completions.create(model="m", messages=USER)
    assert r.choices[0].finish_reason == expected
    chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))
    assert chunks[-1].choices[0].finish_reason == expected


def test_refusal_stream_and_body(client: openai.OpenAI, sim: SimServer) -> None:
    sim.enqueue(Script([Refusal("I can't help with that.", split=6)]), Script([Refusal("No.")]))
    chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.refusal or "" for c in chunks) == "I can't help with that."
    r = client.chat.completions.create(model="m", messages=USER)
    assert r.choices[0].message.refusal == "No."


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_line_endings_no_space_and_comments_still_parse(
    client: openai.OpenAI, sim: SimServer, newline: str
) -> None:
    sim.enqueue(Script([Comment("keep-alive"), Text(["a", "b"]), Comment()], newline=newline, space=False))  # type: ignore[arg-type]
    chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "ab"


@pytest.mark.parametrize(
    ("script", "exc", "status"),
    [
        (openai_error(400, "Invalid 'temperature'", param="temperature"), openai.BadRequestError, 400),
        (openai_error(401, "Incorrect API key", code="invalid_api_key"), openai.AuthenticationError, 401),
        (
            openai_error(404, "The model `x` does not exist", code="model_not_found"),
            openai.NotFoundError,
            404,
        ),
        (
            openai_error(
                429, "Rate limit reached", "requests", "rate_limit_exceeded", headers={"Retry-After": "3"}
            ),
            openai.RateLimitError,
            429,
        ),
        (openai_error(500, "The server had an error", "server_error"), openai.InternalServerError, 500),
        (openai_error(503, "Overloaded", "server_error"), openai.InternalServerError, 503),
    ],
)
def test_http_errors_raise_the_sdk_class_with_the_message(
    client: openai.OpenAI, sim: SimServer, script: Script, exc: type[openai.APIStatusError], status: int
) -> None:
    sim.enqueue(script)
    with pytest.raises(exc) as info:
        client.chat.completions.create(model="m", messages=USER)
    assert info.value.status_code == status
    assert script.http is not None
    expected = cast(dict[str, Any], script.http.body)["error"]
    assert info.value.body == expected
    assert expected["message"] in str(info.value)
    if status == 429:
        assert info.value.response.headers["retry-after"] == "3"


def test_html_502_page(client: openai.OpenAI, sim: SimServer) -> None:
    sim.enqueue(html_error(502, "502 Bad Gateway"))
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="m", messages=USER)
    assert info.value.status_code == 502
    assert info.value.response.headers["content-type"].startswith("text/html")
    assert "<title>502 Bad Gateway</title>" in info.value.response.text


def test_error_inside_a_stream(client: openai.OpenAI, sim: SimServer) -> None:
    sim.enqueue(
        Script([Text("partial"), StreamError("The server is overloaded", "server_error", "overloaded")])
    )
    got: list[str] = []
    with pytest.raises(openai.APIError) as info:
        got.extend(contents(client.chat.completions.create(model="m", messages=USER, stream=True)))
    assert "".join(got) == "partial"
    assert info.value.message == "The server is overloaded"
    assert info.value.body == {
        "message": "The server is overloaded",
        "type": "server_error",
        "param": None,
        "code": "overloaded",
    }


def test_mid_stream_drop_breaks_the_sdk_stream(client: openai.OpenAI, sim: SimServer) -> None:
    sim.enqueue(Script([Text(["one", "two", "three"]), Drop()]))
    got: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        got.extend(contents(client.chat.completions.create(model="m", messages=USER, stream=True)))
    assert "".join(got) == "onetwothree"
    assert sim.last.wait() == "dropped"


def test_drop_after_n_events(client: openai.OpenAI, sim: SimServer) -> None:
    sim.enqueue(Script([Text(["a", "b", "c", "d"])], drop_after=3))
    got: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        got.extend(contents(client.chat.completions.create(model="m", messages=USER, stream=True)))
    assert got == ["", "a", "b"]  # role chunk + two content chunks, then the connection is gone


def test_hang_times_the_client_out(sim: SimServer) -> None:
    client = openai.OpenAI(
        base_url=sim.url + "/v1", api_key="k", max_retries=0, timeout=httpx2.Timeout(5, read=0.3)
    )
    sim.enqueue(Script([Text("a"), Hang()]))
    with pytest.raises(openai.APITimeoutError):
        for _ in client.chat.completions.create(model="m", messages=USER, stream=True):
            pass
    client.close()
    assert sim.last.wait() == "client_disconnected"


def test_never_respond_times_the_client_out(sim: SimServer) -> None:
    client = openai.OpenAI(
        base_url=sim.url + "/v1", api_key="k", max_retries=0, timeout=httpx2.Timeout(5, read=0.3)
    )
    sim.enqueue(Script.text("never", never_respond=True))
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=USER)
    client.close()
    assert sim.last.wait() == "client_disconnected"


def test_models_list(client: openai.OpenAI, sim: SimServer) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == sim.models
    assert client.models.retrieve("deepseek-chat").id == "deepseek-chat"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")


def test_api_keys_enforced_when_set(client: openai.OpenAI, sim: SimServer) -> None:
    sim.keys = {"sk-good"}
    with pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(model="m", messages=USER)
    assert info.value.code == "invalid_api_key"
    good = openai.OpenAI(base_url=sim.url + "/v1", api_key="sk-good", max_retries=0)
    assert good.chat.completions.create(model="m", messages=USER).choices[0].message.content is not None
    assert [r.outcome for r in sim.requests] == ["rejected", "complete"]


def test_missing_messages_is_rejected_like_openai(client: openai.OpenAI, sim: SimServer) -> None:
    sim.enqueue(Script.text("kept for the next request"))
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="m", messages=[])
    assert info.value.param == "messages"
    assert sim.pending == 1
    assert (
        client.chat.completions.create(model="m", messages=USER).choices[0].message.content
        == "kept for the next request"
    )


@pytest.mark.anyio
async def test_async_client_and_waiting_from_async_code(sim: SimServer) -> None:
    client = openai.AsyncOpenAI(base_url=sim.url + "/v1", api_key="k", max_retries=0, timeout=10)
    sim.enqueue(Script([Reasoning("r"), Text(["x", "y"])]))
    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "xy"
    [rec] = await sim.wait_for_async(1)
    assert rec.json["stream"] is True
    await client.close()
