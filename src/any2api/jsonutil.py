"""JSON helpers (orjson)."""

from __future__ import annotations

from typing import Any

import orjson

from .core.errors import GatewayError

dumps = orjson.dumps


def loads_body(body: bytes) -> Any:
    """Decode a request body; malformed JSON is a 400 that says where it broke."""
    if not body or body.isspace():
        raise GatewayError(
            "invalid_request", "Request body is empty; expected a JSON object.", code="invalid_json"
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise GatewayError(
            "invalid_request",
            f"Request body is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno}).",
            code="invalid_json",
        ) from None
