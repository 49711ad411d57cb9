"""OpenAI Chat Completions, the client dialect: ``parse`` (request -> hub), ``render`` (response, model
list), ``stream`` (hub events -> SSE), ``sniff`` (usage in passed-through bytes), ``dialect`` (routes and
glue), ``proxy`` (the ``/chat`` variant with the AI Proxy Worker's error shape)."""

from .dialect import OPENAI_CHAT, OpenAIChat
from .parse import parse_request, validate_basics
from .proxy import PROXY_CHAT, ProxyChat
from .render import message_json, render_model, render_model_list, render_response
from .sniff import OpenAIUsageSniffer
from .stream import OpenAIStreamRenderer

__all__ = [
    "OPENAI_CHAT",
    "PROXY_CHAT",
    "OpenAIChat",
    "OpenAIStreamRenderer",
    "OpenAIUsageSniffer",
    "ProxyChat",
    "message_json",
    "parse_request",
    "render_model",
    "render_model_list",
    "render_response",
    "validate_basics",
]
