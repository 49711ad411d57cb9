"""The parts manager: vendor keys -> dense hub part indexes, and well-formed part events."""

from __future__ import annotations

from any2api.core.accumulator import accumulate
from any2api.core.events import Event, Finish, PartDelta, PartEnd, PartStart, ResponseStart
from any2api.core.parts import ImagePart, ReasoningPart, ServerToolCallPart, TextPart, ToolCallPart
from any2api.core.parts_manager import PartsManager


def _check_well_formed(events: list[Event]) -> None:
    """Dense indexes from 0, each started once before its deltas and ended once after them."""
    started: list[int] = []
    ended: set[int] = set()
    for e in events:
        if isinstance(e, PartStart):
            assert e.index == len(started)
            assert e.index not in started
            started.append(e.index)
        elif isinstance(e, PartDelta):
            assert e.index in started
            assert e.index not in ended
        elif isinstance(e, PartEnd):
            assert e.index in started
            assert e.index not in ended
            ended.add(e.index)
    assert ended == set(started)


def test_runs_continue_and_a_new_kind_closes_the_open_run() -> None:
    pm = PartsManager()
    assert pm.reasoning("think") == 0
    assert pm.reasoning("ing") == 0
    assert pm.text("Hel") == 1
    assert pm.text("lo") == 1
    assert pm.run == "text"
    assert pm.open_indexes == (1,)
    pm.close()
    ev = pm.take()
    assert ev == [
        PartStart(0, ReasoningPart("think")), PartDelta(0, "ing"), PartEnd(0),
        PartStart(1, TextPart("Hel")), PartDelta(1, "lo"), PartEnd(1),
    ]  # fmt: skip
    assert pm.take() == []
    assert pm.open_indexes == ()


def test_named_runs_are_separate_parts_with_their_details() -> None:
    pm = PartsManager()
    pm.text("no", run="refusal", provider_details={"openai": {"refusal": True}})
    pm.text("pe", run="refusal")
    pm.text("ok")
    pm.close()
    resp = accumulate([ResponseStart("r", "m", 0), *pm.take(), Finish("stop")])
    assert [(p.kind, getattr(p, "text", None), p.provider_details) for p in resp.parts] == [
        ("text", "nope", {"openai": {"refusal": True}}),
        ("text", "ok", None),
    ]


def test_split_start_puts_the_first_text_in_a_delta() -> None:
    pm = PartsManager(split_start=True)
    pm.text("a")
    pm.reasoning("r", signature="S")
    assert pm.take() == [
        PartStart(0, TextPart("")), PartDelta(0, "a"), PartEnd(0),
        PartStart(1, ReasoningPart("")), PartDelta(1, "r", "S"),
    ]  # fmt: skip


def test_keyed_parts_interleave_and_end_by_index() -> None:
    pm = PartsManager()
    a = pm.start(ToolCallPart("a", "f", ""), key=7)
    b = pm.start(ToolCallPart("b", "g", ""), key=3)
    assert (a, b) == (0, 1)
    assert pm.index(7) == 0
    assert pm.index(3) == 1
    assert pm.index(99) is None
    pm.delta(b, '{"y"')
    pm.delta(a, '{"x"')
    pm.end(a)
    pm.end(a)  # twice: nothing more
    assert pm.is_open(b)
    assert not pm.is_open(a)
    pm.close()
    events = pm.take()
    _check_well_formed(events)
    assert [type(e).__name__ for e in events].count("PartEnd") == 2


def test_starting_a_part_closes_the_open_run_but_not_keyed_parts() -> None:
    pm = PartsManager()
    pm.tool_call(0, "c1", "f", "{")
    pm.text("between")
    pm.tool_call(1, "c2", "g")
    pm.tool_call(0, arguments="}")
    pm.text("after")
    pm.close()
    events = pm.take()
    _check_well_formed(events)
    resp = accumulate([ResponseStart("r", "m", 0), *events, Finish("tool_calls")])
    assert [(p.kind, getattr(p, "text", None) or getattr(p, "arguments", None)) for p in resp.parts] == [
        ("tool_call", "{}"),
        ("text", "between"),
        ("tool_call", ""),
        ("text", "after"),
    ]


def test_a_tool_call_waits_for_its_name_and_sends_what_came_before() -> None:
    pm = PartsManager()
    assert pm.tool_call(0, id="call_1", arguments='{"a"') is None
    assert pm.take() == []
    assert 0 in pm.pending_calls
    started = pm.tool_call(0, name="lookup", arguments=": 1}")
    assert started == ToolCallPart("call_1", "lookup", "")
    assert pm.take() == [PartStart(0, ToolCallPart("call_1", "lookup", "")), PartDelta(0, '{"a": 1}')]
    assert not pm.pending_calls
    assert pm.tool_call(0, name="ignored later", arguments="") is None
    assert pm.take() == []


def test_a_tool_call_without_id_gets_one() -> None:
    pm = PartsManager()
    part = pm.tool_call("k", name="f")
    assert part is not None
    assert part.id.startswith("call_")
    assert len(part.id) == 29


def test_whole_parts_start_and_end_at_once() -> None:
    pm = PartsManager()
    pm.text("see:")
    i = pm.whole(ImagePart(data="iVBOR", media_type="image/png"), {"x": {"y": 1}})
    s = pm.whole(ServerToolCallPart("s1", "web_search", "anthropic_messages", {"type": "server_tool_use"}))
    assert (i, s) == (1, 2)
    assert pm.open_indexes == ()
    assert pm.take()[-4:] == [
        PartStart(1, ImagePart(data="iVBOR", media_type="image/png")), PartEnd(1, {"x": {"y": 1}}),
        PartStart(2, ServerToolCallPart("s1", "web_search", "anthropic_messages", {"type": "server_tool_use"})),
        PartEnd(2),
    ]  # fmt: skip


def test_close_ends_open_parts_in_start_order() -> None:
    pm = PartsManager()
    pm.start(TextPart("x"), key="b")
    pm.start(TextPart("y"), key="a")
    pm.reasoning("z")
    pm.close()
    assert [e.index for e in pm.take() if isinstance(e, PartEnd)] == [0, 1, 2]
    assert pm.count == 3
    assert pm.run is None
