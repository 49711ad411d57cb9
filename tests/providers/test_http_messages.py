"""Message shaping options of the http spec (hub request -> template variables)."""

from __future__ import annotations

import pytest

from any2api.config import parse_config
from any2api.core.errors import GatewayError
from any2api.core.parts import ImagePart, ReasoningPart, TextPart, ToolCallPart
from any2api.core.request import Message
from any2api.providers.base import Account
from any2api.providers.httpapi.messages import build_context, conversation_id
from any2api.providers.httpapi.spec import compile_spec

from .http_fixtures import chat, provider_block

ACCOUNT = Account("a#0", "p", "key-1")


def ctx(
    messages_spec: str,
    req,
    body: str = '{m: "{{ messages }}", s: "{{ system }}", t: "{{ transcript }}", h: "{{ history }}", p: "{{ prompt }}", i: "{{ images }}"}',
):
    block = f"""\
name: p
type: http
models: [m]
request: {{url: "https://up.example/x", body: {body}}}
messages: {messages_spec}
response: {{format: json, text: t}}
"""
    spec = compile_spec(parse_config(provider_block(block)).providers[0], "providers[0]")
    return build_context(spec, req, "m", ACCOUNT, "")


CONVO = chat(("system", "S1"), ("user", "u1"), ("assistant", "a1"), ("user", "u2"))


def test_default_keeps_system_as_a_message():
    c = ctx("{}", CONVO)
    assert c["messages"] == [
        {"role": "system", "content": "S1"},
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "u2"},
    ]
    assert c["system"] == "S1"
    assert c["prompt"] == "u2"
    assert c["history"] == c["messages"][:3]


def test_system_merge_into_the_first_user_message_and_role_renames():
    c = ctx("{system: merge, roles: {assistant: model}}", CONVO)
    assert c["messages"] == [
        {"role": "user", "content": "S1\n\nu1"},
        {"role": "model", "content": "a1"},
        {"role": "user", "content": "u2"},
    ]


def test_system_drop_and_transcript():
    c = ctx("{system: drop}", CONVO)
    assert [m["role"] for m in c["messages"]] == ["user", "assistant", "user"]
    assert c["transcript"] == "System: S1\n\nUser: u1\n\nAssistant: a1\n\nUser: u2"


def test_merge_consecutive_same_role_turns():
    req = chat(("user", "a"), ("user", "b"), ("assistant", "c"))
    assert ctx("{merge_consecutive: true}", req)["messages"] == [
        {"role": "user", "content": "a\n\nb"},
        {"role": "assistant", "content": "c"},
    ]


def test_earlier_reasoning_dropped_or_kept_as_think_text():
    req = chat(Message("assistant", [ReasoningPart("why"), TextPart("answer")]), ("user", "next"))
    assert ctx("{}", req)["messages"][0]["content"] == "answer"
    assert ctx("{reasoning: think}", req)["messages"][0]["content"] == "<think>why</think>\nanswer"


def test_images_as_url_list_and_item_template():
    img = Message("user", [TextPart("look"), ImagePart(data="QUJD", media_type="image/png")])
    c = ctx(
        '{images: url, item: {who: "{{ role }}", said: "{{ text }}", pics: "{{ images }}", n: "{{ index }}"}}',
        chat(img),
    )
    assert c["messages"] == [{"who": "user", "said": "look", "pics": ["data:image/png;base64,QUJD"], "n": 0}]
    assert c["images"] == ["data:image/png;base64,QUJD"]


def test_images_refused_by_default_naming_the_part():
    img = Message("user", [TextPart("look"), ImagePart(url="https://x/y.png")])
    with pytest.raises(GatewayError) as e:
        ctx("{}", chat(("user", "a"), img))
    assert e.value.status == 400
    assert e.value.param == "messages[1].content[1]"


def test_tool_history_refused_when_tools_are_rejected():
    block_tools = chat(Message("assistant", [ToolCallPart("c1", "f", "{}")]), ("user", "x"))
    spec_text = """\
name: p
type: http
models: [m]
tools: reject
request: {url: "https://up.example/x", body: {m: "{{ messages }}"}}
response: {format: json, text: t}
"""
    spec = compile_spec(parse_config(provider_block(spec_text)).providers[0], "providers[0]")
    with pytest.raises(GatewayError) as e:
        build_context(spec, block_tools, "m", ACCOUNT, "")
    assert e.value.param == "messages[0].content[0]"
    assert e.value.code == "tools_unsupported"


def test_only_the_variables_a_spec_uses_are_computed():
    c = ctx("{}", CONVO, body='{model: "{{ model }}"}')
    assert "messages" not in c
    assert "transcript" not in c
    assert "conversation_id" not in c


def test_conversation_id_is_stable_per_conversation():
    a = conversation_id(chat(("system", "s"), ("user", "hello"), ("assistant", "x"), ("user", "more")))
    b = conversation_id(chat(("system", "s"), ("user", "hello")))
    c = conversation_id(chat(("system", "s"), ("user", "hello!")))
    assert a == b != c
    assert conversation_id(chat(("user", "x"), metadata={"session_id": "given"})) == "given"
