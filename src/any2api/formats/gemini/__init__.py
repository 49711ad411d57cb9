"""The Gemini API as a client dialect (``generateContent`` / ``streamGenerateContent``)."""

from .dialect import GEMINI, GeminiDialect

DIALECT = GEMINI

__all__ = ["DIALECT", "GEMINI", "GeminiDialect"]
