"""Upstream adapters: hub request -> wire request; wire response -> hub events.

Importing this package registers the built-in provider types (each module registers its own, see
``registry.py``): the list of types, their option validators and their construction all come from there.
"""

from . import anthropic, demo, gemini, http, openai_compat, openai_responses

__all__ = ["anthropic", "demo", "gemini", "http", "openai_compat", "openai_responses"]
