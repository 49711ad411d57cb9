"""Shared by the Responses end-to-end tests: the gateway config (every upstream kind on the simulator), raw
requests whose every event is checked against OpenAI's schemas, and results folded into one shape."""

from __future__ import annotations

import json
from typing import Any

import openai

from tests.rawhttp import request
from tests.schemas.responses_schema import check, check_event

KEY = "sk-test-client"
AUTH = {"Authorization": f"Bearer {KEY}"}

CONFIG = """
server: {{host: 127.0.0.1, port: 0, heartbeat_seconds: 0.3, timeouts: {{connect: 2, first_byte: 2, idle: 2}}}}
auth:
  keys: [{key}]
providers:
  - name: oai
    type: openai
    base_url: {sim}/v1
    api_keys: [sk-oai]
    models: [sim-gpt]
  - name: ds
    type: deepseek
    base_url: {sim}
    api_keys: [sk-ds]
  - name: ant
    type: anthropic
    base_url: {sim}
    api_keys: [sk-ant]
    models: [sim-claude]
  - name: resp
    type: openai
    api: responses
    base_url: {sim}/v1
    api_keys: [sk-resp]
    models: [sim-gpt]
  - name: respx
    type: openai_responses
    base_url: {sim}/v1
    api_keys: [sk-resp]
    models: [sim-gpt]
    passthrough: false
  - name: oaidrop
    type: openai
    base_url: {sim}/v1
    api_keys: [sk-oai]
    models: [sim-gpt]
    hosted_tools: drop
models:
  chain: [oai/sim-gpt]
"""

MODELS = {
    "oai": "oai/sim-gpt",
    "ds": "ds/deepseek-reasoner",
    "ant": "ant/sim-claude",
    "resp": "resp/sim-gpt",
    "respx": "respx/sim-gpt",
}
CHAT_UPSTREAMS = ("oai", "ds", "ant")
UPSTREAMS = (*CHAT_UPSTREAMS, "resp", "respx")


def client(gw: Any, **kw: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=KEY, max_retries=0, **kw)


def async_client(gw: Any, **kw: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gw.url + "/v1", api_key=KEY, max_retries=0, **kw)


def sse_events(body: bytes) -> list[dict[str, Any]]:
    """The events of a Responses SSE body; each event's ``event:`` name must equal its ``type``."""
    out: list[dict[str, Any]] = []
    for block in body.decode().split("\n\n"):
        name, data = None, []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if not data:
            continue
        obj = json.loads("\n".join(data))
        assert name == obj["type"], (name, obj["type"])
        out.append(obj)
    return out


def check_sequence(events: list[dict[str, Any]]) -> None:
    """Schema-valid events with sequence numbers 0, 1, 2, ...; one terminal event, the last."""
    for e in events:
        check_event(e)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    terminal = [
        e for e in events if e["type"] in ("response.completed", "response.incomplete", "response.failed")
    ]
    assert len(terminal) == 1, [e["type"] for e in events]
    assert events[-1] is terminal[0], [e["type"] for e in events]
    assert events[0]["type"] == "response.created"
    assert events[1]["type"] == "response.in_progress"
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert terminal[0]["response"]["output"] == done


def post(
    gw: Any, body: dict[str, Any], path: str = "/v1/responses", sequence: bool = True
) -> tuple[int, Any]:
    """A raw request; streamed answers are returned as their checked events, JSON answers checked too.
    ``sequence=False``: check each event only (a passed-through stream the gateway had to end itself)."""
    r = request("POST", gw.url + path, body, AUTH)
    if r.status == 200 and body.get("stream"):
        events = sse_events(r.body)
        if sequence:
            check_sequence(events)
        else:
            for e in events:
                check_event(e)
        return r.status, events
    obj = r.json()
    check("Response" if r.status == 200 else "ErrorResponse", obj)
    return r.status, obj


def summarize(resp: dict[str, Any]) -> dict[str, Any]:
    """A Response object reduced to what must not depend on the path taken (ids and timestamps aside)."""
    items = []
    for it in resp["output"]:
        t = it["type"]
        if t == "message":
            items.append(("message", "".join(c.get("text") or c.get("refusal") or "" for c in it["content"])))
        elif t == "reasoning":
            items.append(("reasoning", "".join(s["text"] for s in it["summary"])))
        elif t == "function_call":
            items.append(("function_call", it["call_id"], it["name"], it["arguments"]))
        elif t == "custom_tool_call":
            items.append(("custom_tool_call", it["call_id"], it["name"], it["input"]))
        else:
            items.append((t,))
    u = resp.get("usage") or {}
    return {"status": resp["status"], "items": items, "incomplete": resp.get("incomplete_details"),
            "usage": (u.get("input_tokens"), u.get("output_tokens"))}  # fmt: skip
