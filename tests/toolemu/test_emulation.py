"""History re-rendering and the tool prompt."""

from __future__ import annotations

import pytest

from any2api.core.errors import GatewayError
from any2api.core.parts import FilePart, TextPart, ToolCallPart, ToolResultPart
from any2api.core.request import ChatRequest, Message, ToolChoice
from any2api.toolemu import ToolBox, ToolCallParser, emulate_tools, tool_prompt, wants_tools
from any2api.toolemu.convention import render_call

from .helpers import TIME, WEATHER, parse, shape


def _text(msg: Message) -> str:
    return "".join(p.text for p in msg.parts if isinstance(p, TextPart))


def _files(parts, param):
    return "|".join(p.text or "" for p in parts if isinstance(p, (TextPart, FilePart)))


def multi_turn() -> ChatRequest:
    return ChatRequest(
        model="m",
        tools=[WEATHER, TIME],
        messages=[
            Message("system", [TextPart("Be brief.")]),
            Message("user", [TextPart("Weather in Paris and time?")]),
            Message(
                "assistant",
                [
                    TextPart("Checking."),
                    ToolCallPart("call_1", "get_weather", '{"city": "Paris"}'),
                    ToolCallPart("call_2", "get_time", "{}"),
                ],
            ),
            Message("tool", [ToolResultPart("call_1", "18C")]),
            Message("tool", [ToolResultPart("call_2", [TextPart("12:00")], is_error=True)]),
            Message("user", [TextPart("Thanks")]),
        ],
    )


def test_history_is_rendered_in_the_convention():
    msgs = emulate_tools(multi_turn(), _files)
    assert [m.role for m in msgs] == ["system", "user", "assistant", "user", "user"]
    system = _text(msgs[0])
    assert system.startswith("Be brief.\n\n# Tools")
    assert '"name":"get_weather"' in system
    assert "<tools>" in system
    assistant = _text(msgs[2])
    assert assistant.startswith("Checking.<tool_call>\n")
    # the same parser the response goes through reads the history back
    events, _ = parse(assistant)
    assert shape(events) == [
        ("text", "Checking."),
        ("call", "get_weather", '{"city":"Paris"}'),
        ("call", "get_time", "{}"),
    ]
    results = _text(msgs[3])
    assert results == (
        '<tool_result name="get_weather" call_id="call_1">\n18C\n</tool_result>'
        '<tool_result name="get_time" call_id="call_2" error="true">\n12:00\n</tool_result>'
    )
    assert _text(msgs[4]) == "Thanks"


def test_system_message_is_created_when_absent():
    req = ChatRequest(model="m", tools=[TIME], messages=[Message("user", [TextPart("hi")])])
    msgs = emulate_tools(req, _files)
    assert msgs[0].role == "system"
    assert _text(msgs[0]).startswith("# Tools")
    assert req.messages[0].role == "user"
    assert len(req.messages) == 1


def test_tool_choice_none_offers_no_tools_but_keeps_history():
    req = multi_turn()
    req.tool_choice = ToolChoice("none")
    assert not wants_tools(req)
    msgs = emulate_tools(req, _files)
    assert "# Tools" not in _text(msgs[0])
    assert "<tool_call>" in _text(msgs[2])


def test_tool_choice_rules_appear_in_the_prompt():
    assert "must call at least one tool" in tool_prompt([TIME], ToolChoice("required"))
    p = tool_prompt([TIME], ToolChoice("tool", "get_time", parallel=False))
    assert "must call the tool 'get_time'" in p
    assert "at most one tool" in p


def test_anthropic_style_results_inside_a_user_turn():
    req = ChatRequest(
        model="m",
        messages=[
            Message("assistant", [ToolCallPart("toolu_1", "get_time", "{}")]),
            Message("user", [ToolResultPart("toolu_1", "noon"), TextPart("and now?")]),
        ],
    )
    msgs = emulate_tools(req, _files)
    assert _text(msgs[1]) == '<tool_result name="get_time" call_id="toolu_1">\nnoon\n</tool_result>and now?'


def test_tool_result_in_an_assistant_message_is_refused():
    req = ChatRequest(model="m", messages=[Message("assistant", [ToolResultPart("x", "y")])])
    with pytest.raises(GatewayError) as e:
        emulate_tools(req, _files)
    assert e.value.status == 400
    assert e.value.param == "messages[0]"


def test_invalid_history_arguments_are_kept_visibly():
    assert '"_raw":"{oops"' in render_call("f", "{oops")


def test_parser_with_a_toolbox_from_the_request():
    box = ToolBox(multi_turn().tools or [])
    p = ToolCallParser(box)
    events = (
        p.feed('<tool_call>{"name":"get_weather","arguments":{"city":"X","days":"2"}}</tool_call>')
        + p.close()
    )
    assert shape(events) == [("call", "get_weather", '{"city":"X","days":2}')]
