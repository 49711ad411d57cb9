"""Rebuild the vendored schema extracts from the vendors' OpenAPI documents.

    python tests/schemas/extract.py openai    path/to/openai-openapi/openapi.json
    python tests/schemas/extract.py anthropic path/to/anthropic/openapi.yaml   (JSON text, see PROVENANCE.md)

Takes the named component schemas and everything they ``$ref`` (the closure), drops ``description`` /
``examples`` / ``example`` (documentation only) and writes ``tests/schemas/<dialect>.json`` with the schemas
under ``components.schemas``, so every ``$ref`` of the original resolves unchanged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

ROOTS = {
    "openai": (
        "openai-chat.json",
        [
            "CreateChatCompletionResponse",
            "CreateChatCompletionStreamResponse",
            "ErrorResponse",
            "ListModelsResponse",
            "Model",
        ],
    ),
    "anthropic": (
        "anthropic-messages.json",
        [
            "Message",
            "MessageStreamEvent",
            "ErrorResponse",
            "CountMessageTokensResponse",
            "ModelInfo",
            "ListResponse_ModelInfo_",
        ],
    ),
}

DOC_KEYS = {"description", "examples", "example"}
SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
SCHEMA_LISTS = {"anyOf", "oneOf", "allOf", "prefixItems"}
SCHEMA_ONE = {
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
}


def strip(schema: Any) -> Any:
    """A schema without its documentation keywords (only schema positions are walked, so a property named
    ``description`` stays)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for k, v in schema.items():
        if k in DOC_KEYS:
            continue
        if k in SCHEMA_MAPS and isinstance(v, dict):
            out[k] = {name: strip(s) for name, s in v.items()}
        elif k in SCHEMA_LISTS and isinstance(v, list):
            out[k] = [strip(s) for s in v]
        elif k in SCHEMA_ONE:
            out[k] = strip(v)
        else:
            out[k] = v
    return out


def refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        r = node.get("$ref")
        if isinstance(r, str) and r.startswith("#/components/schemas/"):
            found.add(r.rsplit("/", 1)[1])
        for v in node.values():
            refs(v, found)
    elif isinstance(node, list):
        for v in node:
            refs(v, found)


def closure(schemas: dict[str, Any], roots: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out[name] = strip(schemas[name])
        found: set[str] = set()
        refs(out[name], found)
        todo.extend(sorted(found - out.keys()))
    return dict(sorted(out.items()))


def main(argv: list[str]) -> None:
    dialect, source = argv[1], Path(argv[2])
    target, roots = ROOTS[dialect]
    doc = json.loads(source.read_text())
    extract = {
        "$comment": f"Extract of {source.name} ({dialect}); see PROVENANCE.md. Rebuilt by extract.py.",
        "openapi": doc.get("openapi"),
        "components": {"schemas": closure(doc["components"]["schemas"], roots)},
    }
    (HERE / target).write_text(json.dumps(extract, indent=1, sort_keys=False) + "\n")
    print(f"{target}: {len(extract['components']['schemas'])} schemas")


if __name__ == "__main__":
    main(sys.argv)
