"""Validate answers against the vendored official schemas (``tests/schemas/*.json``, see PROVENANCE.md).

    check_openai("CreateChatCompletionResponse", body)        # raises SchemaMismatch naming every error
    check_anthropic_sse(raw_bytes)                            # each event of a Messages stream
    check_openai_sse(raw_bytes)                               # each chunk (or error) of a chat stream

OpenAI's document still marks some fields with OpenAPI 3.0's ``nullable: true`` next to 3.1 schemas; the
loader turns each into ``anyOf: [schema, {"type": "null"}]`` so JSON Schema 2020-12 means what the vendor
means. Nothing else of the vendored text is changed.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.sim.fold import sse_frames

HERE = Path(__file__).parent


class SchemaMismatch(AssertionError):
    pass


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") is True:
            return {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def _registry(file: str) -> Registry:
    doc = _nullable(json.loads((HERE / file).read_text()))
    return Registry().with_resource(f"urn:{file}", Resource(contents=doc, specification=DRAFT202012))


@cache
def _validator(file: str, name: str) -> Draft202012Validator:
    schema = {"$ref": f"urn:{file}#/components/schemas/{name}"}
    return Draft202012Validator(schema, registry=_registry(file))


def check(file: str, name: str, obj: Any) -> None:
    errors = sorted(_validator(file, name).iter_errors(obj), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in errors[:10]]
        raise SchemaMismatch(
            f"{name} does not validate:\n  " + "\n  ".join(lines) + f"\n{json.dumps(obj)[:2000]}"
        )


def check_openai(name: str, obj: Any) -> None:
    check("openai-chat.json", name, obj)


def check_anthropic(name: str, obj: Any) -> None:
    check("anthropic-messages.json", name, obj)


def check_openai_sse(body: bytes) -> int:
    """Every ``data:`` of a chat stream: chunks, or an error object; the stream ends with ``[DONE]``."""
    frames = [d for _, d in sse_frames(body)]
    assert frames, "an empty chat stream"
    assert frames[-1] == "[DONE]", "a chat stream ends with data: [DONE]"
    for data in frames[:-1]:
        obj = json.loads(data)
        check_openai("ErrorResponse" if "error" in obj else "CreateChatCompletionStreamResponse", obj)
    return len(frames) - 1


def _event_schema(name: str | None) -> str:
    """The stream event's own schema (by ``MessageStreamEvent``'s discriminator): errors name the event."""
    doc = json.loads((HERE / "anthropic-messages.json").read_text()) if not _EVENTS else None
    if doc is not None:
        mapping = doc["components"]["schemas"]["MessageStreamEvent"]["discriminator"]["mapping"]
        _EVENTS.update({k: v.rsplit("/", 1)[1] for k, v in mapping.items()})
    return _EVENTS.get(name or "", "MessageStreamEvent")


_EVENTS: dict[str, str] = {}


def check_anthropic_sse(body: bytes) -> int:
    """Every event of a Messages stream; the SSE event name equals the data's ``type``; ``error`` events
    carry the ``ErrorResponse`` shape."""
    n = 0
    for name, data in sse_frames(body):
        obj = json.loads(data)
        assert name == obj.get("type"), f"event name {name!r} != type {obj.get('type')!r}"
        check_anthropic("ErrorResponse" if name == "error" else _event_schema(name), obj)
        n += 1
    return n
