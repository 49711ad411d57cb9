"""Lenient JSON for model-written tool calls.

``loads_lenient`` first tries strict JSON; if that fails it repairs the damage models commonly do --
a code fence around the object, raw control characters (newlines) inside strings, unescaped inner
quotes, trailing commas, Python literals (``True``/``False``/``None``), missing closing brackets at the
end -- and parses again. A repair is only accepted when the result parses; otherwise ``None``.
"""

from __future__ import annotations

import ast
from typing import Any

import orjson

_MAX_LENIENT = 200_000
"""Inputs longer than this are parsed strictly only."""

_CLOSERS = {"{": "}", "[": "]"}
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}
_CTRL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


class _Fail(Exception):
    pass


def loads_lenient(text: str) -> Any | None:
    """The JSON value in ``text`` (strict, else repaired), or ``None`` when no unambiguous repair exists.

    A JSON ``null`` also yields ``None``; callers look for objects."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    if len(text) > _MAX_LENIENT:
        return None
    body = strip_fence(text.strip())
    if body != text:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    try:
        fixed = repair(body)
    except _Fail:
        fixed = None
    if fixed is not None:
        try:
            return orjson.loads(fixed)
        except orjson.JSONDecodeError:
            pass
    # last resort: a Python literal (single-quoted strings); literal_eval evaluates no code
    if body[:1] in ("{", "["):
        try:
            value = ast.literal_eval(body)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
        try:
            # only values that are plain JSON data
            return orjson.loads(orjson.dumps(value))
        except (TypeError, orjson.JSONEncodeError):
            return None
    return None


def strip_fence(text: str) -> str:
    """``text`` without a surrounding Markdown code fence (```json ... ```)."""
    if not text.startswith(("```", "~~~")):
        return text
    nl = text.find("\n")
    if nl == -1:
        return text
    marker = text[:3]
    inner = text[nl + 1 :].rstrip()
    if inner.endswith(marker):
        inner = inner[: -len(marker)]
    return inner.strip()


def _next_significant(s: str, i: int) -> tuple[str, int]:
    n = len(s)
    while i < n and s[i] in " \t\r\n":
        i += 1
    return (s[i], i) if i < n else ("", n)


_VALUE_WORDS = ("true", "false", "null")


def _closes_string(s: str, i: int, in_key: bool) -> bool:
    """Whether the quote at ``s[i]`` ends the current string (else it is an unescaped inner quote).

    A value's closing quote is followed (after whitespace) by ``,`` ``}`` ``]`` or the end; after a comma
    must come the start of another value or key."""
    if in_key:  # keys are short; an inner quote there is not a plausible repair
        return True
    c, j = _next_significant(s, i + 1)
    if c == "" or c in "}]":
        return True
    if c == ",":
        d, k = _next_significant(s, j + 1)
        if d == "" or d in '"{[-}]' or d.isdigit():
            return True
        return any(s.startswith(w, k) for w in _VALUE_WORDS)
    return False


def repair(text: str) -> str:
    """One string-aware pass fixing the damage listed in the module docstring. Raises ``_Fail`` when
    the structure is not recoverable (e.g. mismatched brackets)."""
    out: list[str] = []
    stack: list[str] = []
    # whether the next string in the current object is a key
    expect_key: list[bool] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            in_key = bool(stack) and stack[-1] == "{" and expect_key[-1]
            i = _repair_string(text, i + 1, in_key, out)
            continue
        if c.isalpha():
            i = _repair_word(text, i, out)
            continue
        if c in "{[":
            stack.append(c)
            expect_key.append(c == "{")
        elif c in "}]":
            _close(c, out, stack, expect_key)
        elif c == ":":
            if expect_key:
                expect_key[-1] = False
        elif c == "," and stack and stack[-1] == "{":
            expect_key[-1] = True
        out.append(c)
        i += 1
    _close_open(out, stack)
    return "".join(out)


def _repair_string(text: str, i: int, in_key: bool, out: list[str]) -> int:
    """Copy the string that starts after the quote at ``i - 1``, escaping what JSON requires; the index
    after its closing quote."""
    n = len(text)
    out.append('"')
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 < n:
                out.append(text[i : i + 2])
                i += 2
            else:
                out.append("\\\\")
                i += 1
            continue
        if ch == '"':
            if _closes_string(text, i, in_key):
                out.append('"')
                return i + 1
            out.append('\\"')
            i += 1
            continue
        esc = _CTRL_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
        i += 1
    raise _Fail("unterminated string")


def _repair_word(text: str, i: int, out: list[str]) -> int:
    """A bare word (``True``, ``None``, ...) as its JSON literal; the index after it."""
    n = len(text)
    j = i
    while j < n and (text[j].isalnum() or text[j] == "_"):
        j += 1
    word = text[i:j]
    out.append(_PY_LITERALS.get(word, word))
    return j


def _last_significant(out: list[str]) -> int:
    k = len(out) - 1
    while k >= 0 and out[k] in (" ", "\t", "\r", "\n"):
        k -= 1
    return k


def _close(c: str, out: list[str], stack: list[str], expect_key: list[bool]) -> None:
    """Before the closer ``c`` is written: check it matches, drop a trailing comma, pop the level."""
    if not stack or _CLOSERS[stack[-1]] != c:
        raise _Fail("mismatched bracket")
    k = _last_significant(out)
    if k >= 0 and out[k] == ",":
        del out[k]
    stack.pop()
    expect_key.pop()


def _close_open(out: list[str], stack: list[str]) -> None:
    """A missing end: close what is open (never inside a string: that raised before)."""
    while stack:
        k = _last_significant(out)
        if k >= 0 and out[k] == ",":
            del out[k]
            k = _last_significant(out)
        if k >= 0 and out[k] == ":":
            raise _Fail("value missing at the end")
        out.append(_CLOSERS[stack.pop()])
