"""JSON helpers (orjson)."""

from __future__ import annotations

from typing import Any

import orjson

from .core.errors import GatewayError

dumps = orjson.dumps

MAX_DEPTH = 254
"""The deepest nesting orjson can write back (it refuses 255): a body nested deeper is refused at parse time,
so nothing downstream (a re-encoded pass-through body, a rendered error) can fail on it with a 500."""


def loads_body(body: bytes) -> Any:
    """Decode a request body; malformed JSON is a 400 that says where it broke."""
    if not body or body.isspace():
        raise GatewayError(
            "invalid_request", "Request body is empty; expected a JSON object.", code="invalid_json"
        )
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise GatewayError(
            "invalid_request",
            f"Request body is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno}).",
            code="invalid_json",
        ) from None
    # Depth needs more than MAX_DEPTH openers; two C-speed counts rule that out for almost every body, and
    # only a body with that many is re-encoded (orjson's own depth check, also C speed) to find out.
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH:
        try:
            orjson.dumps(obj)
        except TypeError:
            raise GatewayError(
                "invalid_request",
                f"Request body is nested too deeply (more than {MAX_DEPTH} levels of arrays and objects).",
                code="invalid_json",
            ) from None
    return obj
