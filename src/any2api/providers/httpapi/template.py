"""A small, sandboxed template language for request bodies, headers and URLs.

Templates are ordinary YAML values; strings may hold ``{{ expression }}``:

- a string that is exactly one expression keeps the value's type (``messages: "{{ messages }}"`` is a
  list); when the value is unset (null) the key -- or list item -- is left out of the request;
- an expression inside other text is interpolated (strings as they are, other values as JSON); an unset
  value leaves the whole string out, unless a ``default`` gives it one;
- a mapping whose keys were all left out is left out too (write ``{}`` literally to keep an empty one).

Expressions are a variable path with filters: ``account.api_key``, ``metadata.user_id``,
``messages[0].content``, ``temperature | default(0.7)``, ``stop | join(",")``. Literals: strings in
single or double quotes, numbers, ``true``/``false``/``null``. There are no calls, attribute access on
Python objects, loops or code: a template can only read the variables the gateway gives it.

Everything is compiled once, at config load, into closures; rendering does no parsing.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import quote

import orjson


class TemplateError(ValueError):
    """A template that cannot be compiled. ``where`` is the path below the template's root."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where


class _Omit:
    __slots__ = ()

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Any = _Omit()
"""What a template renders to when its value is unset (the caller leaves the field out)."""

Context = dict[str, Any]
Render = Callable[[Context], Any]
Expr = Callable[[Context], Any]

