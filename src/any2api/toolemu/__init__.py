"""Tool calling for upstreams without native tools: a text convention in the prompt and a streaming
parser that turns the model's calls back into tool-call parts."""

from .convention import tool_prompt
from .emulation import emulate_tools, toolbox_for, wants_tools
from .parser import ParsedCall, ParserEvent, TextChunk, ToolCallParser
from .toolbox import ToolBox

__all__ = [
    "ParsedCall",
    "ParserEvent",
    "TextChunk",
    "ToolBox",
    "ToolCallParser",
    "emulate_tools",
    "tool_prompt",
    "toolbox_for",
    "wants_tools",
]
