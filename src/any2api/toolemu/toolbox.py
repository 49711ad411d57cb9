"""The tools a request declares, and the check that turns a parsed JSON object into a valid call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ..core.request import ToolDef
from .coerce import coerce
from .repair import loads_lenient

_NAME_KEYS = ("name", "tool", "tool_name")
_ARG_KEYS = ("arguments", "parameters", "args", "input")
CALL_KEYS = frozenset((*_NAME_KEYS, *_ARG_KEYS, "function", "type", "id"))
"""Keys a call object may have; an object whose first key is none of these is not a call."""


@dataclass(slots=True)
class Verdict:
    """``name``/``arguments`` (canonical JSON) when the object is a valid call, else ``reason``."""

    name: str | None = None
    arguments: str | None = None
    reason: str | None = None


def _name_of(src: dict[str, Any]) -> str | None:
    """The tool name under the first name key that holds a string (stripped)."""
    for k in _NAME_KEYS:
        v = src.get(k)
        if isinstance(v, str):
            return v.strip()
    return None


def _arguments_of(src: dict[str, Any]) -> Any:
    """The value under the first arguments key present; ``{}`` when there is none or it is null."""
    for k in _ARG_KEYS:
        if k in src:
            return {} if src[k] is None else src[k]
    return {}


class ToolBox:
    def __init__(self, tools: list[ToolDef]) -> None:
        self.schemas: dict[str, dict[str, Any]] = {t.name: t.parameters or {} for t in tools}

    def __bool__(self) -> bool:
        return bool(self.schemas)

    def check(self, obj: Any) -> Verdict:
        if not isinstance(obj, dict):
            return Verdict(reason="not a JSON object")
        fn = obj.get("function")
        src: dict[str, Any] = fn if isinstance(fn, dict) and "name" in fn else obj
        name = _name_of(src)
        if not name:
            return Verdict(reason="no tool name")
        args = _arguments_of(src)
        unknown = [k for k in obj if k not in CALL_KEYS]
        if unknown:
            return Verdict(reason=f"unexpected keys {unknown}")
        if name not in self.schemas:
            return Verdict(reason=f"undeclared tool {name!r}")
        if isinstance(args, str):
            args = loads_lenient(args) if args.strip() else {}
        if not isinstance(args, dict):
            return Verdict(reason="arguments are not a JSON object")
        schema = self.schemas[name]
        if schema:
            args = coerce(args, schema)
        return Verdict(name=name, arguments=orjson.dumps(args).decode())

    def check_text(self, text: str) -> Verdict:
        obj = loads_lenient(text.strip())
        if obj is None:
            return Verdict(reason="not valid JSON")
        return self.check(obj)
