"""Rebuild ``openai-responses.json`` from OpenAI's OpenAPI document (see PROVENANCE.md).

    python tests/schemas/vendor_openai_responses.py path/to/openapi.json

Keeps the component schemas the Responses endpoints use (the transitive closure of their ``$ref``s) and drops
annotations (descriptions, examples, vendor extensions) that do not constrain anything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOTS = ("Response", "ResponseStreamEvent", "ErrorResponse", "ResponseItemList", "TokenCountsResource",
         "CompactResource", "CreateResponse")  # fmt: skip
ANNOTATIONS = {"description", "example", "examples", "title", "deprecated"}


def _strip(x: Any, in_properties: bool = False) -> Any:
    if isinstance(x, dict):
        if in_properties:  # property names, not keywords
            return {k: _strip(v) for k, v in x.items()}
        return {
            k: _strip(v, k in ("properties", "patternProperties", "$defs"))
            for k, v in x.items()
            if k not in ANNOTATIONS and not k.startswith("x-")
        }
    if isinstance(x, list):
        return [_strip(v) for v in x]
    return x


def vendor(doc: dict[str, Any]) -> dict[str, Any]:
    schemas = doc["components"]["schemas"]
    seen: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                if k == "$ref" and isinstance(v, str):
                    name = v.rsplit("/", 1)[-1]
                    if name not in seen:
                        seen.add(name)
                        walk(schemas[name])
                else:
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    for r in ROOTS:
        seen.add(r)
        walk(schemas[r])
    return {"openapi": doc["openapi"], "info": {"version": doc["info"]["version"]},
            "components": {"schemas": {k: _strip(schemas[k]) for k in sorted(seen)}}}  # fmt: skip


if __name__ == "__main__":
    doc = json.loads(Path(sys.argv[1]).read_text())
    out = Path(__file__).with_name("openai-responses.json")
    out.write_text(json.dumps(vendor(doc), indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")
