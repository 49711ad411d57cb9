"""The OpenAI Responses client dialect: ``parse`` (input items -> hub request), ``render`` (hub response ->
Response object), ``stream`` (hub events -> Responses events), ``sniff`` (usage of a passed-through answer),
``dialect`` (the :class:`~any2api.formats.base.Dialect`)."""

from .dialect import DIALECT, OpenAIResponses

__all__ = ["DIALECT", "OpenAIResponses"]
