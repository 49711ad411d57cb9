"""Validation against the Responses schemas of OpenAI's OpenAPI document (vendored in
``openai-responses.json``; see PROVENANCE.md)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_FILE = Path(__file__).with_name("openai-responses.json")
BASE = "https://any2api.invalid/openai-responses.json"


@functools.cache
def _doc() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(BASE, Resource.from_contents(_doc(), default_specification=DRAFT202012))


@functools.cache
def validator(name: str) -> Draft202012Validator:
    schema = {"$ref": f"{BASE}#/components/schemas/{name}"}
    return Draft202012Validator(schema, registry=_registry())


@functools.cache
def _event_schemas() -> dict[str, str]:
    """Event ``type`` -> the name of its schema (from the ``ResponseStreamEvent`` union)."""
    schemas = _doc()["components"]["schemas"]
    out: dict[str, str] = {}
    for alt in schemas["ResponseStreamEvent"][
        "anyOf" if "anyOf" in schemas["ResponseStreamEvent"] else "oneOf"
    ]:
        name = alt["$ref"].rsplit("/", 1)[-1]
        for t in schemas[name]["properties"]["type"].get("enum", ()):
            out[t] = name
    return out


def errors(name: str, obj: Any) -> list[str]:
    """Every schema violation of ``obj`` against component ``name`` (best match first)."""
    v = validator(name)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in v.iter_errors(obj)]


def check(name: str, obj: Any) -> None:
    found = errors(name, obj)
    assert not found, f"{name} does not validate:\n" + "\n".join(found[:10])


def check_event(obj: dict[str, Any]) -> None:
    """A stream event, against the schema of its own type."""
    name = _event_schemas().get(obj.get("type", ""))
    assert name is not None, f"unknown stream event type {obj.get('type')!r}"
    check(name, obj)


def check_stream(events: list[dict[str, Any]]) -> None:
    for e in events:
        check_event(e)
