"""The OpenAI Responses client dialect: ``parse`` (input items -> hub request), ``render`` (hub response ->
Response object), ``stream`` (hub events -> Responses events), ``sniff`` (usage of a passed-through answer),
``state`` (stored responses), ``compact`` (``/compact`` by summarising), ``dialect`` (routes, hooks, glue).
The wire maps live in ``wire/openai_responses.py``, shared with the Responses upstream."""

from .dialect import DIALECT, OPENAI_RESPONSES, OpenAIResponses
from .parse import parse_request, peek, restore_reasoning
from .stream import ResponsesStreamRenderer

__all__ = [
    "DIALECT",
    "OPENAI_RESPONSES",
    "OpenAIResponses",
    "ResponsesStreamRenderer",
    "parse_request",
    "peek",
    "restore_reasoning",
]
