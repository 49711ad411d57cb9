"""The tool-calling convention taught to models without native tools, and its rendering.

A call is one JSON object between tags, alone or several in a row::

    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>

Results come back in the next user turn as::

    <tool_result name="get_weather" call_id="call_1">
    18°C, cloudy
    </tool_result>

The gateway, not the model, gives calls their ids.
"""

from __future__ import annotations

import orjson

from ..core.request import ToolChoice, ToolDef
from .repair import loads_lenient

OPEN = "<tool_call>"
CLOSE = "</tool_call>"
RESULT_CLOSE = "</tool_result>"


def tool_prompt(tools: list[ToolDef], choice: ToolChoice | None = None) -> str:
    """The instructions and tool list added to the system prompt."""
    listing = "\n".join(
        orjson.dumps(
            {
                "name": t.name,
                "description": t.description or "",
                "parameters": t.parameters or {"type": "object"},
            }
        ).decode()
        for t in tools
    )
    lines = [
        "# Tools",
        "",
        "You can call the tools listed below. To call a tool, write a tool call block in exactly this form:",
        "",
        OPEN,
        '{"name": "TOOL_NAME", "arguments": {"ARGUMENT": "VALUE"}}',
        CLOSE,
        "",
        "Rules for tool calls:",
        '- The block holds exactly one JSON object with the keys "name" (a tool name from the list below) and '
        '"arguments" (a JSON object that follows that tool\'s "parameters" schema).',
        "- Write valid JSON: double-quoted keys and strings, escaped quotes and newlines inside strings, "
        "no comments, no trailing commas.",
        "- To call several tools at once, write several blocks one after another.",
        "- After your tool call blocks, stop and wait: the results arrive in the next message inside "
        '<tool_result name="..." call_id="..."> blocks. Never write <tool_result> blocks yourself.',
        "- Write tool call blocks only to run a tool: never inside code fences or as an example.",
        "- Only call tools from the list. When no tool is needed, answer normally without any block.",
    ]
    if choice is not None:
        if choice.mode == "required":
            lines.append("- In this reply you must call at least one tool.")
        elif choice.mode == "tool" and choice.name:
            lines.append(f"- In this reply you must call the tool {choice.name!r}.")
        if choice.parallel is False:
            lines.append("- Call at most one tool per reply.")
    lines += ["", "Available tools (one JSON object per line):", "<tools>", listing, "</tools>"]
    return "\n".join(lines)


def render_call(name: str, arguments: str) -> str:
    """A previous call of the model, in the convention (arguments kept as the model's JSON when valid)."""
    args = loads_lenient(arguments) if arguments.strip() else {}
    if not isinstance(args, dict):
        args = {"_raw": arguments}
    return f"{OPEN}\n" + orjson.dumps({"name": name, "arguments": args}).decode() + f"\n{CLOSE}"


def render_result(name: str | None, call_id: str, content: str, is_error: bool = False) -> str:
    attrs = f' name="{_attr(name)}"' if name else ""
    attrs += f' call_id="{_attr(call_id)}"'
    if is_error:
        attrs += ' error="true"'
    return f"<tool_result{attrs}>\n{content}\n{RESULT_CLOSE}"


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
