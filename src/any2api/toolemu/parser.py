"""Streaming parser for tool calls written in the text convention (see ``convention``).

Feed model text as it arrives, in pieces split anywhere; get back plain text and complete calls.

- ``<tool_call>{...}</tool_call>`` outside code becomes a :class:`ParsedCall`; the markup never shows as
  text. A call is emitted when its block closes (its arguments are repaired and coerced first, which
  needs the whole object), so text before, between and after calls streams as it comes.
- Look-alikes inside fenced code blocks (```` ``` ```` / ``~~~``) and inline code spans are text.
- Damage is repaired where unambiguous: a missing closing tag (at the end, or when the next call
  opens), a bare call object on its own line without the tags, trailing commas, unescaped quotes, raw
  newlines in strings, Python literals, a missing final brace, a code fence inside the tags.
- Anything else -- invalid JSON, calls of undeclared tools, objects that are not calls -- is released
  unchanged as plain text, and the reason is kept in ``rejections``.

Every decision depends only on the text, never on where it was split: any split of the same output
gives the same result (``tests/toolemu`` checks this with hypothesis).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .convention import CLOSE, OPEN
from .toolbox import CALL_KEYS, ToolBox


@dataclass(slots=True)
class TextChunk:
    text: str


@dataclass(slots=True)
class ParsedCall:
    name: str
    arguments: str
    """Canonical JSON of the (repaired, coerced) arguments object."""
    raw: str
    """The markup as the model wrote it."""


ParserEvent = TextChunk | ParsedCall

_TEXT, _FENCE, _CALL, _BARE = range(4)
_SPECIAL = re.compile(r"[<`~{\n]")
_OPEN_RE = re.compile(re.escape(OPEN), re.IGNORECASE)
_CLOSE_RE = re.compile(re.escape(CLOSE), re.IGNORECASE)
_WS = " \t\r\n"
_SWITCHED, _WAIT = -1, -2
"""What a ``_text_*`` step returns instead of a position: it changed mode / it needs more input."""
_KEY_OK = -2
"""``_b_key`` once the first key of a bare object was accepted (-1: no key yet; >= 0: where it starts)."""


class ToolCallParser:
    def __init__(self, box: ToolBox, *, bare_json: bool = True, max_call_chars: int = 200_000) -> None:
        self.box = box
        self.bare_json = bare_json
        self.max_call = max_call_chars
        self.rejections: list[str] = []
        self.calls = 0
        self._buf = ""
        self._mode = _TEXT
        self._line_ws = True
        """Only whitespace so far on the current line."""
        self._inline = 0
        """Length of the backtick run that opened an inline code span on this line (0: none)."""
        self._fence = ""
        self._call = ""
        self._call_scan = 0
        self._open_tag = OPEN
        self._b_pos = 0
        self._b_depth = 0
        self._b_str = False
        self._b_esc = False
        self._b_key = -1

    def feed(self, text: str) -> list[ParserEvent]:
        out: list[ParserEvent] = []
        if text:
            self._buf += text
            self._run(out, final=False)
        return out

    def close(self) -> list[ParserEvent]:
        out: list[ParserEvent] = []
        self._run(out, final=True)
        if self._buf:  # defensive: nothing is ever dropped
            self._emit(out, self._buf)
            self._buf = ""
        return out

    # -- machinery ---------------------------------------------------------------------------------------

    def _run(self, out: list[ParserEvent], final: bool) -> None:
        while True:
            mode = self._mode
            if mode == _TEXT:
                progressed = self._text(out, final)
            elif mode == _FENCE:
                progressed = self._fenced(out, final)
            elif mode == _CALL:
                progressed = self._in_call(out, final)
            else:
                progressed = self._bare(out, final)
            if not progressed:
                return

    def _emit(self, out: list[ParserEvent], s: str) -> None:
        if not s:
            return
        if out and isinstance(out[-1], TextChunk):
            out[-1].text += s
        else:
            out.append(TextChunk(s))
        nl = s.rfind("\n")
        if nl != -1:
            self._line_ws = not s[nl + 1 :].strip(" \t")
            self._inline = 0
        elif self._line_ws and s.strip(" \t"):
            self._line_ws = False

    def _emit_call(self, out: list[ParserEvent], body: str, raw: str, record: bool = True) -> None:
        verdict = self.box.check_text(body)
        if verdict.name is not None and verdict.arguments is not None:
            out.append(ParsedCall(verdict.name, verdict.arguments, raw))
            self.calls += 1
            self._line_ws = False
        else:
            if record:
                self.rejections.append(f"{verdict.reason}: {raw[:200]!r}")
            self._emit(out, raw)

    def _text(self, out: list[ParserEvent], final: bool) -> bool:
        buf = self._buf
        n = len(buf)
        i = 0
        while i < n:
            m = _SPECIAL.search(buf, i)
            if m is None:
                self._emit(out, buf[i:])
                i = n
                break
            j = m.start()
            if j > i:
                self._emit(out, buf[i:j])
                i = j
            c = buf[j]
            if c == "\n":
                self._emit(out, "\n")
                nxt = j + 1
            elif c in "`~":
                nxt = self._text_run(out, buf, j, final)
            elif c == "<":
                nxt = self._text_angle(out, buf, j, final)
            else:  # "{"
                nxt = self._text_brace(out, buf, j)
            if nxt == _SWITCHED:
                return True
            if nxt == _WAIT:
                break  # what starts at j may go on in the next piece
            i = nxt
        self._buf = buf[i:]
        return False

    # The ``_text_*`` steps handle the special character at ``buf[j]``: they return where scanning goes
    # on, ``_SWITCHED`` after changing mode (``_buf`` then holds the rest), or ``_WAIT`` for more input.

    def _text_run(self, out: list[ParserEvent], buf: str, j: int, final: bool) -> int:
        """A run of backticks or tildes: a fence at the start of a line, else (backticks) inline code."""
        c = buf[j]
        n = len(buf)
        k = j
        while k < n and buf[k] == c:
            k += 1
        if k == n and not final:
            return _WAIT  # the run may go on in the next piece
        run = k - j
        if self._line_ws and run >= 3:
            self._emit(out, buf[j:k])
            self._fence = buf[j:k]
            self._mode = _FENCE
            self._buf = buf[k:]
            return _SWITCHED
        if c == "`":
            if self._inline == 0:
                self._inline = run
            elif self._inline == run:
                self._inline = 0
        self._emit(out, buf[j:k])
        return k

    def _text_angle(self, out: list[ParserEvent], buf: str, j: int, final: bool) -> int:
        """``<``: perhaps the opening tag of a call (not inside inline code)."""
        if self._inline == 0:
            seg = buf[j : j + len(OPEN)]
            if _OPEN_RE.match(seg):
                self._open_tag = seg
                self._mode = _CALL
                self._call = ""
                self._call_scan = 0
                self._buf = buf[j + len(OPEN) :]
                return _SWITCHED
            if len(seg) < len(OPEN) and OPEN.startswith(seg.lower()) and not final:
                return _WAIT
        self._emit(out, "<")
        return j + 1

    def _text_brace(self, out: list[ParserEvent], buf: str, j: int) -> int:
        """``{`` at the start of a line (outside inline code): perhaps a bare call object."""
        if self.bare_json and self._line_ws and self._inline == 0:
            self._mode = _BARE
            self._b_pos = 0
            self._b_depth = 0
            self._b_str = self._b_esc = False
            self._b_key = -1
            self._buf = buf[j:]
            return _SWITCHED
        self._emit(out, "{")
        return j + 1

    def _fenced(self, out: list[ParserEvent], final: bool) -> bool:
        buf = self._buf
        n = len(buf)
        i = 0
        fc = self._fence[0]
        while i < n:
            if self._line_ws:
                k = i
                while k < n and buf[k] in " \t":
                    k += 1
                if k > i:
                    self._emit(out, buf[i:k])
                    i = k
                if k == n:
                    break
                if buf[k] == fc:
                    e = k
                    while e < n and buf[e] == fc:
                        e += 1
                    if e == n and not final:
                        break
                    if e - k >= len(self._fence):
                        self._emit(out, buf[k:e])
                        self._mode = _TEXT
                        self._fence = ""
                        self._buf = buf[e:]
                        return True
            nl = buf.find("\n", i)
            if nl == -1:
                self._emit(out, buf[i:])
                i = n
                break
            self._emit(out, buf[i : nl + 1])
            i = nl + 1
        self._buf = buf[i:]
        return False

    def _in_call(self, out: list[ParserEvent], final: bool) -> bool:
        body = self._call + self._buf
        self._buf = ""
        self._call = body
        tag = self._open_tag
        lead = body.lstrip(_WS)
        if lead and lead[0] not in "{`~":
            # prose that merely mentions the tag: the tag is text, the rest is scanned as text again
            self._emit(out, tag)
            self._buf = body
            self._call = ""
            self._mode = _TEXT
            return True
        start = max(0, self._call_scan - len(CLOSE))
        mc = _CLOSE_RE.search(body, start)
        mo = _OPEN_RE.search(body, start)
        limit = self.max_call
        # tags count only within the first ``limit`` characters, whatever the split
        ci = mc.start() - start if mc and mc.start() <= limit else -1
        oi = mo.start() - start if mo and mo.start() <= limit else -1
        if oi != -1 and (ci == -1 or oi < ci):
            # the next call opens before this one closed: this one ends here
            inner = body[: start + oi]
            self._emit_call(out, inner, tag + inner)
            self._call = ""
            self._call_scan = 0
            self._open_tag = body[start + oi : start + oi + len(OPEN)]
            self._buf = body[start + oi + len(OPEN) :]
            return True
        if ci != -1:
            inner = body[: start + ci]
            end = start + ci + len(CLOSE)
            self._emit_call(out, inner, tag + body[:end])
            self._call = ""
            self._mode = _TEXT
            self._buf = body[end:]
            return True
        if len(body) >= limit + len(CLOSE):
            self.rejections.append("call block too long")
            self._emit(out, tag + body[:limit])
            self._call = ""
            self._mode = _TEXT
            self._buf = body[limit:]
            return True
        if final:
            self._call = ""
            self._mode = _TEXT
            if body.strip(_WS):
                self._emit_call(out, body, tag + body)
            else:
                self._emit(out, tag + body)
            return False
        self._call_scan = len(body)
        return False

    def _bare(self, out: list[ParserEvent], final: bool) -> bool:
        """A ``{`` at the start of a line: perhaps a call object written without its tags.

        Its first key must be one a call has (``_bare_key``); then the object is read to its closing brace
        (``_bare_body``). Only the first ``max_call`` characters are looked at, whatever the split."""
        buf = self._buf
        end = min(len(buf), self.max_call)
        if self._b_key != _KEY_OK:
            stop = self._bare_key(buf, end)
            if stop is not None:
                self._release_bare(out, stop)
                return True
        if self._b_key == _KEY_OK:
            close = self._bare_body(buf, end)
            if close is not None:
                self._mode = _TEXT
                self._buf = buf[close:]
                self._emit_call(out, buf[:close], buf[:close], record=False)
                return True
        if end < len(buf):  # too long to be a call
            self._release_bare(out, end)
            return True
        if final:
            self._mode = _TEXT
            self._buf = ""
            self._emit_call(out, buf, buf, record=False)
        return False

    def _bare_key(self, buf: str, end: int) -> int | None:
        """Scan up to the end of the first key: where to release the text when the object does not start
        like a call, else None (the key is accepted, ``_b_key == _KEY_OK``, or more input is needed)."""
        i, depth, in_str, esc, key = self._b_pos, self._b_depth, self._b_str, self._b_esc, self._b_key
        while i < end:
            c = buf[i]
            i += 1
            if in_str:
                if esc:
                    esc = False
                elif c == "\\":
                    esc = True
                elif c == '"':
                    if buf[key : i - 1] not in CALL_KEYS:
                        return i
                    in_str, key = False, _KEY_OK
                    break
            elif depth == 0:  # the opening brace
                depth = 1
            elif c == '"':
                in_str, key = True, i
            elif c not in _WS:
                return i - 1  # "{" not followed by a key
        self._b_pos, self._b_depth, self._b_str, self._b_esc, self._b_key = i, depth, in_str, esc, key
        return None

    def _bare_body(self, buf: str, end: int) -> int | None:
        """Scan on to the brace that closes the object: the index after it, or None (more input needed)."""
        i, depth, in_str, esc = self._b_pos, self._b_depth, self._b_str, self._b_esc
        while i < end:
            c = buf[i]
            i += 1
            if in_str:
                if esc:
                    esc = False
                elif c == "\\":
                    esc = True
                elif c == '"':
                    in_str = False
            elif c == '"':
                in_str = True
            elif c in "{[":
                depth += 1
            elif c in "}]":
                depth -= 1
                if depth == 0:
                    return i
        self._b_pos, self._b_depth, self._b_str, self._b_esc = i, depth, in_str, esc
        return None

    def _release_bare(self, out: list[ParserEvent], upto: int) -> None:
        self._mode = _TEXT
        self._emit(out, self._buf[:upto])
        self._buf = self._buf[upto:]


def split_events(events: list[ParserEvent]) -> tuple[str, list[ParsedCall]]:
    """All text joined, and the calls (a convenience for tests and non-streaming callers)."""
    text = "".join(e.text for e in events if isinstance(e, TextChunk))
    return text, [e for e in events if isinstance(e, ParsedCall)]
