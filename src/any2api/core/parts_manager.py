"""Build the part events of one streamed response from whatever ids a vendor gives its pieces.

Vendors number the pieces of a response in their own ways: Anthropic by content-block index, OpenAI by
tool-call index (text and reasoning have none: they simply continue), Gemini not at all. The hub wants dense
part indexes 0, 1, 2 ... each with one ``PartStart``, any ``PartDelta`` and one ``PartEnd``. A
:class:`PartsManager` keeps that bookkeeping for an upstream parser:

* **runs** -- text-like content that continues while the same kind keeps coming (``text``, ``reasoning``,
  a refusal ...): :meth:`text` / :meth:`reasoning` extend the open run of that kind or close it and start a
  new part;
* **keyed parts** -- :meth:`start` under a vendor key (a block index, an item id), then :meth:`delta` /
  :meth:`end` by the hub index :meth:`index` gives for that key;
* **tool calls** with incremental arguments -- :meth:`tool_call` by the vendor's call key; a call becomes a
  part once its name is known (some vendors send an empty first delta), arguments that came earlier are
  sent with its start;
* **whole parts** (images, server tool calls and results) -- :meth:`whole`: start and end at once.

Starting a part closes the open run, so sequential content stays sequential. :meth:`close` ends every
part still open, in the order they started. Events collect in :attr:`events`; a parser hands them on with
:meth:`take` (and appends its own ``ResponseStart`` / ``UsageEvent`` / ``Finish`` to the same list).

Cheap by design: a continuing delta is one comparison and one event object.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable

from .events import Event, PartDelta, PartEnd, PartStart
from .parts import JSON, OutputPart, ReasoningPart, TextPart, ToolCallPart

__all__ = ["PartsManager", "PendingCall", "new_call_id"]


def new_call_id() -> str:
    """A tool call id for vendors that send none."""
    return f"call_{uuid.uuid4().hex[:24]}"


class PendingCall:
    """A tool call seen before its name: what is known so far."""

    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id: str | None = None
        self.name: str | None = None
        self.arguments = ""

    def __repr__(self) -> str:
        return f"PendingCall(id={self.id!r}, name={self.name!r}, arguments={self.arguments[:60]!r})"


class PartsManager:
    """Vendor keys -> dense hub part indexes, and the part events of one response (see module doc)."""

    __slots__ = ("_next", "_open", "_pending", "_run", "_run_index", "events", "keys", "split_start")

    def __init__(self, split_start: bool = False) -> None:
        self.split_start = split_start
        """Runs start as an empty part with their first text as a delta (else the text is in the start)."""
        self.events: list[Event] = []
        """Events not yet handed on (see :meth:`take`)."""
        self._next = 0
        self.keys: dict[Hashable, int] = {}
        """Vendor key -> hub index of the parts started under a key (read it; :meth:`start` writes it)."""
        self._open: dict[int, None] = {}
        """Open hub indexes, in the order they started."""
        self._run: str | None = None
        self._run_index = -1
        self._pending: dict[Hashable, PendingCall] = {}

    # -- reading state

    def take(self) -> list[Event]:
        """The events collected since the last call."""
        out = self.events
        self.events = []
        return out

    @property
    def count(self) -> int:
        """How many parts were started."""
        return self._next

    @property
    def open_indexes(self) -> tuple[int, ...]:
        """Hub indexes of the parts started and not ended, in start order."""
        return tuple(self._open)

    def is_open(self, index: int) -> bool:
        return index in self._open

    def index(self, key: Hashable) -> int | None:
        """The hub index of the part started under ``key`` (None when there is none)."""
        return self.keys.get(key)

    @property
    def run(self) -> str | None:
        """The kind of the open run (``text``, ``reasoning`` ...), None when no run is open."""
        return self._run

    @property
    def pending_calls(self) -> dict[Hashable, PendingCall]:
        """Tool calls seen but not started yet (no name so far), by their key."""
        return self._pending

    # -- runs

    def text(self, text: str, run: str = "text", provider_details: dict[str, JSON] | None = None) -> int:
        """Text that continues the open run of kind ``run`` or starts a new text part. Returns its index."""
        if self._run == run:
            self.events.append(PartDelta(self._run_index, text))
            return self._run_index
        if self.split_start:
            return self._start_run(run, TextPart("", provider_details=provider_details), text)
        return self._start_run(run, TextPart(text, provider_details=provider_details))

    def reasoning(self, text: str, signature: str | None = None, run: str = "reasoning") -> int:
        """Reasoning that continues the open run of kind ``run`` or starts a new reasoning part."""
        if self._run == run:
            self.events.append(PartDelta(self._run_index, text, signature))
            return self._run_index
        if self.split_start:
            return self._start_run(run, ReasoningPart(""), text, signature)
        return self._start_run(run, ReasoningPart(text, signature=signature))

    def close_run(self) -> None:
        """End the open run (the next run content starts a new part)."""
        if self._run is not None:
            self._run = None
            self.end(self._run_index)

    def _start_run(self, run: str, part: OutputPart, text: str = "", signature: str | None = None) -> int:
        index = self.start(part)
        self._run = run
        self._run_index = index
        if text or signature:
            self.events.append(PartDelta(index, text, signature))
        return index

    # -- keyed and whole parts

    def start(self, part: OutputPart, key: Hashable | None = None) -> int:
        """Start a part (closing the open run); ``key`` is the vendor's id for it. Returns its hub index."""
        if self._run is not None:
            self.close_run()
        index = self._next
        self._next = index + 1
        if key is not None:
            self.keys[key] = index
        self._open[index] = None
        self.events.append(PartStart(index, part))
        return index

    def delta(self, index: int, text: str, signature: str | None = None) -> None:
        """Text (or argument JSON) for an open part; ``signature`` appends to a reasoning signature."""
        self.events.append(PartDelta(index, text, signature))

    def end(self, index: int, provider_details: dict[str, JSON] | None = None) -> None:
        """End a part; ending one that is not open does nothing."""
        if self._open.pop(index, 0) is None:
            if index == self._run_index:
                self._run = None
            self.events.append(PartEnd(index, provider_details))

    def whole(
        self, part: OutputPart, provider_details: dict[str, JSON] | None = None, key: Hashable | None = None
    ) -> int:
        """A part that arrives complete (an image, a server tool call or result): start and end."""
        index = self.start(part, key)
        del self._open[index]
        self.events.append(PartEnd(index, provider_details))
        return index

    # -- tool calls

    def tool_call(
        self, key: Hashable, id: str | None = None, name: str | None = None, arguments: str | None = None
    ) -> ToolCallPart | None:
        """A piece of a tool call under the vendor's ``key``. The call starts (closing the open run) once
        its name is known, with the arguments gathered so far as its first delta; later pieces add
        arguments. Returns the started part when this piece started it."""
        index = self.keys.get(key)
        if index is not None:
            if arguments:
                self.events.append(PartDelta(index, arguments))
            return None
        pending = self._pending.get(key)
        if pending is None:
            if name:
                return self._start_call(key, id, name, arguments or "")
            pending = self._pending[key] = PendingCall()
        if id:
            pending.id = id
        if name:
            pending.name = name
        if arguments:
            pending.arguments += arguments
        if not pending.name:
            return None
        del self._pending[key]
        return self._start_call(key, pending.id, pending.name, pending.arguments)

    def _start_call(self, key: Hashable, id: str | None, name: str, arguments: str) -> ToolCallPart:
        part = ToolCallPart(id or new_call_id(), name, "")
        index = self.start(part, key)
        if arguments:
            self.events.append(PartDelta(index, arguments))
        return part

    # -- end of response

    def close(self) -> None:
        """End every part still open, in the order they started (pending nameless calls are left for the
        parser to report: see :attr:`pending_calls`)."""
        self._run = None
        if self._open:
            append = self.events.append
            for index in self._open:
                append(PartEnd(index))
            self._open.clear()