_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
      | (?P<op>[.\[\]|(),])
    )""",
    re.X,
)


# -- filters -----------------------------------------------------------------------------------------------


def _f_default(v: Any, fallback: Any = None) -> Any:
    return fallback if v is None else v


def _f_json(v: Any) -> Any:
    return None if v is None else orjson.dumps(v).decode()


def _to_str(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return orjson.dumps(v).decode()
    return str(v)


def _f_str(v: Any) -> Any:
    return None if v is None else _to_str(v)


def _f_int(v: Any) -> Any:
    if v is None:
        return None
    try:
        return int(float(v)) if isinstance(v, str) and "." in v else int(v)
    except (TypeError, ValueError):
        return None


def _f_float(v: Any) -> Any:
    if v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _f_bool(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes", "on")
    return bool(v)


def _f_join(v: Any, sep: Any = "") -> Any:
    if v is None:
        return None
    if isinstance(v, list):
        return str(sep).join(_to_str(x) for x in v)
    return _to_str(v)


def _f_first(v: Any) -> Any:
    return v[0] if isinstance(v, (list, str)) and v else None


def _f_last(v: Any) -> Any:
    return v[-1] if isinstance(v, (list, str)) and v else None


def _f_b64(v: Any) -> Any:
    return None if v is None else base64.b64encode(_to_str(v).encode()).decode()


def _f_urlencode(v: Any) -> Any:
    return None if v is None else quote(_to_str(v), safe="")


def _f_omit_empty(v: Any) -> Any:
    return None if v in ("", [], {}) else v


def _str_filter(fn: Callable[[str], str]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else fn(_to_str(v))


_FILTERS: dict[str, tuple[Callable[..., Any], int, int]] = {
    # name: (function, min extra args, max extra args)
    "default": (_f_default, 1, 1),
    "json": (_f_json, 0, 0),
    "str": (_f_str, 0, 0),
    "string": (_f_str, 0, 0),
    "int": (_f_int, 0, 0),
    "float": (_f_float, 0, 0),
    "bool": (_f_bool, 0, 0),
    "join": (_f_join, 0, 1),
    "first": (_f_first, 0, 0),
    "last": (_f_last, 0, 0),
    "lower": (_str_filter(str.lower), 0, 0),
    "upper": (_str_filter(str.upper), 0, 0),
    "trim": (_str_filter(str.strip), 0, 0),
    "b64": (_f_b64, 0, 0),
    "urlencode": (_f_urlencode, 0, 0),
    "omit_empty": (_f_omit_empty, 0, 0),
}
FILTER_NAMES = tuple(sorted(_FILTERS))


# -- expressions -------------------------------------------------------------------------------------------


def _tokens(src: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    src = src.rstrip()
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None or m.end() == pos:
            raise TemplateError(f"cannot read the expression at {src[pos:].strip()[:20]!r}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _unquote(text: str) -> str:
    if text[0] == '"':
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise TemplateError(f"invalid string literal {text}") from None
        assert isinstance(value, str)
        return value
    out: list[str] = []
    it = iter(text[1:-1])
    for c in it:
        if c == "\\":
            nxt = next(it, "")
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
        else:
            out.append(c)
    return "".join(out)


def _literal(kind: str, text: str) -> tuple[bool, Any]:
    if kind == "str":
        return True, _unquote(text)
    if kind == "num":
        return True, float(text) if any(c in text for c in ".eE") else int(text)
    if kind == "name" and text in ("true", "false", "null"):
        return True, {"true": True, "false": False, "null": None}[text]
    return False, None


class _Parser:
    def __init__(self, src: str, names: Collection[str]) -> None:
        self.toks = _tokens(src)
        self.i = 0
        self.names = names
        self.used: set[str] = set()

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        t = self.peek()
        if t is None:
            raise TemplateError("the expression ends too early")
        self.i += 1
        return t

    def expect(self, op: str) -> None:
        t = self.take()
        if t != ("op", op):
            raise TemplateError(f"expected {op!r}, found {t[1]!r}")

    def parse(self) -> Expr:
        if not self.toks:
            raise TemplateError("empty expression {{ }}")
        expr = self.primary()
        while (t := self.peek()) is not None:
            if t != ("op", "|"):
                raise TemplateError(f"unexpected {t[1]!r} (filters follow '|')")
            self.i += 1
            expr = self.filter(expr)
        return expr

    def primary(self) -> Expr:
        kind, text = self.take()
        is_lit, value = _literal(kind, text)
        if is_lit:
            return lambda ctx: value
        if kind != "name":
            raise TemplateError(f"expected a variable or a literal, found {text!r}")
        if text not in self.names:
            raise TemplateError(f"unknown variable {text!r} (known: {', '.join(sorted(self.names))})")
        self.used.add(text)
        steps: list[str | int] = []
        while (t := self.peek()) is not None and t in (("op", "."), ("op", "[")):
            self.i += 1
            if t[1] == ".":
                k, key = self.take()
                if k == "num" and key.isdigit():
                    steps.append(int(key))
                elif k == "name":
                    steps.append(key)
                else:
                    raise TemplateError(f"expected a field name after '.', found {key!r}")
            else:
                k, key = self.take()
                if k == "num" and re.fullmatch(r"-?\d+", key):
                    steps.append(int(key))
                elif k == "str":
                    steps.append(_unquote(key))
                else:
                    raise TemplateError(f"expected an index or a quoted key in [], found {key!r}")
                self.expect("]")
        return _lookup(text, tuple(steps))

    def filter(self, inner: Expr) -> Expr:
        kind, name = self.take()
        if kind != "name" or name not in _FILTERS:
            raise TemplateError(f"unknown filter {name!r} (known: {', '.join(FILTER_NAMES)})")
        fn, lo, hi = _FILTERS[name]
        args: list[Any] = []
        if self.peek() == ("op", "("):
            self.i += 1
            while self.peek() != ("op", ")"):
                if args:
                    self.expect(",")
                k, t = self.take()
                is_lit, value = _literal(k, t)
                if not is_lit:
                    raise TemplateError(f"filter arguments must be literals, found {t!r}")
                args.append(value)
            self.i += 1
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise TemplateError(f"filter {name!r} takes {want} argument(s), got {len(args)}")
        if not args:
            return lambda ctx: fn(inner(ctx))
        if len(args) == 1:
            a0 = args[0]
            return lambda ctx: fn(inner(ctx), a0)
        return lambda ctx: fn(inner(ctx), *args)


def _lookup(root: str, steps: tuple[str | int, ...]) -> Expr:
    if not steps:
        return lambda ctx: ctx.get(root)

    def get(ctx: Context) -> Any:
        v = ctx.get(root)
        for s in steps:
            if isinstance(v, dict):
                v = v.get(s if isinstance(s, str) else str(s))
            elif isinstance(v, list) and isinstance(s, int):
                v = v[s] if -len(v) <= s < len(v) else None
            else:
                return None
            if v is None:
                return None
        return v

    return get


def compile_expr(src: str, names: Collection[str], used: set[str] | None = None) -> Expr:
    p = _Parser(src, names)
    expr = p.parse()
    if used is not None:
        used |= p.used
    return expr


# -- templates ---------------------------------------------------------------------------------------------


def compile_template(value: Any, names: Collection[str], used: set[str] | None = None) -> Render:
    """Compile a YAML value into a render function (``ctx -> value``, or ``OMIT``).

    Raises :class:`TemplateError` with ``where`` set to the failing sub-path (``.a.b[2]``)."""
    render, _ = _compile(value, names, used if used is not None else set(), "")
    return render


def _compile(value: Any, names: Collection[str], used: set[str], where: str) -> tuple[Render, bool]:
    """(render, is_constant)."""
    if isinstance(value, str):
        return _compile_str(value, names, used, where)
    if isinstance(value, dict):
        return _compile_map(value, names, used, where)
    if isinstance(value, list):
        return _compile_list(value, names, used, where)
    if value is None or isinstance(value, (bool, int, float)):
        return (lambda ctx: value), True
    raise TemplateError(f"unsupported value of type {type(value).__name__}", where)


def _compile_map(
    value: dict[Any, Any], names: Collection[str], used: set[str], where: str
) -> tuple[Render, bool]:
    items: list[tuple[str, Render]] = []
    constant = True
    for k, v in value.items():
        r, c = _compile(v, names, used, f"{where}.{k}")
        items.append((str(k), r))
        constant = constant and c
    if constant:
        const = {k: r({}) for k, r in items}
        return (lambda ctx: const), True
    nonempty = bool(items)

    def render_map(ctx: Context) -> Any:
        out: dict[str, Any] = {}
        for k, r in items:
            v = r(ctx)
            if v is not OMIT:
                out[k] = v
        return OMIT if nonempty and not out else out

    return render_map, False


def _compile_list(
    value: list[Any], names: Collection[str], used: set[str], where: str
) -> tuple[Render, bool]:
    elems: list[Render] = []
    constant = True
    for i, v in enumerate(value):
        r, c = _compile(v, names, used, f"{where}[{i}]")
        elems.append(r)
        constant = constant and c
    if constant:
        const_list = [r({}) for r in elems]
        return (lambda ctx: const_list), True

    def render_list(ctx: Context) -> Any:
        out = []
        for r in elems:
            v = r(ctx)
            if v is not OMIT:
                out.append(v)
        return out

    return render_list, False


def _split_str(s: str, names: Collection[str], used: set[str], where: str) -> list[str | Expr]:
    """A template string as literal pieces and compiled ``{{ ... }}`` expressions."""
    parts: list[str | Expr] = []
    pos = 0
    for m in _EXPR.finditer(s):
        if m.start() > pos:
            parts.append(s[pos : m.start()])
        try:
            parts.append(compile_expr(m.group(1), names, used))
        except TemplateError as e:
            raise TemplateError(f"in {m.group(0)!r}: {e.message}", where) from None
        pos = m.end()
    tail = s[pos:]
    if "{{" in tail:
        raise TemplateError(f"unclosed '{{{{' in {s!r}", where)
    if tail:
        parts.append(tail)
    return parts


def _compile_str(s: str, names: Collection[str], used: set[str], where: str) -> tuple[Render, bool]:
    if "{{" not in s:
        return (lambda ctx: s), True
    parts = _split_str(s, names, used, where)
    if len(parts) == 1 and not isinstance(parts[0], str):
        expr = parts[0]

        def whole(ctx: Context) -> Any:
            v = expr(ctx)
            return OMIT if v is None else v

        return whole, False

    def interpolate(ctx: Context) -> Any:
        out: list[str] = []
        for p in parts:
            if isinstance(p, str):
                out.append(p)
            else:
                v = p(ctx)
                if v is None:
                    return OMIT
                out.append(_to_str(v))
        return "".join(out)

    return interpolate, False
