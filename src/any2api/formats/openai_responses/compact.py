"""``POST /v1/responses/compact`` for upstreams without it: a summarising call to the routed model, answered in
the documented compacted shape (the user messages kept, then one ``compaction`` item).

The summary travels in the ``compaction`` item's ``encrypted_content``, sealed by this gateway (scope
``COMPACTION_SCOPE``, not bound to a provider: any model can read a summary). When the item comes back in a
later request it is opened into a user message holding the summary (``parse.py``); one that does not open is
dropped. A Responses upstream compacts by itself (the request passes through)."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Any

from ...core.parts import TextPart
from ...core.request import ChatRequest, Message, ToolChoice
from ...core.response import ChatResponse, Usage
from ...core.seal import default_sealer
from ...wire.openai_responses import NAME, new_id, usage_to_wire
from .state import RECORD

COMPACTION_SCOPE = "any2api/compaction"
SUMMARY_PREFIX = "Summary of the earlier conversation (compacted):\n\n"
INSTRUCTION = (
    "Summarize the conversation so far for your own later use: the task, decisions made, the state of the "
    "work (files, commands, results), open questions and next steps. Be complete but concise; write the summary "
    "only."
)


def summary_request(req: ChatRequest) -> ChatRequest:
    """The request whose answer is the summary: the conversation, then the instruction; no tool may be called
    (tools stay defined: some upstreams want them when the history has calls)."""
    extra = {k: v for k, v in req.extra_for(NAME).items() if k not in ("_hosted", RECORD)}
    return replace(
        req,
        messages=[*req.messages, Message("user", [TextPart(INSTRUCTION)])],
        stream=False,
        tool_choice=ToolChoice("none") if req.tools else None,
        response_format=None,
        vendor_extra={**req.vendor_extra, NAME: extra},
    )


def compaction_item(summary: str) -> dict[str, Any]:
    return {"type": "compaction", "id": new_id("cmp"),
            "encrypted_content": default_sealer().seal(COMPACTION_SCOPE, {"summary": summary})}  # fmt: skip


def open_compaction(token: str) -> str | None:
    payload = default_sealer().unseal(COMPACTION_SCOPE, token)
    s = payload.get("summary") if isinstance(payload, dict) else None
    return s if isinstance(s, str) else None


def compacted(body: dict[str, Any], resp: ChatResponse) -> dict[str, Any]:
    """The ``response.compaction`` object: the request's user messages, then the summary."""
    inp = body.get("input")
    kept: list[dict[str, Any]] = []
    if isinstance(inp, str):
        kept.append({"type": "message", "id": new_id("msg"), "status": "completed", "role": "user",
                     "content": [{"type": "input_text", "text": inp}]})  # fmt: skip
    elif isinstance(inp, list):
        for it in inp:
            if isinstance(it, dict) and it.get("role") == "user" and it.get("type", "message") == "message":
                content = it.get("content")
                if isinstance(content, str):
                    content = [{"type": "input_text", "text": content}]
                kept.append({"type": "message", "id": it.get("id") or new_id("msg"), "status": "completed",
                             "role": "user", "content": content})  # fmt: skip
    return {"id": "resp_" + os.urandom(24).hex(), "object": "response.compaction",
            "output": [*kept, compaction_item(resp.text())], "created_at": int(time.time()),
            "usage": usage_to_wire(resp.usage or Usage())}  # fmt: skip
