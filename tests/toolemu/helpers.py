"""Shared helpers for the tool-emulation tests."""

from __future__ import annotations

from any2api.core.request import ToolDef
from any2api.toolemu import ToolBox, ToolCallParser
from any2api.toolemu.parser import ParsedCall, ParserEvent, TextChunk

WEATHER = ToolDef(
    "get_weather",
    "Current weather of a city",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "metric": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["city"],
    },
)
TIME = ToolDef("get_time", "Current time", {"type": "object", "properties": {"tz": {"type": "string"}}})
BOX = ToolBox([WEATHER, TIME])


def parse(
    text: str | list[str], box: ToolBox = BOX, **kw: object
) -> tuple[list[ParserEvent], ToolCallParser]:
    """Feed ``text`` (one piece, or the given pieces) and close; events with adjacent text merged."""
    p = ToolCallParser(box, **kw)  # type: ignore[arg-type]
    pieces = [text] if isinstance(text, str) else text
    events: list[ParserEvent] = []
    for piece in pieces:
        events += p.feed(piece)
    events += p.close()
    return merge(events), p


def merge(events: list[ParserEvent]) -> list[ParserEvent]:
    out: list[ParserEvent] = []
    for e in events:
        if isinstance(e, TextChunk):
            if not e.text:
                continue
            if out and isinstance(out[-1], TextChunk):
                out[-1] = TextChunk(out[-1].text + e.text)
                continue
            out.append(TextChunk(e.text))
        else:
            out.append(e)
    return out


def shape(events: list[ParserEvent]) -> list[tuple[str, str] | tuple[str, str, str]]:
    """Comparable form: ("text", s) / ("call", name, arguments)."""
    return [("text", e.text) if isinstance(e, TextChunk) else ("call", e.name, e.arguments) for e in events]


def restore(events: list[ParserEvent]) -> str:
    """The input again: text plus the raw markup of each call."""
    return "".join(e.text if isinstance(e, TextChunk) else e.raw for e in events)


def calls(events: list[ParserEvent]) -> list[ParsedCall]:
    return [e for e in events if isinstance(e, ParsedCall)]
