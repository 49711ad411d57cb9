"""The four ``examples/`` specs end to end: the real gateway on loopback, the official openai and anthropic
SDKs as clients, the endpoint simulators (tests/providers/http_sims.py) as upstreams.

Every example is driven through both dialects, streamed and not, with plain answers (text + reasoning),
a single emulated tool call, parallel calls, and a multi-turn exchange that sends the results back.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anthropic
import openai
import orjson
import pytest

from tests.gateway_harness import ThreadGateway
from tests.providers.http_fixtures import EXAMPLE_ENV, EXAMPLES, example_config, provider_block
from tests.providers.http_sims import HttpSims, Reply
from tests.sim.fold import fold_openai_chat

KEY = "sk-e2e-http"
# example -> (model, upstream path)
MODELS = {
    "edgeone": ("deepseek-reasoner", "/api/ai"),
    "ollama": ("qwen3:8b", "/api/chat"),
    "plain-json": ("plainbot-1", "/v1/generate"),
    "custom-sse": ("sc-large", "/chat/stream"),
}
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"],
}
OPENAI_TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather", "parameters": WEATHER_SCHEMA},
    }
]
ANTHROPIC_TOOLS = [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER_SCHEMA}]


@pytest.fixture(scope="module")
def sims() -> Iterator[HttpSims]:
    s = HttpSims().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def gateway(sims: HttpSims, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadGateway]:
    """One gateway serving all four examples, with a data directory of its own (account state such as
    cooldowns must not come from, or leak to, other runs)."""
    env = {v: sims.url for v in EXAMPLE_ENV.values()}
    env["PLAINBOT_KEY"] = "plain-secret"
    env["ANY2API_DATA_DIR"] = str(tmp_path_factory.mktemp("http-e2e-data"))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    blocks = [provider_block((EXAMPLES / name / "provider.yaml").read_text()) for name in MODELS]
    config = "providers:\n" + "".join(b.split("\n", 1)[1] for b in blocks) + f"auth:\n  keys: [{KEY}]\n"
    try:
        gw = ThreadGateway(config).start()
        yield gw
        gw.stop()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def up(sims: HttpSims) -> Iterator[HttpSims]:
    sims.replies.clear()
    sims.requests.clear()
    yield sims
    assert not sims.replies, "a scripted reply was not consumed"


@dataclass
class Answer:
    text: str = ""
    reasoning: str = ""
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    """(id, name, arguments)"""
    finish: str = ""


_FINISH = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length", "stop": "stop",
           "tool_calls": "tool_calls", "length": "length"}  # fmt: skip


def ask_openai(gw: ThreadGateway, model: str, messages: list[dict], stream: bool, tools: bool) -> Answer:
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=KEY, max_retries=0)
    kw: dict[str, Any] = {"tools": OPENAI_TOOLS} if tools else {}
    a = Answer()
    if not stream:
        r = client.chat.completions.create(model=model, messages=messages, **kw)  # type: ignore[arg-type]
        msg = r.choices[0].message
        a.text = msg.content or ""
        a.reasoning = (msg.model_extra or {}).get("reasoning_content") or ""
        a.calls = [(c.id, c.function.name, orjson.loads(c.function.arguments)) for c in msg.tool_calls or []]
        a.finish = _FINISH[r.choices[0].finish_reason]
        assert r.usage is not None
        assert r.usage.completion_tokens > 0
        return a
    f = fold_openai_chat(client.chat.completions.create(model=model, messages=messages, stream=True, **kw))  # type: ignore[arg-type]
    a.text, a.reasoning = f.text, f.reasoning
    a.finish = _FINISH[f.finish] if f.finish else ""
    a.calls = [(c.id or "", c.name or "", orjson.loads(c.arguments)) for c in f.tool_calls]
    return a


def ask_anthropic(gw: ThreadGateway, model: str, messages: list[dict], stream: bool, tools: bool) -> Answer:
    client = anthropic.Anthropic(base_url=gw.url, api_key=KEY, max_retries=0)
    kw: dict[str, Any] = {"tools": ANTHROPIC_TOOLS} if tools else {}
    if stream:
        with client.messages.stream(model=model, max_tokens=512, messages=messages, **kw) as s:  # type: ignore[arg-type]
            msg = s.get_final_message()
    else:
        msg = client.messages.create(model=model, max_tokens=512, messages=messages, **kw)  # type: ignore[arg-type]
    a = Answer(finish=_FINISH[msg.stop_reason or ""])
    for b in msg.content:
        if b.type == "text":
            a.text += b.text
        elif b.type == "thinking":
            a.reasoning += b.thinking
        elif b.type == "tool_use":
            a.calls.append((b.id, b.name, dict(b.input)))  # type: ignore[arg-type]
    assert msg.usage.output_tokens > 0
    return a


ASK = {"openai": ask_openai, "anthropic": ask_anthropic}
CASES = [pytest.param(ex, dialect, stream, id=f"{ex}-{dialect}-{'stream' if stream else 'json'}")
         for ex in MODELS for dialect in ASK for stream in (False, True)]  # fmt: skip


def _strings(value: Any) -> str:
    """Every string in a JSON value, joined (to find rendered text wherever a spec put it)."""
    if isinstance(value, str):
        return value + "\n"
    if isinstance(value, dict):
        return "".join(_strings(v) for v in value.values())
    if isinstance(value, list):
        return "".join(_strings(v) for v in value)
    return ""


@pytest.mark.parametrize(("example", "dialect", "stream"), CASES)
def test_text_and_reasoning(gateway: ThreadGateway, up: HttpSims, example: str, dialect: str, stream: bool):
    model, path = MODELS[example]
    up.script(Reply(text="The answer is 42.\nTruly.", reasoning="Let me think.\nYes.", chunk=3))
    a = ASK[dialect](gateway, model, [{"role": "user", "content": "What is the answer?"}], stream, False)
    assert a.text == "The answer is 42.\nTruly."
    assert a.reasoning == "Let me think.\nYes."
    assert a.calls == []
    assert a.finish == "stop"
    rec = up.requests[-1]
    assert rec.path == path
    assert "What is the answer?" in _strings(rec.json)


@pytest.mark.parametrize(("example", "dialect", "stream"), CASES)
def test_single_emulated_tool_call(
    gateway: ThreadGateway, up: HttpSims, example: str, dialect: str, stream: bool
):
    model, _ = MODELS[example]
    up.script(Reply(
        text='Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": "3"}}\n</tool_call>',
        chunk=5,
    ))  # fmt: skip
    a = ASK[dialect](gateway, model, [{"role": "user", "content": "Weather in Paris?"}], stream, True)
    assert [(name, args) for _, name, args in a.calls] == [("get_weather", {"city": "Paris", "days": 3})]
    assert a.calls[0][0]  # the gateway gave it an id
    assert a.text.strip() == "Checking."
    assert "<tool_call>" not in a.text
    assert a.finish == "tool_calls"
    sent = _strings(up.requests[-1].json)
    assert "<tool_call>" in sent
    assert '"get_weather"' in sent


@pytest.mark.parametrize(("example", "dialect", "stream"), CASES)
def test_parallel_emulated_tool_calls(
    gateway: ThreadGateway, up: HttpSims, example: str, dialect: str, stream: bool
):
    model, _ = MODELS[example]
    up.script(Reply(
        text='<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>\n'
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Lima",}}</tool_call>\n',  # a trailing comma
        chunk=6,
    ))  # fmt: skip
    a = ASK[dialect](gateway, model, [{"role": "user", "content": "Oslo and Lima?"}], stream, True)
    assert [(name, args) for _, name, args in a.calls] == [
        ("get_weather", {"city": "Oslo"}),
        ("get_weather", {"city": "Lima"}),
    ]
    assert len({i for i, _, _ in a.calls}) == 2
    assert a.text == ""
    assert a.finish == "tool_calls"


def _history(dialect: str) -> list[dict[str, Any]]:
    if dialect == "openai":
        return [
            {"role": "user", "content": "Weather in Oslo and Lima?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
                {"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Lima"}'}},
            ]},
            {"role": "tool", "tool_call_id": "call_a", "content": "Oslo: 3C, snow"},
            {"role": "tool", "tool_call_id": "call_b", "content": "Lima: 24C, sun"},
        ]  # fmt: skip
    return [
        {"role": "user", "content": "Weather in Oslo and Lima?"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"city": "Oslo"}},
            {"type": "tool_use", "id": "call_b", "name": "get_weather", "input": {"city": "Lima"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_a", "content": "Oslo: 3C, snow"},
            {"type": "tool_result", "tool_use_id": "call_b", "content": [{"type": "text", "text": "Lima: 24C, sun"}]},
        ]},
    ]  # fmt: skip


@pytest.mark.parametrize(("example", "dialect", "stream"), CASES)
def test_multi_turn_with_tool_results(
    gateway: ThreadGateway, up: HttpSims, example: str, dialect: str, stream: bool
):
    model, _ = MODELS[example]
    # turn 2: the model has the results and answers; it may call again
    up.script(
        Reply(
            text='Oslo is cold. <tool_call>{"name": "get_weather", "arguments": {"city": "Bergen"}}</tool_call>'
        )
    )
    a = ASK[dialect](gateway, model, _history(dialect), stream, True)
    assert a.text.strip() == "Oslo is cold."
    assert [(n, args) for _, n, args in a.calls] == [("get_weather", {"city": "Bergen"})]
    sent = _strings(up.requests[-1].json)
    # earlier calls and their results, re-rendered in the same convention
    assert '{"name":"get_weather","arguments":{"city":"Oslo"}}' in sent
    assert '{"name":"get_weather","arguments":{"city":"Lima"}}' in sent
    assert '<tool_result name="get_weather" call_id="call_a">\nOslo: 3C, snow\n</tool_result>' in sent
    assert '<tool_result name="get_weather" call_id="call_b">\nLima: 24C, sun\n</tool_result>' in sent
    # turn 3: the final answer after the last result
    history = _history(dialect)
    call_id = a.calls[0][0]
    if dialect == "openai":
        history += [
            {"role": "assistant", "content": "Oslo is cold.", "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Bergen"}'}}]},
            {"role": "tool", "tool_call_id": call_id, "content": "Bergen: rain"},
        ]  # fmt: skip
    else:
        history += [
            {"role": "assistant", "content": [{"type": "text", "text": "Oslo is cold."},
                                              {"type": "tool_use", "id": call_id, "name": "get_weather", "input": {"city": "Bergen"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": "Bergen: rain"}]},
        ]  # fmt: skip
    up.script(Reply(text="Cold in Oslo, warm in Lima, rain in Bergen."))
    b = ASK[dialect](gateway, model, history, stream, True)
    assert b.text == "Cold in Oslo, warm in Lima, rain in Bergen."
    assert b.calls == []
    assert b.finish == "stop"
    assert f'<tool_result name="get_weather" call_id="{call_id}">\nBergen: rain\n</tool_result>' in _strings(
        up.requests[-1].json
    )


@pytest.mark.parametrize("dialect", ["openai", "anthropic"])
def test_quota_error_rule_through_both_dialects(
    start_gateway, up: HttpSims, monkeypatch, tmp_path, dialect: str
):
    # a gateway of its own: the quota error puts the account in cooldown, which must not leak into other tests
    monkeypatch.setenv("ANY2API_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PLAINBOT_BASE_URL", up.url)
    monkeypatch.setenv("PLAINBOT_KEY", "plain-secret")
    gw = start_gateway(example_config("plain-json", f"auth:\n  keys: [{KEY}]\n"))
    up.script(Reply(error="Daily usage limit exceeded"))
    with pytest.raises((openai.RateLimitError, anthropic.RateLimitError)) as e:
        ASK[dialect](gw, "plainbot-1", [{"role": "user", "content": "hi"}], False, False)
    assert e.value.status_code == 429
    assert "Daily usage limit exceeded" in str(e.value)


def test_image_link_refused_for_a_base64_only_upstream(gateway: ThreadGateway, up: HttpSims):
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="qwen3:8b", messages=[{"role": "user", "content": [
            {"type": "text", "text": "what is it?"},
            {"type": "image_url", "image_url": {"url": "https://example.invalid/cat.png"}},
        ]}])  # fmt: skip
    assert e.value.status_code == 400
    assert "base64" in str(e.value)
    assert e.value.param == "messages[0].content[1]"
    assert up.requests == []


def test_document_reaches_a_text_only_upstream_as_attachment_text(gateway: ThreadGateway, up: HttpSims):
    import base64

    client = anthropic.Anthropic(base_url=gateway.url, api_key=KEY, max_retries=0)
    data = base64.b64encode(b"# Minutes\nShip on Friday.").decode()
    msg = client.messages.create(model="deepseek-chat", max_tokens=100, messages=[{"role": "user", "content": [
        {"type": "document", "source": {"type": "base64", "media_type": "text/plain", "data": data}, "title": "minutes.md"},
        {"type": "text", "text": "When do we ship?"},
    ]}])  # fmt: skip
    assert msg.content[0].type == "text"
    content = up.requests[-1].json["messages"][-1]["content"]
    assert content.startswith("When do we ship?\n\n\n<ATTACHMENT_FILE>\n<FILE_INDEX>File 1</FILE_INDEX>\n")
    assert "<FILE_CONTENT>\n# Minutes\nShip on Friday.\n</FILE_CONTENT>" in content


def test_pdf_file_part_reaches_a_text_only_upstream_as_its_text(gateway: ThreadGateway, up: HttpSims):
    import base64

    from tests.test_attachments import make_pdf

    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=KEY, max_retries=0)
    pdf = base64.b64encode(make_pdf(["Quarterly revenue grew 12 percent", "Costs were flat"])).decode()
    r = client.chat.completions.create(model="sc-large", messages=[{"role": "user", "content": [
        {"type": "text", "text": "Summarise the report"},
        {"type": "file", "file": {"filename": "q3.pdf", "file_data": f"data:application/pdf;base64,{pdf}"}},
    ]}])  # fmt: skip
    assert r.choices[0].message.content
    query = up.requests[-1].json["query"]  # custom-sse: the last user message goes in "query"
    assert query == (
        "Summarise the report\n\n\n<ATTACHMENT_FILE>\n<FILE_INDEX>File 1</FILE_INDEX>\n<FILE_NAME>q3.pdf</FILE_NAME>\n"
        "<FILE_CONTENT>\nQuarterly revenue grew 12 percent\n\nCosts were flat\n</FILE_CONTENT>\n</ATTACHMENT_FILE>\n"
    )
