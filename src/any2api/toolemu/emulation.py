"""Rewrite a hub request for an upstream without native tools: the tool list and convention go into the
system prompt, earlier calls and results become text in the same convention."""

from __future__ import annotations

from collections.abc import Callable

from ..core.errors import GatewayError
from ..core.parts import Part, TextPart, ToolCallPart, ToolResultPart
from ..core.request import ChatRequest, Message
from .convention import render_call, render_result, tool_prompt
from .toolbox import ToolBox

ContentText = Callable[[list[Part], str], str]
"""Turns the parts of a tool result into text; the string is the parameter path for errors."""


def wants_tools(req: ChatRequest) -> bool:
    """Whether the model should be offered tools in this request."""
    return bool(req.tools) and not (req.tool_choice is not None and req.tool_choice.mode == "none")


def toolbox_for(req: ChatRequest) -> ToolBox | None:
    return ToolBox(req.tools or []) if wants_tools(req) else None


def emulate_tools(req: ChatRequest, content_text: ContentText) -> list[Message]:
    """The messages of ``req`` with tools rendered as text (the request itself is not changed).

    Tool results (role ``tool``, or ``tool_result`` parts in a user turn) become user messages;
    consecutive results form one message, in the order the calls were made."""
    names: dict[str, str] = {}
    out: list[Message] = []
    last_results: int | None = None
    for mi, msg in enumerate(req.messages):
        parts: list[Part] = []
        has_result = False
        for pi, part in enumerate(msg.parts):
            if isinstance(part, ToolCallPart):
                names[part.id] = part.name
                parts.append(TextPart(render_call(part.name, part.arguments)))
            elif isinstance(part, ToolResultPart):
                has_result = True
                param = f"messages[{mi}].content[{pi}]"
                if isinstance(part.content, str):
                    content = part.content
                else:
                    content = content_text(part.content, f"{param}.content")
                name = part.name or names.get(part.tool_call_id)
                parts.append(TextPart(render_result(name, part.tool_call_id, content, part.is_error)))
            else:
                parts.append(part)
        role = msg.role
        if role == "tool":
            role = "user"
        elif has_result and role not in ("user",):
            raise GatewayError(
                "invalid_request", f"A tool result cannot be part of a {role} message",
                param=f"messages[{mi}]",
            )  # fmt: skip
        if has_result and last_results is not None and last_results == len(out) - 1:
            out[-1].parts.extend(parts)
            continue
        out.append(Message(role, parts, msg.name, msg.provider_details))
        last_results = len(out) - 1 if has_result else None
    if wants_tools(req):
        prompt = tool_prompt(req.tools or [], req.tool_choice)
        for m in out:
            if m.role in ("system", "developer"):
                m.parts = [*m.parts, TextPart("\n\n" + prompt)]
                break
        else:
            out.insert(0, Message("system", [TextPart(prompt)]))
    return out
