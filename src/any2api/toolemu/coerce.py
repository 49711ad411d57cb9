"""Coerce model-written tool arguments to the types the tool's JSON schema declares.

Models emulating tool calls in plain text often write ``"5"`` for an integer, ``"true"`` for a boolean or
a JSON string where an array belongs. :func:`coerce` fixes such values where the schema makes the
intended type unambiguous and leaves everything else unchanged (the tool validates, not us).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import orjson

from .repair import loads_lenient

_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
_MAX_DEPTH = 32


def coerce(value: Any, schema: Any, root: Any = None) -> Any:
    """``value`` converted towards ``schema`` (a JSON-schema mapping); unchanged where not clear."""
    return _coerce(value, schema, schema if root is None else root, 0)


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str)]
    if "properties" in schema:
        return ["object"]
    if "items" in schema:
        return ["array"]
    return []


def _resolve(schema: dict[str, Any], root: Any, depth: int) -> dict[str, Any]:
    ref = schema.get("$ref")
    while isinstance(ref, str) and ref.startswith("#/") and depth < _MAX_DEPTH:
        node: Any = root
        for key in ref[2:].split("/"):
            key = key.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or key not in node:
                return schema
            node = node[key]
        if not isinstance(node, dict):
            return schema
        schema = node
        ref = schema.get("$ref")
        depth += 1
    return schema


def _matches(value: Any, t: str) -> bool:
    if t == "string":
        return isinstance(value, str)
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "array":
        return isinstance(value, list)
    if t == "object":
        return isinstance(value, dict)
    if t == "null":
        return value is None
    return False


def _coerce(value: Any, schema: Any, root: Any, depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return value
    schema = _resolve(schema, root, depth)
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            return _coerce_union(value, branches, root, depth)
    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        for sub in all_of:
            value = _coerce(value, sub, root, depth + 1)
    types = _types(schema)
    value = _coerce_type(value, types)
    if isinstance(value, dict) and (not types or "object" in types):
        value = _coerce_object(value, schema, root, depth)
    elif isinstance(value, list) and (not types or "array" in types):
        value = _coerce_items(value, schema.get("items"), root, depth)
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and value not in enum:
        value = _match_enum(value, enum)
    return value


def _coerce_type(value: Any, types: list[str]) -> Any:
    """``value`` converted to the first of ``types`` it can be, unless it already has one of them."""
    if not types or any(_matches(value, t) for t in types):
        return value
    for t in types:
        converted = _convert(value, t)
        if converted is not _NO:
            return converted
    return value


def _coerce_items(value: list[Any], items: Any, root: Any, depth: int) -> list[Any]:
    if isinstance(items, dict):
        return [_coerce(v, items, root, depth + 1) for v in value]
    if isinstance(items, list):  # tuple form
        return [_coerce(v, items[i], root, depth + 1) if i < len(items) else v for i, v in enumerate(value)]
    return value


def _coerce_union(value: Any, branches: list[Any], root: Any, depth: int) -> Any:
    resolved = [_resolve(b, root, depth) if isinstance(b, dict) else b for b in branches]
    # a branch the value already fits wins unchanged (then deeper coercion inside it)
    for b in resolved:
        if isinstance(b, dict) and any(_matches(value, t) for t in _types(b)):
            return _coerce(value, b, root, depth + 1)
    for b in resolved:
        if isinstance(b, dict):
            for t in _types(b):
                converted = _convert(value, t)
                if converted is not _NO:
                    return _coerce(converted, b, root, depth + 1)
    return value


def _coerce_object(value: dict[str, Any], schema: dict[str, Any], root: Any, depth: int) -> dict[str, Any]:
    props = schema.get("properties")
    extra = schema.get("additionalProperties")
    if not isinstance(props, dict) and not isinstance(extra, dict):
        return value
    out: dict[str, Any] = {}
    for k, v in value.items():
        sub = props.get(k) if isinstance(props, dict) else None
        if sub is None and isinstance(extra, dict):
            sub = extra
        out[k] = _coerce(v, sub, root, depth + 1) if sub is not None else v
    return out


class _NoConversion:
    pass


_NO: Any = _NoConversion()


def _convert(value: Any, t: str) -> Any:
    """``value`` as type ``t``, or ``_NO``."""
    convert = _CONVERTERS.get(t)
    return _NO if convert is None else convert(value)


def _to_integer(value: Any) -> Any:
    if isinstance(value, str):
        s = value.strip()
        if _INT.match(s):
            return int(s)
        if _FLOAT.match(s):
            f = float(s)
            if math.isfinite(f) and f.is_integer():
                return int(f)
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return _NO


def _to_number(value: Any) -> Any:
    if isinstance(value, str):
        s = value.strip()
        if _INT.match(s):
            return int(s)
        if _FLOAT.match(s):
            f = float(s)
            return f if math.isfinite(f) else _NO
    return _NO


def _to_boolean(value: Any) -> Any:
    if isinstance(value, str):
        s = value.strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    elif isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    return _NO


def _to_string(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return _NO


def _to_array(value: Any) -> Any:
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            parsed = loads_lenient(s)
            if isinstance(parsed, list):
                return parsed
        return [value]
    if value is None:
        return _NO
    return [value]


def _to_object(value: Any) -> Any:
    if isinstance(value, str) and value.strip().startswith("{"):
        parsed = loads_lenient(value.strip())
        if isinstance(parsed, dict):
            return parsed
    return _NO


def _to_null(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("null", "none", ""):
        return None
    return _NO


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "integer": _to_integer,
    "number": _to_number,
    "boolean": _to_boolean,
    "string": _to_string,
    "array": _to_array,
    "object": _to_object,
    "null": _to_null,
}


def _match_enum(value: Any, enum: list[Any]) -> Any:
    if isinstance(value, str):
        low = value.strip().lower()
        for e in enum:
            if isinstance(e, str) and e.lower() == low:
                return e
    for e in enum:
        number_enum = isinstance(e, (int, float)) and not isinstance(e, bool)
        if number_enum and isinstance(value, str) and _FLOAT.match(value.strip()) and float(value) == e:
            return e
        if (
            isinstance(e, str)
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
            and e == str(value)
        ):
            return e
    return value
