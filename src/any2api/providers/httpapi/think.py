"""Split ``<think>…</think>`` out of streamed text into reasoning, whatever the chunk boundaries."""

from __future__ import annotations

_START, _IN, _OUT = range(3)


class ThinkSplitter:
    """Feed text pieces; get ``(is_reasoning, text)`` pieces back.

    By default only a think block that opens the text (after optional whitespace) counts, as reasoning
    models emit it; ``anywhere`` also recognises blocks later in the text. Whitespace right after the
    closing tag is dropped (models put a blank line there). A block still open at the end is reasoning.
    """

    __slots__ = ("_buf", "_close", "_mode", "_open", "_strip", "anywhere")

    def __init__(
        self, open_tag: str = "<think>", close_tag: str = "</think>", anywhere: bool = False
    ) -> None:
        self._open = open_tag
        self._close = close_tag
        self.anywhere = anywhere
        self._mode = _START
        self._buf = ""
        self._strip = False

    def feed(self, text: str) -> list[tuple[bool, str]]:
        out: list[tuple[bool, str]] = []
        if text:
            self._buf += text
            self._run(out, final=False)
        return out

    def close(self) -> list[tuple[bool, str]]:
        out: list[tuple[bool, str]] = []
        self._run(out, final=True)
        if self._buf:
            out.append((self._mode == _IN, self._buf))
            self._buf = ""
        return out

    def _run(self, out: list[tuple[bool, str]], final: bool) -> None:
        while self._buf and _STEPS[self._mode](self, out, final):
            pass

    def _at_start(self, out: list[tuple[bool, str]], final: bool) -> bool:
        """Before any text: a think block opens, or there is none. False: wait for more text."""
        lead = self._buf.lstrip()
        if lead.startswith(self._open):
            self._mode = _IN
            self._buf = lead[len(self._open) :]
            return True
        if self._open.startswith(lead) and not final:
            return False  # whitespace, or part of the tag so far
        self._mode = _OUT
        return True

    def _inside(self, out: list[tuple[bool, str]], final: bool) -> bool:
        buf = self._buf
        i = buf.find(self._close)
        if i != -1:
            if i:
                out.append((True, buf[:i]))
            self._buf = buf[i + len(self._close) :]
            self._mode = _OUT
            self._strip = True
            return True
        keep = 0 if final else _partial_suffix(buf, self._close)
        if len(buf) > keep:
            out.append((True, buf[: len(buf) - keep]))
        self._buf = buf[len(buf) - keep :]
        return False

    def _outside(self, out: list[tuple[bool, str]], final: bool) -> bool:
        buf = self._buf
        if self._strip:
            stripped = buf.lstrip()
            if not stripped:
                self._buf = ""
                return False
            self._strip = False
            buf = self._buf = stripped
        if not self.anywhere:
            out.append((False, buf))
            self._buf = ""
            return False
        i = buf.find(self._open)
        if i != -1:
            if i:
                out.append((False, buf[:i]))
            self._buf = buf[i + len(self._open) :]
            self._mode = _IN
            return True
        keep = 0 if final else _partial_suffix(buf, self._open)
        if len(buf) > keep:
            out.append((False, buf[: len(buf) - keep]))
        self._buf = buf[len(buf) - keep :]
        return False


_STEPS = (ThinkSplitter._at_start, ThinkSplitter._inside, ThinkSplitter._outside)
"""The step of each mode (_START, _IN, _OUT); False from a step: wait for more text."""


def _partial_suffix(buf: str, tag: str) -> int:
    """Length of the longest end of ``buf`` that is a proper beginning of ``tag``."""
    for n in range(min(len(tag) - 1, len(buf)), 0, -1):
        if buf.endswith(tag[:n]):
            return n
    return 0
