"""The accumulator folds hub stream events into one ChatResponse (src/any2api/core/accumulator.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from any2api.core.accumulator import Accumulator, accumulate, accumulate_async
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
from any2api.core.parts import ReasoningPart, TextPart, ToolCallPart
from any2api.core.response import Usage


def start(
    id: str = "resp_1", model: str = "m-1", created: int = 1700000000, usage: Usage | None = None
) -> ResponseStart:
    return ResponseStart(id, model, created, usage)


def test_text_answer() -> None:
    r = accumulate(
        [
            start(),
            PartStart(0, TextPart("")),
            PartDelta(0, "Hel"),
            PartDelta(0, "lo"),
            PartDelta(0, ""),
            PartDelta(0, " world"),
            PartEnd(0),
            Finish("stop"),
        ]
    )
    assert (r.id, r.model, r.created) == ("resp_1", "m-1", 1700000000)
    assert len(r.parts) == 1
    assert isinstance(r.parts[0], TextPart)
    assert r.parts[0].text == "Hello world"
    assert r.text() == "Hello world"
    assert r.finish_reason == "stop"
    assert r.stop_sequence is None
    assert r.usage is None


def test_text_known_at_start_is_kept() -> None:
    r = accumulate([start(), PartStart(0, TextPart("Hi")), PartDelta(0, "!"), PartEnd(0), Finish("stop")])
    assert r.text() == "Hi!"


def test_reasoning_with_signature_deltas_then_text() -> None:
    r = accumulate(
        [
            start(),
            PartStart(0, ReasoningPart("")),
            PartDelta(0, "Let me "),
            PartDelta(0, "think."),
            PartDelta(0, "", signature="EqQB"),
            PartDelta(0, "", signature="CkYI"),
            PartEnd(0),
            PartStart(1, TextPart("")),
            PartDelta(1, "Answer"),
            PartEnd(1),
            Finish("stop"),
        ]
    )
    reasoning, text = r.parts
    assert isinstance(reasoning, ReasoningPart)
    assert isinstance(text, TextPart)
    assert reasoning.text == "Let me think."
    assert reasoning.signature == "EqQBCkYI"
    assert reasoning.redacted is None
    assert r.text() == "Answer"  # reasoning is not answer text


def test_signature_and_redacted_given_at_start() -> None:
    r = accumulate(
        [
            start(),
            PartStart(0, ReasoningPart("", redacted="ENCRYPTED")),
            PartEnd(0),
            PartStart(1, ReasoningPart("t", signature="S1")),
            PartDelta(1, "", signature="S2"),
            PartEnd(1),
            Finish("stop"),
        ]
    )
    redacted, signed = r.parts
    assert isinstance(redacted, ReasoningPart)
    assert isinstance(signed, ReasoningPart)
    assert (redacted.text, redacted.redacted, redacted.signature) == ("", "ENCRYPTED", None)
    assert (signed.text, signed.signature) == ("t", "S1S2")


def test_interleaved_parallel_tool_calls() -> None:
    r = accumulate(
        [
            start(),
            PartStart(0, TextPart("")),
            PartDelta(0, "Checking."),
            PartEnd(0),
            PartStart(1, ToolCallPart("call_a", "get_weather")),
            PartStart(2, ToolCallPart("call_b", "get_time")),
            PartDelta(1, '{"ci'),
            PartDelta(2, '{"tz"'),
            PartDelta(1, 'ty": "Paris"}'),
            PartDelta(2, ': "CET"}'),
            PartEnd(2),
            PartEnd(1),
            Finish("tool_calls"),
        ]
    )
    calls = [p for p in r.parts if isinstance(p, ToolCallPart)]
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("call_a", "get_weather", '{"city": "Paris"}'),
        ("call_b", "get_time", '{"tz": "CET"}'),
    ]
    assert r.finish_reason == "tool_calls"
    assert r.text() == "Checking."


def test_tool_call_with_arguments_at_start() -> None:
    r = accumulate([start(), PartStart(0, ToolCallPart("c", "f", "{}")), PartEnd(0), Finish("tool_calls")])
    assert isinstance(r.parts[0], ToolCallPart)
    assert r.parts[0].arguments == "{}"


def test_start_events_are_not_mutated() -> None:
    text = TextPart("a", provider_details={"k": 1})
    call = ToolCallPart("c", "f", "")
    reasoning = ReasoningPart("")
    acc = Accumulator()
    events: list[Event] = [
        start(),
        PartStart(0, text),
        PartStart(1, call),
        PartStart(2, reasoning),
        PartDelta(0, "b"),
        PartDelta(1, "{}"),
        PartDelta(2, "x", signature="s"),
        PartEnd(0, {"extra": True}),
    ]
    for e in events:
        acc.add(e)
    assert (text.text, call.arguments, reasoning.text, reasoning.signature) == ("a", "", "", None)
    assert text.provider_details == {"k": 1}


def test_provider_details_at_end_are_merged() -> None:
    r = accumulate(
        [
            start(),
            PartStart(0, ToolCallPart("c", "f", provider_details={"gemini": {"a": 1}, "keep": "x"})),
            PartEnd(0, {"gemini": {"thoughtSignature": "sig"}}),
            PartStart(1, TextPart("")),
            PartEnd(1, {"cache_control": {"type": "ephemeral"}}),
            PartStart(2, TextPart("")),
            PartEnd(2),
            Finish("tool_calls"),
        ]
    )
    assert r.parts[0].provider_details == {"gemini": {"thoughtSignature": "sig"}, "keep": "x"}
    assert r.parts[1].provider_details == {"cache_control": {"type": "ephemeral"}}
    assert r.parts[2].provider_details is None


def test_usage_from_start_and_later_events_is_merged() -> None:
    r = accumulate(
        [
            start(usage=Usage(input_tokens=120, cache_read_tokens=100, cache_write_tokens=0)),
            PartStart(0, TextPart("")),
            PartDelta(0, "x"),
            PartEnd(0),
            UsageEvent(Usage(output_tokens=1)),
            UsageEvent(Usage(input_tokens=0, output_tokens=45, reasoning_tokens=12)),
            Finish("stop"),
        ]
    )
    u = r.usage
    assert u is not None
    assert (u.input_tokens, u.output_tokens, u.reasoning_tokens) == (120, 45, 12)
    assert (u.cache_read_tokens, u.cache_write_tokens) == (100, 0)
    assert u.total_tokens == 165


def test_usage_event_may_come_after_finish() -> None:
    # OpenAI sends the usage chunk after the finish chunk
    r = accumulate([start(), Finish("length"), UsageEvent(Usage(input_tokens=3, output_tokens=4))])
    assert r.finish_reason == "length"
    assert r.usage is not None
    assert r.usage.total_tokens == 7


def test_usage_provider_details_are_merged() -> None:
    r = accumulate(
        [
            start(usage=Usage(input_tokens=5, provider_details={"anthropic": {"service_tier": "standard"}})),
            UsageEvent(Usage(output_tokens=2, provider_details={"openai": {"audio_tokens": 0}})),
            Finish("stop"),
        ]
    )
    assert r.usage is not None
    assert r.usage.provider_details == {
        "anthropic": {"service_tier": "standard"},
        "openai": {"audio_tokens": 0},
    }


def test_finish_with_stop_sequence() -> None:
    r = accumulate([start(), PartStart(0, TextPart("done")), PartEnd(0), Finish("stop", stop_sequence="END")])
    assert (r.finish_reason, r.stop_sequence) == ("stop", "END")


def test_empty_response() -> None:
    r = accumulate([start(), Finish("stop")])
    assert r.parts == []
    assert r.text() == ""


# --- errors -------------------------------------------------------------------------------------------------------


def test_delta_before_start_raises() -> None:
    acc = Accumulator()
    acc.add(start())
    with pytest.raises(ValueError, match="index 0 that was never started"):
        acc.add(PartDelta(0, "x"))


def test_delta_for_another_index_raises() -> None:
    acc = Accumulator()
    acc.add(PartStart(0, TextPart("")))
    with pytest.raises(ValueError, match="index 1"):
        acc.add(PartDelta(1, "x"))


def test_end_before_start_raises() -> None:
    acc = Accumulator()
    with pytest.raises(ValueError, match="never started"):
        acc.add(PartEnd(3))


def test_start_twice_raises() -> None:
    acc = Accumulator()
    acc.add(PartStart(0, TextPart("")))
    with pytest.raises(ValueError, match="started twice"):
        acc.add(PartStart(0, ToolCallPart("c", "f")))


def test_error_event_is_reraised_by_result() -> None:
    err = GatewayError("upstream", "Upstream stream broke", code="upstream_disconnected")
    acc = Accumulator()
    events: list[Event] = [start(), PartStart(0, TextPart("")), PartDelta(0, "partial"), ErrorEvent(err)]
    for e in events:
        acc.add(e)
    assert acc.error is err
    with pytest.raises(GatewayError) as info:
        acc.result()
    assert info.value is err
    assert info.value.code == "upstream_disconnected"


def test_accumulate_raises_the_error_event() -> None:
    err = GatewayError("overloaded", "Overloaded")
    with pytest.raises(GatewayError) as info:
        accumulate([start(), ErrorEvent(err)])
    assert info.value is err
    assert info.value.status == 503


def test_accumulate_async_stops_at_the_error() -> None:
    err = GatewayError("timeout", "Upstream sent nothing for 5s")
    pulled: list[Event] = []
    events: list[Event] = [start(), PartStart(0, TextPart("")), ErrorEvent(err), PartDelta(0, "never read")]

    async def gen() -> AsyncIterator[Event]:
        for e in events:
            pulled.append(e)
            yield e

    with pytest.raises(GatewayError) as info:
        asyncio.run(accumulate_async(gen()))
    assert info.value is err
    assert len(pulled) == 3


def test_accumulate_async() -> None:
    events: list[Event] = [
        start(),
        PartStart(0, TextPart("")),
        PartDelta(0, "ok"),
        PartEnd(0),
        Finish("stop"),
    ]

    async def gen() -> AsyncIterator[Event]:
        for e in events:
            yield e

    r = asyncio.run(accumulate_async(gen()))
    assert r.text() == "ok"
    assert r.finish_reason == "stop"


@pytest.mark.parametrize("part", [TextPart(""), ToolCallPart("c", "f")])
def test_signature_on_a_part_that_cannot_hold_it_is_not_dropped(part: TextPart | ToolCallPart) -> None:
    acc = Accumulator()
    acc.add(PartStart(0, part))
    with pytest.raises(ValueError, match="signature"):
        acc.add(PartDelta(0, "", signature="sig"))


# --- property -----------------------------------------------------------------------------------------------------

PIECES = st.lists(st.text(max_size=5), max_size=6)


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.tuples(st.sampled_from(["text", "reasoning", "tool"]), PIECES), max_size=5),
    data=st.data(),
)
def test_any_interleaving_of_deltas_rebuilds_every_part(
    parts: list[tuple[str, list[str]]], data: st.DataObject
) -> None:
    events: list[Event] = [start()]
    for i, (kind, _) in enumerate(parts):
        part = (
            TextPart("")
            if kind == "text"
            else ReasoningPart("")
            if kind == "reasoning"
            else ToolCallPart(f"c{i}", "f")
        )
        events.append(PartStart(i, part))
    cursors = [0] * len(parts)
    while True:
        open_parts = [i for i, (_, pieces) in enumerate(parts) if cursors[i] < len(pieces)]
        if not open_parts:
            break
        i = data.draw(st.sampled_from(open_parts))
        events.append(
            PartDelta(i, parts[i][1][cursors[i]], signature="s" if parts[i][0] == "reasoning" else None)
        )
        cursors[i] += 1
    events += [PartEnd(i) for i in range(len(parts))] + [Finish("stop")]
    r = accumulate(events)
    assert len(r.parts) == len(parts)
    for got, (kind, pieces) in zip(r.parts, parts, strict=True):
        if kind == "tool":
            assert isinstance(got, ToolCallPart)
            assert got.arguments == "".join(pieces)
        else:
            assert isinstance(got, (TextPart, ReasoningPart))
            assert got.text == "".join(pieces)
            if isinstance(got, ReasoningPart):
                assert got.signature == ("s" * len(pieces) or None)
