"""Validation of Gemini answers against Google's published schema (vendored in tests/schemas/gemini.json,
see PROVENANCE.md there)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "gemini.json"
_SDK_ONLY = ("sdkHttpResponse", "automaticFunctionCallingHistory", "parsed")
"""Fields google-genai adds to its parsed objects (not on the wire)."""


@cache
def _validator(name: str) -> Draft202012Validator:
    doc = json.loads(SCHEMA.read_text())
    return Draft202012Validator({**doc, "$ref": f"#/$defs/{name}"})


def _wire(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in _SDK_ONLY}


def validate(obj: Any, name: str) -> None:
    errors = sorted(_validator(name).iter_errors(obj), key=lambda e: list(e.path))
    if errors:
        lines = [f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors[:10]]
        raise AssertionError(f"not a valid {name}:\n" + "\n".join(lines) + f"\n{json.dumps(obj)[:1500]}")


def validate_response(obj: dict[str, Any]) -> None:
    validate(_wire(obj), "GenerateContentResponse")


def validate_stream_chunk(obj: dict[str, Any]) -> None:
    if "error" in obj:
        validate(obj, "ErrorResponse")
    else:
        validate(_wire(obj), "GenerateContentResponse")


def validate_error(obj: Any) -> None:
    validate(obj, "ErrorResponse")
