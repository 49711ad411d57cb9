"""Fold stream events into a full response: the one path non-streaming responses are built by."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from typing import assert_never

from .errors import GatewayError
from .events import ErrorEvent, Event, Finish, PartDelta, PartEnd, PartStart, ResponseStart, UsageEvent
from .parts import (
    ImagePart,
    OutputPart,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolResultPart,
    TextPart,
    ToolCallPart,
)
from .response import ChatResponse, Usage


class Accumulator:
    def __init__(self) -> None:
        self.response = ChatResponse(id="", model="", created=int(time.time()))
        self._by_index: dict[int, OutputPart] = {}
        self.error: GatewayError | None = None

    def add(self, event: Event) -> None:
        r = self.response
        if isinstance(event, ResponseStart):
            r.id, r.model, r.created = event.id, event.model, event.created
            r.provider = event.provider
            if event.usage is not None:
                self._merge_usage(event.usage)
        elif isinstance(event, PartStart):
            if event.index in self._by_index:
                raise ValueError(f"part index {event.index} started twice")
            part = _copy_part(event.part)
            self._by_index[event.index] = part
            r.parts.append(part)
        elif isinstance(event, PartDelta):
            found = self._by_index.get(event.index)
            if found is None:
                raise ValueError(f"delta for part index {event.index} that was never started")
            part = found
            if event.signature and not isinstance(part, ReasoningPart):
                raise ValueError(
                    f"signature delta for a {part.kind} part (index {event.index}); only reasoning parts carry "
                    "signatures (put others in PartEnd.provider_details)"
                )
            if isinstance(part, TextPart):
                part.text += event.delta
            elif isinstance(part, ReasoningPart):
                part.text += event.delta
                if event.signature:
                    part.signature = (part.signature or "") + event.signature
            elif isinstance(part, ToolCallPart):
                part.arguments += event.delta
            elif isinstance(part, ImagePart | ServerToolCallPart | ServerToolResultPart):
                raise ValueError(
                    f"delta for a {part.kind} part (index {event.index}); such parts arrive whole"
                )
            else:
                assert_never(part)
        elif isinstance(event, PartEnd):
            ended = self._by_index.get(event.index)
            if ended is None:
                raise ValueError(f"end of part index {event.index} that was never started")
            if event.provider_details:
                ended.provider_details = {**(ended.provider_details or {}), **event.provider_details}
        elif isinstance(event, UsageEvent):
            self._merge_usage(event.usage)
        elif isinstance(event, Finish):
            r.finish_reason = event.reason
            r.stop_sequence = event.stop_sequence
        elif isinstance(event, ErrorEvent):
            self.error = event.error
        else:
            assert_never(event)

    def _merge_usage(self, usage: Usage) -> None:
        if self.response.usage is None:
            self.response.usage = Usage()
        self.response.usage.merge(usage)

    def result(self) -> ChatResponse:
        if self.error is not None:
            raise self.error
        return self.response


def _copy_part(part: OutputPart) -> OutputPart:
    if isinstance(part, TextPart):
        return TextPart(part.text, provider_details=part.provider_details)
    if isinstance(part, ReasoningPart):
        return ReasoningPart(
            part.text,
            signature=part.signature,
            redacted=part.redacted,
            provider_details=part.provider_details,
        )
    if isinstance(part, ToolCallPart):
        return ToolCallPart(part.id, part.name, part.arguments, provider_details=part.provider_details)
    if isinstance(part, ImagePart | ServerToolCallPart | ServerToolResultPart):
        return replace(part)
    assert_never(part)


def accumulate(events: Iterable[Event]) -> ChatResponse:
    acc = Accumulator()
    for e in events:
        acc.add(e)
    return acc.result()


async def accumulate_async(events: AsyncIterator[Event]) -> ChatResponse:
    acc = Accumulator()
    async for e in events:
        acc.add(e)
        if acc.error is not None:
            break
    return acc.result()
